"""Recorded cells (report_<variable>.h5): the membrane potential of a few neurons with their spikes and threshold, and
their other state variables, one panel per quantity (conductances in nS, currents in pA)."""
from __future__ import annotations

import numpy as np

from plotting import Clock, colour, figure, legend_outside
from quantities import quantity, receptor_quantity

MAX_NODES = 5  # traces per panel


def _threshold_mV(run, population: str):
    for p in run.config.get("populations", []):
        if p.get("name") == population:
            params = p.get("params", {})
            return params.get("V_th_mV", params.get("V_peak_mV"))
    return None


def figure_cells(run, report):
    """V_m (mV) of up to MAX_NODES recorded neurons of one population, spikes marked, then one panel per other
    quantity (e.g. the receptor conductances g_AMPA_nS and g_GABA_A_nS together, in nS)."""
    clock = Clock.of(run)
    groups = {}
    for name in report.variables:
        groups.setdefault(receptor_quantity(name), []).append(name)
    order = sorted(groups, key=lambda g: (g != "V_m_mV", g))
    fig, axes = figure(len(order), height_in=2.4)
    nodes = report.node_ids[:MAX_NODES]
    pop = run.population(report.population)
    for ax, group in zip(axes, order):
        names = groups[group]
        q = quantity(names[0], report.variables[names[0]][0])
        styles = ["-", "--", ":", "-."]
        for v, name in enumerate(names):
            _, data = report.variables[name]
            for k, node in enumerate(nodes):
                c = colour(k if len(names) == 1 else v * len(nodes) + k)
                who = f"neuron {int(node)}" if len(names) == 1 else f"{quantity(name).label}, neuron {int(node)}"
                ax.plot(clock.x(report.time_ms), data[:, k], color=c, lw=1.6, ls=styles[v % len(styles)],
                        label=who if len(nodes) > 1 or len(names) > 1 else None)
        if group == "V_m_mV":
            threshold = _threshold_mV(run, report.population)
            if threshold is not None:
                ax.axhline(threshold, color="#999999", lw=1, ls="--", label=f"threshold {threshold:g} mV")
            if pop is not None and len(pop.spike_ids):
                for k, node in enumerate(nodes):
                    t = pop.spike_times_ms[pop.spike_ids == node]
                    if len(t):
                        top = float(np.nanmax(report.variables[names[0]][1])) + 2.0
                        ax.plot(clock.x(t), np.full(len(t), top), ls="none", marker="v", ms=7, color=colour(k),
                                label=f"spikes, neuron {int(node)}")
        ax.set_ylabel(q.axis() if group == "V_m_mV" else f"{q.label.split(' (')[0]} ({q.unit})")
        title = "Membrane potential" if group == "V_m_mV" else (
            q.label.split(" (")[0][0].upper() + q.label.split(" (")[0][1:] + "s" if "|" in group else
            q.label[0].upper() + q.label[1:])
        ax.set_title(f"{title} of {report.population}", loc="left", fontsize=12)
        ax.set_xlim(0.0, clock.x(run.simulated_ms))
        ax.grid(True, color="#eeeeee", lw=0.8)
        legend_outside(ax)
    axes[-1].set_xlabel(clock.label)
    clock.network_axis(axes[0])
    shown = ", ".join(str(int(n)) for n in nodes)
    caption = (f"The recorded state of population {report.population} (report_<variable>.h5), neurons {shown}: the "
               "membrane potential with the threshold (dashed) and each spike (triangle; the report samples the "
               "reset value at the spike's time step), then the other recorded variables, one quantity per panel.")
    return fig, f"Recorded neurons: {report.population}", caption
