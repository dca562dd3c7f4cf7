"""What the 2-D pictures and the report read from a run directory (docs/output.md), as NumPy arrays.

nodes.h5 is required (every run writes it); every other file is optional and gives empty members when absent.
A malformed file raises BadRun naming the file and the object, which the entry point turns into exit code 2.
"""
from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field

import h5py
import numpy as np


class BadRun(Exception):
    """A run directory or one of its files cannot be read (exit code 2)."""


@dataclass
class Series:
    """One 1-D time series of timeseries.h5 outside the population rates, e.g. /nmda/PV/NMDA_CD/drug_blocked_fraction."""

    group: str  # e.g. "nmda/PV/NMDA_CD" (no leading slash)
    name: str  # e.g. "drug_blocked_fraction"
    units: str  # the dataset's units attribute, "" when absent
    time_ms: np.ndarray  # network time (protocol time in [protocol] runs for drugs and NMDA pools)
    values: np.ndarray

    @property
    def top(self) -> str:
        return self.group.split("/", 1)[0]

    @property
    def owner(self) -> str:
        """The group below its top level: "PV/NMDA_CD", or the agent for drugs ("0_ketamine" -> "ketamine")."""
        rest = self.group.split("/", 1)[1] if "/" in self.group else self.group
        if self.top == "drugs" and "_" in rest and rest.split("_", 1)[0].isdigit():
            rest = rest.split("_", 1)[1]
        return rest


@dataclass
class Population:
    name: str
    model: str
    size: int
    spike_times_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    spike_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))


@dataclass
class Report:
    """The state reports of one population (report_<variable>.h5): every variable as [n_times, n_nodes]."""

    population: str
    node_ids: np.ndarray
    time_ms: np.ndarray
    variables: dict  # name -> (units, array [n_times, n_nodes])


@dataclass
class Projection:
    name: str
    source: str
    target: str
    weight_units: str
    frames: list  # [(label, time_ms, weights)], frame 0 the baseline


@dataclass
class Run:
    dir: str
    summary: dict
    config: dict
    populations: list
    has_spikes: bool = False
    rate_time_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rate_bin_ms: float = 0.0
    rates_Hz: dict = field(default_factory=dict)  # population -> array per bin
    series: list = field(default_factory=list)
    reports: list = field(default_factory=list)
    slow: dict = field(default_factory=dict)  # slow.h5 name -> (units, values); "t_h" the probe times
    slow_attrs: dict = field(default_factory=dict)
    projections: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return os.path.basename(os.path.normpath(os.path.abspath(self.dir)))

    @property
    def simulated_ms(self) -> float:
        if "simulated_ms" in self.summary:
            return float(self.summary["simulated_ms"])
        if len(self.rate_time_ms):
            return float(self.rate_time_ms[-1] + self.rate_bin_ms)
        return float(self.config.get("simulation", {}).get("duration_ms", 0.0))

    @property
    def drug_time_scale(self) -> float:
        """Drug (PK) time per network time ([simulation] drug_time_scale); 1 without compression."""
        return float(self.config.get("simulation", {}).get("drug_time_scale", 1.0))

    @property
    def is_protocol(self) -> bool:
        return "t_h" in self.slow

    @property
    def protocol_h(self) -> float:
        if not self.is_protocol:
            return 0.0
        return float(self.slow_attrs.get("duration_h", self.slow["t_h"][1][-1]))

    def population(self, name: str) -> Population | None:
        return next((p for p in self.populations if p.name == name), None)

    def find(self, top: str, name: str | None = None) -> list:
        """Series of the top-level group `top` ("drugs", "nmda", ...), with dataset `name` if given."""
        return [s for s in self.series if s.top == top and (name is None or s.name == name)]


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode().rstrip("\0")
    if isinstance(value, np.ndarray):
        return _text(value.item()) if value.size == 1 else ",".join(_text(v) for v in value)
    return str(value)


def _units(dataset) -> str:
    return _text(dataset.attrs["units"]) if "units" in dataset.attrs else ""


def _open(path: str):
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise BadRun(f"{path}: not a readable HDF5 file ({e})") from e


def _need(f, path: str, name: str):
    if name not in f:
        raise BadRun(f"{path}: missing /{name} (docs/output.md)")
    return f[name]


def _load_nodes(run: Run) -> None:
    path = os.path.join(run.dir, "nodes.h5")
    if not os.path.exists(path):
        raise BadRun(f"{path}: missing (is '{run.dir}' a Ketaplast run directory?)")
    with _open(path) as f:
        for name, group in _need(f, path, "nodes").items():
            model = _text(group.attrs["model"]) if "model" in group.attrs else ""
            size = len(_need(group, path, "0/x"))
            run.populations.append(Population(name, model, size))


def _load_spikes(run: Run) -> None:
    path = os.path.join(run.dir, "spikes.h5")
    if not os.path.exists(path):
        return
    with _open(path) as f:
        for pop in run.populations:
            key = f"spikes/{pop.name}"
            if key not in f:
                continue
            pop.spike_times_ms = f[key]["timestamps"][()]
            pop.spike_ids = f[key]["node_ids"][()]
            if len(pop.spike_ids) != len(pop.spike_times_ms):
                raise BadRun(f"{path}: /{key}: timestamps and node_ids differ in length")
            if len(pop.spike_ids) and int(pop.spike_ids.max()) >= pop.size:
                raise BadRun(f"{path}: /{key}: a node id lies outside the population (size {pop.size})")
    run.has_spikes = True


def _load_timeseries(run: Run) -> None:
    path = os.path.join(run.dir, "timeseries.h5")
    if not os.path.exists(path):
        return
    with _open(path) as f:
        if "time_ms" in f and "population_rate_Hz" in f:
            run.rate_time_ms = f["time_ms"][()]
            run.rate_bin_ms = float(f.attrs.get("bin_ms", 0.0))
            for name, d in f["population_rate_Hz"].items():
                run.rates_Hz[name] = d[()].astype(float)

        # Every group with a sibling time_ms: /drugs, /nmda, /receptors, /glutamate, /gamma and any later one.
        def visit(name, obj):
            if not isinstance(obj, h5py.Group) or "time_ms" not in obj or name == "":
                return
            t = obj["time_ms"][()]
            for key, d in obj.items():
                if key == "time_ms" or not isinstance(d, h5py.Dataset) or d.ndim != 1 or len(d) != len(t):
                    continue
                run.series.append(Series(name, key, _units(d), t, d[()].astype(float)))

        for key, obj in f.items():
            if isinstance(obj, h5py.Group) and key != "population_rate_Hz":
                visit(key, obj)
                obj.visititems(lambda n, o, k=key: visit(f"{k}/{n}", o))


def _report(run: Run, population: str, node_ids, t) -> "Report":
    existing = next((r for r in run.reports if r.population == population), None)
    if existing is None:
        existing = Report(population, node_ids, t, {})
        run.reports.append(existing)
    return existing


def _load_reports(run: Run) -> None:
    """SONATA reports: one file per recorded variable, report_<variable>.h5 (/report/<population>/data, one
    element per neuron); a reports.h5 holding the variables as the elements of one report is read too."""
    names = sorted(n for n in os.listdir(run.dir) if n.startswith("report_") and n.endswith(".h5"))
    for name in names:
        variable = name[len("report_"):-len(".h5")]
        path = os.path.join(run.dir, name)
        with _open(path) as f:
            for population, rep in _need(f, path, "report").items():
                m = rep["mapping"]
                start, _, step = m["time"][()]
                data = rep["data"][()]
                t = start + step * np.arange(data.shape[0])
                _report(run, population, m["node_ids"][()], t).variables[variable] = (
                    _units(rep["data"]), data.astype(float))
    path = os.path.join(run.dir, "reports.h5")
    if names or not os.path.exists(path):
        return
    with _open(path) as f:
        for population, rep in f.get("report", {}).items():
            m = rep["mapping"]
            variables = [_text(n) for n in m["element_names"][()]]
            elements = m["element_ids"][()].astype(int)
            start, _, step = m["time"][()]
            data = rep["data"][()]
            t = start + step * np.arange(data.shape[0])
            report = _report(run, population, m["node_ids"][()], t)
            for v, variable in enumerate(variables):
                unit = variable.rsplit("_", 1)[1] if "_" in variable else ""
                report.variables[variable] = (unit, data[:, np.nonzero(elements == v)[0]].astype(float))


def _load_slow(run: Run) -> None:
    path = os.path.join(run.dir, "slow.h5")
    if not os.path.exists(path):
        return
    with _open(path) as f:
        slow = _need(f, path, "slow")
        for name, d in slow.items():
            if isinstance(d, h5py.Dataset) and d.ndim == 1:
                run.slow[name] = (_units(d), d[()].astype(float))
        if "t_h" not in run.slow:
            raise BadRun(f"{path}: /slow has no t_h")
        run.slow_attrs = {k: (_text(v) if isinstance(v, (bytes, np.bytes_)) else v) for k, v in slow.attrs.items()}


def _weights(path: str, names: list) -> list:
    with _open(path) as f:
        return [f[f"edges/{n}/0/syn_weight"][()] for n in names]


def _load_edges(run: Run, extra_edges: list) -> None:
    path = os.path.join(run.dir, "edges.h5")
    if not os.path.exists(path):
        return
    with _open(path) as f:
        for name, e in _need(f, path, "edges").items():
            w = e["0/syn_weight"]
            run.projections.append(Projection(
                name, _text(e["source_node_id"].attrs.get("node_population", b"")),
                _text(e["target_node_id"].attrs.get("node_population", b"")), _units(w),
                [("end of run", run.simulated_ms, w[()])]))
    names = [p.name for p in run.projections]
    if extra_edges:
        for p in run.projections:
            p.frames = []
        for k, extra in enumerate(extra_edges):
            with _open(extra) as f:
                t = float(f.attrs.get("time_ms", k))
            for p, w in zip(run.projections, _weights(extra, names)):
                p.frames.append((os.path.basename(extra), t, w))
        return
    snapshots = os.path.join(run.dir, "snapshots.h5")
    if not os.path.exists(snapshots):
        return
    with _open(snapshots) as f:
        times = f["time_ms"][()]
        hours = f["protocol_time_h"][()] if "protocol_time_h" in f else None
        for p in run.projections:
            key = f"edges/{p.name}/0/syn_weight"
            if key not in f:
                continue
            w = f[key][()]
            p.frames = [(f"snapshot {s}", hours[s] * 3.6e6 if hours is not None else times[s], w[s])
                        for s in range(len(times))]


def load_run(directory: str, extra_edges: list | None = None) -> Run:
    """Reads a run directory; raises BadRun on a missing nodes.h5 or a malformed file."""
    if not os.path.isdir(directory):
        raise BadRun(f"'{directory}' is not a directory")
    summary, config = {}, {}
    summary_path = os.path.join(directory, "summary.json")
    if os.path.exists(summary_path):
        try:
            with open(summary_path) as f:
                summary = json.load(f)
        except ValueError as e:
            raise BadRun(f"{summary_path}: not valid JSON ({e})") from e
    config_path = os.path.join(directory, "config.toml")
    if os.path.exists(config_path):
        try:
            with open(config_path, "rb") as f:
                config = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise BadRun(f"{config_path}: not valid TOML ({e})") from e
    run = Run(directory, summary, config, [])
    try:
        _load_nodes(run)
        _load_spikes(run)
        _load_timeseries(run)
        _load_reports(run)
        _load_slow(run)
        _load_edges(run, extra_edges or [])
    except KeyError as e:
        raise BadRun(f"{directory}: a file lacks an expected object ({e})") from e
    return run
