"""A [protocol] run in one picture (docs/slow_layer.md): from the dose (hours) to the synapses (days), on a
logarithmic protocol-time axis so the onset within hours and the week after both show. A protocol's spikes and
rates are in engine time (its windows concatenated), which no protocol-time axis can show: its picture is this
one instead of the story, raster and rates."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter

from plotting import colour, figure, legend_outside

T0_H = 0.05  # the logarithmic axis starts at 3 min; the baseline probe (t = 0) is drawn there


def _hours(time_ms):
    return np.maximum(T0_H, np.asarray(time_ms, float) / 3.6e6)


def figure_week(run):
    t_h = np.maximum(T0_H, run.slow["t_h"][1])
    slow = {k: v for k, (_, v) in run.slow.items()}
    n_pop = len(run.populations)
    fig, axes = figure(5, height_in=2.0)
    end_h = max(run.protocol_h, 2.0 * T0_H)

    def line(ax, x, y, label, k):
        ax.plot(x, y, color=colour(k), lw=2, label=label)

    ax = axes[0]
    for k, s in enumerate(run.find("drugs", "free_uM")):
        line(ax, _hours(s.time_ms), s.values, s.owner, n_pop + k)
    ax.set_ylabel("free conc. (µM)")
    ax.set_title("1. The dose: free drug concentration at the receptors", loc="left", fontsize=12)

    ax = axes[1]
    if "nmda_unblocked_fraction" in slow:
        line(ax, t_h, 1.0 - slow["nmda_unblocked_fraction"], f"{run.slow_attrs.get('population', '')} NMDA pool",
             0)
    ax.set_ylabel("fraction (0–1)")
    ax.set_title("2. NMDA channels blocked at rest (the rest signal's drop)", loc="left", fontsize=12)

    ax = axes[2]
    for k, (name, label) in enumerate((("BDNF", "BDNF"), ("mTOR", "mTOR"), ("protein", "synaptic protein"))):
        if name in slow:
            v = slow[name]
            base = v[0] if v[0] > 0 else 1.0
            line(ax, t_h, v / base, label, k)
    ax.set_ylabel("× baseline")
    ax.set_title("3. Signalling of the slow layer, relative to baseline", loc="left", fontsize=12)

    ax = axes[3]
    for k, (name, label) in enumerate((("total_weight_relative", "summed E→E strength"),
                                       ("spine_factor", "E→E synapse count"),
                                       ("strength_factor", "strength per synapse"),
                                       ("inhibitory_factor", "inhibitory synapses (homeostatic)"))):
        if name in slow and not (name == "inhibitory_factor" and np.all(slow[name] == 1.0)):
            line(ax, t_h, slow[name], label, 3 + k)
    ax.set_ylabel("× baseline")
    ax.set_title("4. Synapses onto the population, relative to baseline", loc="left", fontsize=12)

    ax = axes[4]
    if "rate_Hz" in slow:
        line(ax, t_h, slow["rate_Hz"], f"{run.slow_attrs.get('population', '')} (each spiking window)", 7)
    ax.set_ylabel("rate per\nneuron (Hz)")
    ax.set_title("5. Firing rate in the spiking windows", loc="left", fontsize=12)

    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlim(T0_H, end_h)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 0.1, 1, 10 h, not 10^-1
        ax.grid(True, color="#eeeeee", lw=0.8)
        legend_outside(ax)
    axes[-1].set_xlabel("time after the start (h, logarithmic; the baseline probe at the left edge)")
    caption = ("A multi-time-scale protocol (docs/slow_layer.md) on a logarithmic time axis. 1: free drug "
               "concentration of each species. 2: the fraction of the population's NMDA pool blocked at rest. 3: "
               "BDNF, mTOR and synaptic protein of the slow layer, relative to baseline. 4: the written-back E→E "
               "synapses: summed strength, synapse count, strength per synapse (and the inhibitory synapses' "
               "homeostatic factor). 5: the population's rate in each spiking window (slow.h5).")
    return fig, "From the dose to the synapses: the protocol at a glance", caption
