"""The baseline and drug windows a drug experiment is about, and the chain's quantities in each.

Baseline: from the end of the warm-up to the drug's onset (the first drug-clock tick with a free concentration
above zero), without any interval of an ISN probe's current step. Drug window: as long as the baseline, ending
when the parent drug's free concentration last stands at 95 % or more of its peak (the end of an infusion, the end
of a bath application), and never before the onset. Both are in network time (ms).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quantities import quantity

WARM_UP_MS = 1000.0  # the network settles from its initial state in well under a second (rates are flat after it)


@dataclass
class Windows:
    baseline: tuple  # (start_ms, end_ms)
    drug: tuple
    excluded: list  # intervals left out of the baseline (ISN probe)


def drug_windows(run) -> Windows | None:
    drugs = [s for s in run.find("drugs", "free_uM") if len(s.values)]
    if not drugs or run.is_protocol:
        return None
    parent = drugs[0]
    dosed = np.nonzero(np.any([s.values > 0 for s in drugs], axis=0))[0]
    if len(dosed) == 0:
        return None
    onset = float(parent.time_ms[dosed[0]])
    warm_up = min(WARM_UP_MS, 0.2 * onset)
    if onset - warm_up <= 0:
        return None
    near_peak = np.nonzero(parent.values >= 0.95 * parent.values.max())[0]
    # The tick's value holds until the next tick: the window ends where that last holding interval ends.
    last = near_peak[-1]
    end = float(parent.time_ms[last + 1]) if last + 1 < len(parent.time_ms) else run.simulated_ms
    excluded = []
    probe = run.config.get("recording", {}).get("isn_probe")
    if probe:
        p0 = float(probe["start_ms"])
        p1 = p0 + float(probe["duration_ms"])
        if p0 < onset and p1 > warm_up:
            excluded.append((p0, p1))
    start = max(onset, end - (onset - warm_up))
    return Windows((warm_up, onset), (start, end), excluded)


def window_mean(time_ms, values, window: tuple, excluded=(), bin_ms: float = 0.0) -> float:
    """Mean of the samples inside the window: rate bins [t, t + bin_ms) that lie wholly inside it, or readout
    ticks (bin_ms = 0) at t in [start, end), each holding its value until the next tick."""
    t = np.asarray(time_ms, dtype=float)
    v = np.asarray(values, dtype=float)
    if bin_ms > 0:
        inside = (t >= window[0] - 1e-9) & (t + bin_ms <= window[1] + 1e-9)
    else:
        inside = (t >= window[0] - 1e-9) & (t < window[1] - 1e-9)
    for e0, e1 in excluded:
        inside &= ~((t + bin_ms > e0) & (t < e1))
    return float(v[inside].mean()) if inside.any() else float("nan")


@dataclass
class Link:
    """One measured link of the chain: what, where, and its mean in both windows."""

    link: str  # "dose", "NMDA block", "firing", "glutamate", "AMPA activation", "plasticity"
    what: str  # e.g. "free concentration at the receptors: ketamine"
    unit: str
    baseline: float
    drug: float

    @property
    def change(self) -> str:
        if not (np.isfinite(self.baseline) and np.isfinite(self.drug)):
            return "–"
        if self.unit == "fraction" or abs(self.baseline) < 1e-12:
            return f"{self.drug - self.baseline:+.3g}"
        change = 100.0 * (self.drug / self.baseline - 1.0)
        return f"{change:+.1f} %" if abs(change) < 10.0 else f"{change:+.0f} %"


def chain_links(run, w: Windows) -> list:
    """The chain in its order: dose -> block -> rates -> glutamate -> AMPA -> plasticity, where recorded."""
    links = []

    def add(link, series, what):
        q = quantity(series.name, series.units)
        unit = q.unit or ("fraction" if q.kind == "fraction" else "")
        links.append(Link(link, what, unit, window_mean(series.time_ms, series.values, w.baseline, w.excluded),
                          window_mean(series.time_ms, series.values, w.drug)))

    for s in run.find("drugs", "free_uM"):
        add("dose", s, f"free concentration at the receptors: {s.owner}")
    for s in run.find("nmda", "drug_blocked_fraction"):
        add("NMDA block", s, f"NMDA channels blocked: {s.owner}")
    for name, rate in run.rates_Hz.items():
        pop = run.population(name)
        if pop is None or pop.model in ("poisson_source", "spike_times"):
            continue
        t = run.rate_time_ms
        links.append(Link("firing", f"firing rate per neuron: {name}", "Hz",
                          window_mean(t, rate, w.baseline, w.excluded, run.rate_bin_ms),
                          window_mean(t, rate, w.drug, (), run.rate_bin_ms)))
    for s in run.find("gamma", "relative_power"):
        pop = run.population(s.owner)
        if pop is None or pop.model not in ("poisson_source", "spike_times"):
            add("gamma", s, f"gamma power / 1–100 Hz power: {s.owner}")
    for s in run.find("glutamate", "level_uM"):
        add("glutamate", s, f"extracellular glutamate: {s.owner}")
    for s in run.find("glutamate", "dialysate_release_per_ms_per_neuron"):
        add("glutamate", s, f"dialysate proxy: {s.owner}")
    for s in run.find("receptors", "open_fraction"):
        add("AMPA activation", s, f"open fraction of {s.owner.split('/')[1]} receptors: {s.owner.split('/')[0]}")
    for p in run.projections:
        # Plasticity: the projection's mean weight at the first and the last weight frame (snapshots.h5).
        if len(p.frames) >= 2 and len(p.frames[0][2]):
            unit = p.weight_units.replace("uM", "µM")
            links.append(Link("plasticity", f"mean weight of {p.name} ({p.source} → {p.target}), first and last "
                              "snapshot", unit, float(np.mean(p.frames[0][2])), float(np.mean(p.frames[-1][2]))))
    return links
