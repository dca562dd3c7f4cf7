"""Names and units of what a run records, for axes, legends and the report's tables.

Every dataset name of timeseries.h5, reports.h5 and slow.h5 (docs/output.md) maps to a quantity (what it is,
in words) and a unit as a reader writes it (µM, not uM). A name not listed here is split at its unit suffix
(`level_uM` -> "level", µM), so a series added later is still labelled with its unit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Quantity:
    label: str  # what it is, lower case ("free concentration at the receptors")
    unit: str  # as printed ("µM"); "" for a dimensionless fraction or ratio
    kind: str = ""  # "fraction" (0..1), "ratio" or "relative" (x baseline) for dimensionless values
    short: str = ""  # the quantity in a word or two, for a panel's vertical axis ("concentration")

    def axis(self) -> str:
        """An axis title: the quantity and its unit, e.g. "free concentration at the receptors (µM)"."""
        if self.unit:
            return f"{self.label} ({self.unit})"
        if self.kind == "fraction":
            return f"{self.label} (fraction, 0–1)"
        if self.kind == "relative":
            return f"{self.label} (× baseline)"
        return self.label

    def short_axis(self) -> str:
        """A short axis title under a panel title that names the quantity in full: "concentration (µM)"."""
        word = self.short or self.label
        if self.unit:
            return f"{word} ({self.unit})"
        return {"fraction": "fraction (0–1)", "ratio": "ratio", "relative": "× baseline"}.get(self.kind, word)


# The spellings of the files (ASCII) and how a reader expects them.
UNIT_TEXT = {"uM": "µM", "um": "µm", "ng_per_mL": "ng/mL", "ng/mL": "ng/mL", "Hz2": "Hz²", "Hz^2": "Hz²",
             "nS": "nS", "pA": "pA", "mV": "mV", "ms": "ms", "Hz": "Hz", "min": "min", "h": "h", "mM": "mM",
             "pF": "pF", "s": "s", "MB": "MB"}

KNOWN = {
    # /drugs/<species>/ (concentrations of each drug species)
    "free_uM": Quantity("free concentration at the receptors", "µM", short="concentration"),
    "plasma_uM": Quantity("plasma concentration", "µM", short="concentration"),
    "plasma_ng_per_mL": Quantity("plasma concentration", "ng/mL", short="concentration"),
    "effect_site_uM": Quantity("effect-site concentration", "µM", short="concentration"),
    "effect_site_ng_per_mL": Quantity("effect-site concentration", "ng/mL", short="concentration"),
    "drug_time_min": Quantity("drug time", "min"),
    # /nmda/<population>/<receptor>/ (NMDA receptor pools)
    "drug_blocked_fraction": Quantity("NMDA channels blocked by the drug", "", "fraction"),
    "trapped_fraction": Quantity("NMDA channels with the drug trapped", "", "fraction"),
    "conducting_fraction": Quantity("NMDA channels free of drug and Mg²⁺", "", "fraction"),
    "open_fraction": Quantity("open fraction of the receptors", "", "fraction"),
    "current_pA": Quantity("mean NMDA current per neuron", "pA", short="current"),
    # /receptors/<population>/<receptor>/
    "g_mean": Quantity("mean conductance per neuron", "nS", short="conductance"),
    "current_mean_pA": Quantity("mean receptor current per neuron", "pA", short="current"),
    # /glutamate/<pool>/
    "level_uM": Quantity("extracellular glutamate", "µM", short="concentration"),
    "release_per_ms_per_neuron": Quantity("glutamate release", "vesicles/ms per neuron", short="release"),
    "dialysate_release_per_ms_per_neuron": Quantity("dialysate proxy (release low-passed over 2 min)",
                                                    "vesicles/ms per neuron", short="release"),
    # /gamma/<population>/
    "power_30_80_Hz2": Quantity("gamma power of the population rate, 30–80 Hz", "Hz²", short="power"),
    "relative_power": Quantity("gamma power / 1–100 Hz power", "", "ratio"),
    # population rates
    "rate_Hz": Quantity("firing rate per neuron", "Hz", short="rate"),
    # state report variables
    "V_m_mV": Quantity("membrane potential", "mV", short="potential"),
    "w_pA": Quantity("adaptation current", "pA", short="current"),
    # slow.h5 (docs/slow_layer.md)
    "total_weight_relative": Quantity("summed E→E strength", "", "relative"),
    "spine_factor": Quantity("E→E synapse count", "", "relative"),
    "strength_factor": Quantity("strength per synapse", "", "relative"),
    "inhibitory_factor": Quantity("inhibitory synapses (homeostatic factor)", "", "relative"),
    "nmda_unblocked_fraction": Quantity("NMDA pool unblocked at rest", "", "fraction"),
    "mean_weight": Quantity("mean E→E weight", "nS", short="weight"),
}


def unit_text(unit: str) -> str:
    """A units attribute of the files as printed: "uM" -> "µM"."""
    return UNIT_TEXT.get(unit, unit)


def quantity(name: str, units_attribute: str = "") -> Quantity:
    """The quantity of a dataset, from its name (and its units attribute where the name has no suffix)."""
    if name in KNOWN:
        q = KNOWN[name]
        # g_mean of a current-based receptor is a current: the file's units attribute wins.
        if name == "g_mean" and units_attribute and unit_text(units_attribute) != q.unit:
            return Quantity(q.label, unit_text(units_attribute), q.kind, "current" if units_attribute == "pA"
                            else q.short)
        return q
    m = re.match(r"^(g|I)_(.+)_(nS|pA)$", name)  # receptor state variables of the state reports: g_AMPA_nS
    if m:
        word = "conductance" if m.group(1) == "g" else "current"
        return Quantity(f"{word} ({m.group(2)})", unit_text(m.group(3)), short=word)
    m = re.match(r"^(.+?)_(uM|nS|pA|mV|ms|Hz|Hz2|min|ng_per_mL|mM|pF|um)$", name)
    if m:
        return Quantity(m.group(1).replace("_", " "), unit_text(m.group(2)))
    if name.endswith("_fraction"):
        return Quantity(name[: -len("_fraction")].replace("_", " ") + " fraction", "", "fraction")
    return Quantity(name.replace("_", " "), unit_text(units_attribute))


def receptor_quantity(name: str) -> str:
    """Axis group of a state report variable: variables with one quantity share a panel (g_AMPA_nS, g_GABA_A_nS)."""
    m = re.match(r"^(g|I)_(.+)_(nS|pA)$", name)
    if m:
        return ("conductance" if m.group(1) == "g" else "current") + "|" + m.group(3)
    return name


# summary.json keys, as the report labels them: (label, unit).
SUMMARY_KEYS = {
    "size": ("neurons", ""),
    "model": ("model", ""),
    "spike_count": ("spikes", ""),
    "mean_rate_Hz": ("mean rate per neuron", "Hz"),
    "synapses_in": ("synapses received", ""),
    "agent": ("species", ""),
    "role": ("role", ""),
    "source": ("given as", ""),
    "max_plasma_ng_per_mL": ("peak plasma concentration", "ng/mL"),
    "max_plasma_uM": ("peak plasma concentration", "µM"),
    "max_free_uM": ("peak free concentration", "µM"),
    "drug_blocked_fraction": ("blocked by the drug", "fraction"),
    "trapped_fraction": ("drug trapped", "fraction"),
    "open_fraction": ("open", "fraction"),
    "conducting_fraction": ("free of drug and Mg²⁺", "fraction"),
    "current_pA": ("mean NMDA current", "pA"),
    "population": ("population", ""),
    "receptor": ("receptor pool", ""),
    "IC50_uM": ("IC50", "µM"),
    "hill": ("Hill coefficient", ""),
    "build_s": ("building the network", "s"),
    "simulate_s": ("simulating", "s"),
    "write_s": ("writing outputs", "s"),
    "total_s": ("total", "s"),
    "real_time_factor": ("real-time factor (wall-clock time / simulated time)", ""),
    "peak_rss_MB": ("peak memory (resident)", "MB"),
    "synapse_count": ("synapses", ""),
    "bytes_per_synapse": ("bytes per synapse", "B"),
    "synapse_bytes": ("synapse storage", "B"),
    "weight_storage": ("weight storage", ""),
    "weight_rounding_max": ("largest weight rounding", "nS or pA"),
}


def summary_label(key: str) -> str:
    label, unit = SUMMARY_KEYS.get(key, (key.replace("_", " "), ""))
    return f"{label} ({unit})" if unit else label
