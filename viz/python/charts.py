"""The 2-D pictures of a run (docs/viz.md): the chain at a glance (story), spike raster, population rates, one
figure per group of timeseries.h5 (drugs, NMDA pools, receptors, glutamate, gamma, ...) and weight histograms.

Each `figure_*` function returns (figure, title, caption) without saving, so the tests can read what is drawn;
every axis carries one quantity with its unit, legends stand outside the data, and the lines of one panel have
distinct colours.
"""
from __future__ import annotations

import numpy as np

from plotting import (Clock, PALETTE, average_groups, colour, figure, legend_outside, nice_length,
                      scale_bar_vertical, shade_windows)
from quantities import quantity

MAX_RATE_POINTS = 400  # rate bins are averaged in groups down to this many points
MAX_RASTER_ROWS = 400  # raster rows (a share of each population)
MAX_LINES = 10  # lines per panel
SOURCE_MODELS = ("poisson_source", "spike_times")


def neuron_populations(run) -> list:
    return [p.name for p in run.populations if p.model not in SOURCE_MODELS]


def population_index(run, name: str) -> int:
    names = [p.name for p in run.populations]
    return names.index(name) if name in names else len(names)


def line_colours(run, series) -> list:
    """Population colours when every line belongs to another population (population k keeps colour k in every
    picture); otherwise the palette in order after the populations and drugs, so no two lines share a colour."""
    owners = [s.owner.split("/")[0] for s in series]
    if len(set(owners)) == len(owners) and all(run.population(o) for o in owners):
        return [colour(population_index(run, o)) for o in owners]
    if all(s.top == "drugs" for s in series):
        return [colour(len(run.populations) + k) for k in range(len(series))]
    # Other series take the colours after the populations' and the drugs', so no colour means two things.
    first = len(run.populations) + len(run.find("drugs", "free_uM"))
    return [colour(first + k) for k in range(len(series))]


def smoothed_rates(run, names):
    """Population rates averaged over groups of bins (at most MAX_RATE_POINTS), at the groups' centres."""
    n = len(run.rate_time_ms)
    group = max(1, -(-n // MAX_RATE_POINTS))
    t = average_groups(run.rate_time_ms, group) + 0.5 * run.rate_bin_ms * group
    return t, {name: average_groups(run.rates_Hz[name], group) for name in names}, run.rate_bin_ms * group


def _time_panel(ax, clock: Clock, run, windows=None) -> None:
    ax.set_xlim(0.0, clock.x(run.simulated_ms))
    shade_windows(ax, clock, windows)
    ax.grid(True, color="#eeeeee", lw=0.8)


def _finish_time_axes(axes, clock: Clock) -> None:
    axes[-1].set_xlabel(clock.label)
    clock.network_axis(axes[0])


def _lines(ax, run, clock: Clock, series, label_of=lambda s: s.owner) -> None:
    """Readout series hold each tick's value until the next tick: drawn as steps to the end of the run."""
    for s, c in zip(series[:MAX_LINES], line_colours(run, series[:MAX_LINES])):
        t = np.append(s.time_ms, max(run.simulated_ms, s.time_ms[-1] if len(s.time_ms) else 0.0))
        v = np.append(s.values, s.values[-1] if len(s.values) else np.nan)
        ax.plot(clock.x(t), v, color=c, lw=2, label=label_of(s), drawstyle="steps-post")


def figure_story(run, windows=None):
    """The chain, link by link, on one drug-time axis: dose, NMDA block, firing, glutamate, AMPA activation."""
    clock = Clock.of(run)
    pops = neuron_populations(run)
    panels = [("1. Dose: the drug at its receptors", run.find("drugs", "free_uM")),
              ("2. NMDA channels blocked by the drug", run.find("nmda", "drug_blocked_fraction")),
              ("3. Firing of each population", "rates")]
    if run.find("glutamate", "level_uM"):
        panels.append(("4. Extracellular glutamate", run.find("glutamate", "level_uM")))
    if run.find("receptors", "open_fraction"):
        panels.append((f"{len(panels) + 1}. AMPA activation (kinetic receptors)",
                       run.find("receptors", "open_fraction")))
    fig, axes = figure(len(panels), height_in=2.1)
    for k, (ax, (title, content)) in enumerate(zip(axes, panels)):
        _time_panel(ax, clock, run, windows if k else None)
        if k == 0:
            shade_windows(ax, clock, windows, label=True)
        ax.set_title(title, loc="left")
        if content == "rates":
            t, rates, _ = smoothed_rates(run, pops)
            for name in pops:
                ax.plot(clock.x(t), rates[name], color=colour(population_index(run, name)), lw=2, label=name)
            ax.set_ylabel("rate per\nneuron (Hz)")
        else:
            q = quantity(content[0].name, content[0].units)
            if content[0].top == "receptors":
                _lines(ax, run, clock, content, lambda s: f"{s.owner.split('/')[1]} on {s.owner.split('/')[0]}")
            else:
                _lines(ax, run, clock, content)
            ax.set_ylabel(q.short_axis().replace(" (", "\n("))
            if q.kind == "fraction" and content[0].top == "nmda":
                ax.set_ylim(0.0, 1.0)
        legend_outside(ax)
    _finish_time_axes(axes, clock)
    caption = ("The chain of the experiment in its order, on one time axis. 1: free concentration of each drug "
               "species at the NMDA receptors. 2: fraction of NMDA channels held by the drug, per population and "
               "receptor pool. 3: mean firing rate per neuron of each population.")
    if len(panels) > 3:
        caption += " Then the extracellular glutamate level and the open fraction of the kinetic AMPA receptors."
    if windows is not None:
        caption += " Grey band: the baseline window, orange band: the drug window of the table above."
    if clock.compressed:
        caption += (f" Time is drug time (the experiment's clock, drug_time_scale = {clock.scale:g}); the axis on "
                    "top gives the network time simulated.")
    return fig, "The chain at a glance", caption


def figure_raster(run):
    clock = Clock.of(run)
    total = max(1, sum(p.size for p in run.populations))
    fig, (ax,) = figure(1, height_in=4.0)
    rows = sum(min(p.size, max(1, int(np.ceil(MAX_RASTER_ROWS * p.size / total)))) for p in run.populations)
    # A mark as tall as its row (the axes are ~3 in = 216 pt high), between 2 and 12 pt.
    mark_pt = float(np.clip(216.0 / max(1, rows) * 0.8, 2.0, 12.0))
    row0, shown_total, ticks = 0, 0, []
    for k, pop in enumerate(run.populations):
        # Each population keeps a share of the rows proportional to its size (at least one row).
        shown = min(pop.size, max(1, int(np.ceil(MAX_RASTER_ROWS * pop.size / total))))
        keep = pop.spike_ids < shown
        ax.scatter(clock.x(pop.spike_times_ms[keep]), row0 + 0.5 + pop.spike_ids[keep].astype(float),
                   s=mark_pt ** 2, color=colour(k), marker="|", linewidths=1.0,
                   label=pop.name + (f" ({shown} of {pop.size} neurons)" if shown < pop.size else
                                     f" ({pop.size} neuron{'s' if pop.size > 1 else ''})"))
        ticks.append((row0 + 0.5 * shown, pop.name))
        row0 += shown
        shown_total += shown
        ax.axhline(row0, color="#bbbbbb", lw=0.6)
    ax.set_xlim(0.0, clock.x(run.simulated_ms))
    ax.set_ylim(0.0, max(1.0, row0))
    ax.set_yticks([y for y, _ in ticks], [n for _, n in ticks])
    ax.set_ylabel("neurons, by population")
    bar = max(1.0, nice_length(row0))
    scale_bar_vertical(ax, 0.0, bar, f"{bar:g} neuron{'s' if bar > 1 else ''}")
    ax.set_title("Spike raster", loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False,
              markerscale=10.0 / mark_pt)  # legend marks 10 pt tall
    _finish_time_axes([ax], clock)
    caption = ("Each mark is one spike: its time on the horizontal axis, one row per neuron, populations stacked "
               "and coloured as in the other pictures; the bar on the right measures rows.")
    if shown_total < total:
        caption += f" For legibility {shown_total} of {total} neurons are shown, a share of each population."
    return fig, "Spike raster", caption


def figure_rates(run, windows=None):
    clock = Clock.of(run)
    names = [n for n in run.rates_Hz]
    t, rates, bin_ms = smoothed_rates(run, names)
    fig, (ax,) = figure(1, height_in=3.2)
    _time_panel(ax, clock, run, windows)
    for name in names:
        ax.plot(clock.x(t), rates[name], color=colour(population_index(run, name)), lw=2, label=name)
    ax.set_ylabel("firing rate per neuron (Hz)")
    ax.set_title("Population firing rates", loc="left")
    legend_outside(ax)
    _finish_time_axes([ax], clock)
    return fig, "Population firing rates", (
        f"Mean firing rate per neuron of each population, in bins of {bin_ms:g} ms of network time "
        "(timeseries.h5 /population_rate_Hz, bins averaged in groups).")


GROUP_TITLES = {"drugs": "Drug concentrations", "nmda": "NMDA receptor pools", "receptors": "Synaptic receptors",
                "glutamate": "Extracellular glutamate", "gamma": "Gamma-band power of the population rate"}
# Quantities shown elsewhere or in other units of a shown one (ng/mL = µM × molar mass).
SKIPPED = {"drug_time_min", "plasma_ng_per_mL", "effect_site_ng_per_mL"}
# Panels in the order of the chain (a quantity not listed follows in the file's order).
ORDER = ["free_uM", "effect_site_uM", "plasma_uM", "drug_blocked_fraction", "trapped_fraction",
         "conducting_fraction", "open_fraction", "current_pA", "g_mean", "current_mean_pA", "level_uM",
         "release_per_ms_per_neuron", "dialysate_release_per_ms_per_neuron", "power_30_80_Hz2", "relative_power"]


def figure_group(run, top: str, windows=None):
    """One panel per quantity of the group (e.g. /nmda: blocked, trapped, conducting, open, current), one line
    per population/pool/species."""
    clock = Clock.of(run)
    names = []
    for s in run.find(top):
        if s.name not in names and s.name not in SKIPPED:
            names.append(s.name)
    names.sort(key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))
    fig, axes = figure(len(names), height_in=2.0)
    for ax, name in zip(axes, names):
        series = run.find(top, name)
        q = quantity(name, series[0].units)
        _time_panel(ax, clock, run, windows)
        label = (lambda s: f"{s.owner.split('/')[1]} on {s.owner.split('/')[0]}") if top in ("nmda", "receptors") \
            else (lambda s: s.owner)
        _lines(ax, run, clock, series, label)
        ax.set_title(q.label[0].upper() + q.label[1:], loc="left", fontsize=12)
        ax.set_ylabel(q.short_axis())
        if q.kind == "fraction":
            ax.set_ylim(0.0, max(1.0, max(float(np.nanmax(s.values)) for s in series)))
        legend_outside(ax)
    _finish_time_axes(axes, clock)
    title = GROUP_TITLES.get(top, f"Time series: {top}")
    caption = (f"Every time series of timeseries.h5 /{top}: one panel per quantity (its unit on the vertical "
               "axis), one line per " + {"drugs": "drug species", "nmda": "population and receptor pool",
                                         "receptors": "population and receptor", "glutamate": "pool",
                                         "gamma": "population"}.get(top, "series") + ".")
    if top == "drugs":
        caption += " Concentrations in ng/mL are the µM values times the molar mass (timeseries.h5)."
    return fig, title, caption


def figure_weights(run, projection):
    frames = projection.frames
    first, last = frames[0], frames[-1]
    two = len(frames) >= 2
    w0, w1 = np.asarray(first[2], float), np.asarray(last[2], float)
    lo, hi = float(min(w0.min(), w1.min())), float(max(w0.max(), w1.max()))
    if hi - lo < 1e-6 * max(1.0, abs(hi)):  # all equal: one bar around the value
        lo, hi = lo - 0.05 * max(1e-3, abs(lo)), hi + 0.05 * max(1e-3, abs(hi))
    bins = np.linspace(lo, hi, 41)
    unit = projection.weight_units or "nS"
    fig, (ax,) = figure(1, height_in=3.2, sharex=False)

    def when(frame):
        t = frame[1]
        return f"{t / 3.6e6:g} h" if run.is_protocol else Clock.of(run).text(t)

    ax.hist(w0, bins=bins, color="#8c8c8c", alpha=0.7 if two else 1.0,
            label=f"t = {when(first)}" + (" (first snapshot)" if two else " (end of run)"))
    if two:
        ax.hist(w1, bins=bins, color="#d62728", alpha=0.6, label=f"t = {when(last)} (last snapshot)")
    ax.set_xlabel(f"synaptic weight ({unit})")
    ax.set_ylabel("synapses (count)")
    ax.set_title(f"Weights of {projection.name} ({projection.source} → {projection.target})", loc="left")
    legend_outside(ax)
    caption = (f"Histogram of the {len(w0)} synaptic weights of projection {projection.name}"
               + (" at the first weight snapshot (grey) and the last (red)." if two else
                  " at the end of the run (one weight frame: no snapshots recorded)."))
    if run.is_protocol:
        caption += " Protocol time; weight 0 marks potential synapses switched off by the structural rule."
    return fig, f"Weight distribution: {projection.name}", caption


__all__ = ["figure_story", "figure_raster", "figure_rates", "figure_group", "figure_weights", "PALETTE",
           "neuron_populations", "population_index"]
