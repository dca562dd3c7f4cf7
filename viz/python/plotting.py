"""Shared by every 2-D picture: the time axis (drug time for compressed runs), colours, legends outside the
data, scale bars and atomic PNG writing. matplotlib's Agg backend draws without any display.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

WIDTH_IN, DPI = 10.0, 100  # 1000 px wide
PANEL_IN = 2.4  # height of one panel

# ColorBrewer Dark2 (Harrower & Brewer 2003), then Set1's distinct hues: populations take the first colours in
# population order, drugs the ones after them; a chart whose lines would share a colour takes this list in order.
PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
           "#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf", "#17becf"]
BASELINE_SHADE, DRUG_SHADE = "#d9d9d9", "#fdd0a2"

plt.rcParams.update({"font.size": 12, "axes.titlesize": 13, "axes.titleweight": "bold", "axes.labelsize": 12,
                     "legend.fontsize": 11, "axes.spines.top": False, "axes.spines.right": False,
                     "figure.dpi": DPI, "savefig.dpi": DPI})


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@dataclass
class Clock:
    """The time axis of a run's pictures. A run with [simulation] drug_time_scale > 1 compresses drug time: its
    pictures are drawn in drug time (the experiment's time, in minutes) with network time on a secondary axis."""

    scale: float  # drug time per network time
    ms_per_unit: float
    label: str

    @staticmethod
    def of(run) -> "Clock":
        scale = run.drug_time_scale
        end = run.simulated_ms * scale
        if scale > 1.0:
            return Clock(scale, 60000.0, "drug time (min)")
        for limit, ms, name in ((2000.0, 1.0, "ms"), (600000.0, 1000.0, "s"), (3 * 3.6e6, 60000.0, "min")):
            if end <= limit:
                return Clock(scale, ms, f"time ({name})")
        return Clock(scale, 3.6e6, "time (h)")

    @property
    def compressed(self) -> bool:
        return self.scale > 1.0

    def x(self, t_ms):
        """Network time (ms) -> the axis unit (drug time for compressed runs)."""
        return np.asarray(t_ms, dtype=float) * self.scale / self.ms_per_unit

    def text(self, t_ms: float) -> str:
        unit = self.label[self.label.rfind("(") + 1:-1]
        return f"{self.x(t_ms):.4g} {unit}"

    def network_axis(self, ax) -> None:
        """Network time (s) on top of a compressed run's panel."""
        if not self.compressed:
            return
        factor = self.ms_per_unit / self.scale / 1000.0  # axis unit -> network seconds
        top = ax.secondary_xaxis("top", functions=(lambda v: v * factor, lambda s: s / factor))
        top.set_xlabel(f"network time (s); drug time runs {self.scale:g}× faster", fontsize=10)
        top.tick_params(labelsize=9)


def figure(panels: int, height_in: float = PANEL_IN, sharex: bool = True):
    fig, axes = plt.subplots(panels, 1, figsize=(WIDTH_IN, 0.8 + panels * height_in), sharex=sharex,
                             layout="constrained", squeeze=False)
    return fig, list(axes[:, 0])


def legend_outside(ax, title: str | None = None) -> None:
    """The legend to the right of the axes, never over the data."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  frameon=False, title=title)


def shade_windows(ax, clock: Clock, windows, label: bool = False) -> None:
    """The baseline and drug windows of the report's side-by-side table, as shaded bands."""
    if windows is None:
        return
    for (t0, t1), shade, name in ((windows.baseline, BASELINE_SHADE, "baseline window"),
                                  (windows.drug, DRUG_SHADE, "drug window")):
        ax.axvspan(clock.x(t0), clock.x(t1), color=shade, alpha=0.6, lw=0, zorder=0,
                   label=name if label else None)


def scale_bar_vertical(ax, y0: float, size: float, text: str) -> None:
    """A vertical scale bar of `size` data units from y0, just right of the axes (outside the data)."""
    ax.plot([1.015, 1.015], [y0, y0 + size], transform=ax.get_yaxis_transform(), clip_on=False, color="black",
            lw=3, solid_capstyle="butt")
    ax.text(1.025, y0 + 0.5 * size, text, transform=ax.get_yaxis_transform(), va="center", ha="left",
            fontsize=10)


def nice_length(span: float, fraction: float = 0.2) -> float:
    """A round length (1, 2 or 5 × 10^k) near `fraction` of `span`."""
    if span <= 0:
        return 1.0
    target = span * fraction
    power = 10.0 ** np.floor(np.log10(target))
    for step in (5.0, 2.0, 1.0):
        if step * power <= target:
            return step * power
    return power


def save(fig, out_dir: str, file: str) -> str:
    """Writes the PNG under a temporary name and renames it when complete."""
    path = os.path.join(out_dir, file)
    fig.savefig(path + ".tmp", format="png", facecolor="white")
    plt.close(fig)
    os.replace(path + ".tmp", path)
    return file


def average_groups(values, group: int):
    """Means of consecutive groups of `group` values (the last group may be shorter)."""
    values = np.asarray(values, dtype=float)
    group = max(1, int(group))
    n = len(values)
    if n == 0:
        return values
    starts = np.arange(0, n, group)
    sums = np.add.reduceat(values, starts)
    counts = np.minimum(starts + group, n) - starts
    return sums / counts


__all__ = ["Clock", "figure", "legend_outside", "shade_windows", "scale_bar_vertical", "nice_length", "save",
           "average_groups", "colour", "PALETTE"]
