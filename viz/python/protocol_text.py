"""The experiment's protocol in words, from its resolved config (the run's config.toml): the network, the time
simulated (and drug time when it is compressed), the drugs and their doses, glutamate pools, probes, recording.
"""
from __future__ import annotations

import re

SOURCE_MODELS = ("poisson_source", "spike_times")


def _n(value) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def _duration(ms: float) -> str:
    for limit, div, unit in ((2000.0, 1.0, "ms"), (600001.0, 1000.0, "s"), (3 * 3.6e6 + 1, 60000.0, "min")):
        if ms < limit:
            return f"{ms / div:g} {unit}"
    return f"{ms / 3.6e6:g} h"


def _dose(text: str, route: str, per_kg: bool = True) -> str:
    """A dose string of the config ("0.5@10+40", "35mg@0+40min", "84@3d") in words."""
    number = r"([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)"
    m = re.match(rf"^\s*{number}\s*(mg)?\s*@\s*{number}\s*(min|h|d)?\s*(?:\+\s*{number}\s*(min|h)?)?\s*$", text)
    if not m:
        return f"{route} {text}"
    amount, absolute, start, start_unit, duration, duration_unit = m.groups()
    unit = "mg" if absolute or not per_kg else "mg/kg"
    words = f"{route} {float(amount):g} {unit} at {float(start):g} {start_unit or 'min'}"
    if duration:
        words = f"{route} {float(amount):g} {unit} over {float(duration):g} {duration_unit or 'min'}, from " \
                f"{float(start):g} {start_unit or 'min'}"
    return words


def drug_text(drug: dict, clock_note: str) -> str:
    agent = drug.get("agent", "?")
    if "bath_uM" in drug:
        bath = drug["bath_uM"]
        if isinstance(bath, list):
            step = drug.get("bath_step_ms", 0.0)
            levels = ", ".join(f"{v:g}" for v in bath)
            return f"{agent} in the bath: {levels} µM, each held for {_duration(step)} (the last to the end)"
        return f"{agent} in the bath at {bath:g} µM from the start"
    pk = drug.get("pk", {})
    model = pk.get("model", "domino")
    doses = [_dose(d, "IV infusion") for d in pk.get("infusions", [])]
    doses += [_dose(d, "IV bolus") for d in pk.get("boluses", [])]
    doses += [_dose(d, "intranasal", per_kg=False) for d in pk.get("nasal", [])]
    doses += [_dose(d, "i.p.") for d in pk.get("ip", [])]
    who = f"{pk['weight_kg']:g} kg, " if "weight_kg" in pk else ""
    text = (f"{agent}: {'; '.join(doses)} ({clock_note}); pharmacokinetics: the {model} model, {who}"
            f"unbound fraction {pk.get('unbound_fraction', 0.6):g}")
    if pk.get("metabolite", True):
        text += "; its metabolite norketamine blocks NMDA receptors too"
    sessions = pk.get("sessions")
    if sessions:
        if "days" in sessions:
            text += f"; repeated on days {', '.join(_n(d) for d in sessions['days'])}"
        else:
            text += (f"; repeated for {sessions.get('weeks')} weeks on days-of-week "
                     f"{', '.join(_n(d) for d in sessions.get('days_of_week', []))}")
    return text


def protocol_items(config: dict, summary: dict) -> list:
    """(label, text) pairs describing the experiment, in reading order."""
    items = []
    sim = config.get("simulation", {})
    pops = config.get("populations", [])
    neurons = [p for p in pops if p.get("model") not in SOURCE_MODELS]
    sources = [p for p in pops if p.get("model") in SOURCE_MODELS]
    text = (f"{_n(sum(p.get('size', 0) for p in neurons))} neurons: "
            + ", ".join(f"{_n(p.get('size', 0))} {p.get('name')} ({p.get('model')})" for p in neurons))
    if sources:
        text += "; spike sources: " + ", ".join(f"{_n(p.get('size', 0))} {p.get('name')} ({p.get('model')})"
                                               for p in sources)
    projections = config.get("projections", [])
    synapses = summary.get("memory", {}).get("synapse_count")
    text += f"; {len(projections)} projections" + (f", {_n(synapses)} synapses" if synapses else "")
    items.append(("Network", text))

    scale = float(sim.get("drug_time_scale", 1.0))
    duration = float(sim.get("duration_ms", 0.0))
    protocol = config.get("protocol")
    if protocol:
        items.append(("Time", f"{protocol.get('duration_h', 0):g} h of protocol time, simulated in spiking windows "
                              f"of {_duration(protocol.get('window_ms', 0))} at probe times; the slow layer "
                              "(BDNF, mTOR, synapses) is integrated across the gaps (docs/slow_layer.md)"))
    elif scale > 1.0:
        items.append(("Time", f"{_duration(duration)} of network time at dt = {sim.get('dt_ms', 0.1):g} ms; the "
                              f"drug clock runs {scale:g}× faster, so the run covers {_duration(duration * scale)} "
                              "of drug time (the experiment's time, in which doses and the pictures' axes are "
                              "given)"))
    else:
        items.append(("Time", f"{_duration(duration)} at dt = {sim.get('dt_ms', 0.1):g} ms"))
    clock_note = "times in drug time" if scale > 1.0 else "times from the start of the run"
    for drug in config.get("drugs", []):
        items.append(("Drug", drug_text(drug, clock_note)))
    for pool in config.get("glutamate", []):
        items.append(("Glutamate", f"pool {pool.get('name')}: released by spikes of "
                                   f"{', '.join(pool.get('sources', []))} into the extracellular space of "
                                   f"{', '.join(pool.get('region', pool.get('sources', [])))}, cleared by "
                                   f"transporters toward a basal {pool.get('basal_uM', 0.05):g} µM"))
    rec = config.get("recording", {})
    probe = rec.get("isn_probe")
    if probe:
        items.append(("ISN probe", f"+{probe['current_pA']:g} pA into every {probe['population']} neuron for "
                                   f"{_duration(probe['duration_ms'])} from {_duration(probe['start_ms'])} "
                                   "(network time): a paradoxical fall of their rate would mark an "
                                   "inhibition-stabilised network"))
    recorded = ["spikes" if rec.get("spikes", True) else "no spikes",
                f"population rates in {rec.get('rate_bin_ms', 1.0):g}-ms bins"]
    for r in rec.get("reports", []):
        recorded.append(f"{', '.join(r.get('variables', []))} of {r.get('population')}")
    if rec.get("edges"):
        recorded.append("every synapse (edges.h5)")
    if rec.get("snapshot_times_ms"):
        recorded.append(f"{len(rec['snapshot_times_ms'])} weight snapshots")
    items.append(("Recorded", "; ".join(recorded)))
    items.append(("Seed", f"{sim.get('seed', 1)} (every random stream derives from it)"))
    return items
