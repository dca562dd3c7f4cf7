"""A run directory as SONATA (the SONATA developer guide, AllenInstitute/sonata docs/SONATA_DEVELOPER_GUIDE.md,
and libsonata's layout rules), read with h5py, json and csv only: what a SONATA reader finds from
simulation_config.json must be there, with the required fields, attributes and index structures.

Fixture runs (tests/CMakeLists.txt): KETAPLAST_VIZ_FIXTURE_DIR (teaching_small, 3 s, with edges.h5) and its
sibling _cells (single_neuron: three recorded variables). About 2 s.
"""
import csv
import json
import os

import h5py
import numpy as np
import pytest

BASE = os.environ.get("KETAPLAST_VIZ_FIXTURE_DIR", "")
RUNS = [BASE, BASE + "_cells"]
pytestmark = pytest.mark.skipif(not BASE, reason="KETAPLAST_VIZ_FIXTURE_DIR not set (run through ctest)")
MODEL_TYPES = {"biophysical", "virtual", "single_compartment", "point_neuron"}


def resolve(path, manifest, base):
    for key, value in manifest.items():
        path = path.replace(key, value)
    return os.path.normpath(os.path.join(base, path))


def check_header(f, path):
    # Every SONATA HDF5 file: magic uint32 0x0A7A and version, 2 x uint32.
    assert f.attrs["magic"] == 0x0A7A and f.attrs["magic"].dtype == np.uint32, path
    assert f.attrs["version"].shape == (2,) and f.attrs["version"].dtype == np.uint32, path


def read_types(path):
    # SONATA's CSV dialect: columns separated by one or more spaces, '"' quotes.
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter=" ", quotechar='"', skipinitialspace=True))
    header, body = rows[0], [r for r in rows[1:] if r]
    return [dict(zip(header, r)) for r in body]


@pytest.mark.parametrize("run", RUNS)
def test_simulation_and_circuit_configs_point_to_conformant_files(run):
    with open(os.path.join(run, "simulation_config.json")) as f:
        sim = json.load(f)
    manifest = sim.get("manifest", {})
    circuit_path = resolve(sim["network"], manifest, run)
    with open(circuit_path) as f:
        circuit = json.load(f)
    cm = circuit.get("manifest", {})
    with open(os.path.join(run, "summary.json")) as f:
        summary = json.load(f)
    assert sim["run"]["dt"] == summary["dt_ms"] and sim["run"]["tstop"] == summary["duration_ms"]
    with open(resolve(sim["node_sets_file"], manifest, run)) as f:
        node_sets = json.load(f)

    populations = {}
    assert circuit["networks"]["nodes"], "networks.nodes is required"
    for entry in circuit["networks"]["nodes"]:
        nodes_path = resolve(entry["nodes_file"], cm, os.path.dirname(circuit_path))
        types = read_types(resolve(entry["node_types_file"], cm, os.path.dirname(circuit_path)))
        assert all({"node_type_id", "population", "model_type"} <= set(t) for t in types)
        with h5py.File(nodes_path, "r") as f:
            check_header(f, nodes_path)
            for name, pop in f["nodes"].items():
                n = len(pop["node_type_id"])
                populations[name] = n
                for required in ("node_type_id", "node_group_id", "node_group_index"):
                    assert len(pop[required]) == n, f"{name}/{required}"
                mine = {int(t["node_type_id"]): t for t in types if t["population"] == name}
                for type_id in np.unique(pop["node_type_id"][()]):
                    t = mine[int(type_id)]  # every node type of the population is in node_types.csv
                    assert t["model_type"] in MODEL_TYPES
                    if t["model_type"] == "point_neuron":
                        assert ":" in t["model_template"]  # schema:resource
                groups = pop["node_group_id"][()]
                index = pop["node_group_index"][()]
                for g in np.unique(groups):
                    attributes = pop[str(g)]
                    members = index[groups == g]
                    for key, d in attributes.items():
                        assert len(d) > members.max(), f"{name}/{g}/{key}"
                assert pop["0/x"].attrs["units"] in (b"um", "um")
    assert set(node_sets) == set(populations)
    assert all(node_sets[p]["population"] == p for p in populations)

    for entry in circuit["networks"]["edges"]:
        edges_path = resolve(entry["edges_file"], cm, os.path.dirname(circuit_path))
        types = {int(t["edge_type_id"]): t for t in read_types(resolve(entry["edge_types_file"], cm,
                                                                        os.path.dirname(circuit_path)))}
        with h5py.File(edges_path, "r") as f:
            check_header(f, edges_path)
            for name, e in f["edges"].items():
                src, tgt = e["source_node_id"][()], e["target_node_id"][()]
                n_edges = len(src)
                source_pop = e["source_node_id"].attrs["node_population"]
                target_pop = e["target_node_id"].attrs["node_population"]
                source_pop = source_pop.decode() if isinstance(source_pop, bytes) else source_pop
                target_pop = target_pop.decode() if isinstance(target_pop, bytes) else target_pop
                assert source_pop in populations and target_pop in populations
                for required in ("edge_type_id", "edge_group_id", "edge_group_index"):
                    assert len(e[required]) == n_edges
                assert set(np.unique(e["edge_type_id"][()]).tolist()) <= set(types)
                # libsonata's index: node_id_to_ranges [N, 2] into range_to_edge_id [R, 2]; every edge of a
                # node is found, exactly once, under that node.
                for side, ids, pop in (("source_to_target", src, source_pop), ("target_to_source", tgt, target_pop)):
                    ranges = e[f"indices/{side}/node_id_to_ranges"][()]
                    edge_ranges = e[f"indices/{side}/range_to_edge_id"][()]
                    assert ranges.shape == (populations[pop], 2)
                    seen = np.zeros(n_edges, dtype=int)
                    for node, (r0, r1) in enumerate(ranges):
                        for e0, e1 in edge_ranges[r0:r1]:
                            assert np.all(ids[e0:e1] == node)
                            seen[e0:e1] += 1
                    assert np.all(seen == 1), f"{name}/{side}"

    spikes_path = os.path.join(resolve(sim["output"]["output_dir"], manifest, run), sim["output"]["spikes_file"])
    with h5py.File(spikes_path, "r") as f:
        check_header(f, spikes_path)
        for name, pop in f["spikes"].items():
            names = h5py.check_enum_dtype(pop.attrs.get_id("sorting").dtype)
            assert names == {"none": 0, "by_id": 1, "by_time": 2}
            assert pop["node_ids"].dtype == np.uint64 and pop["timestamps"].dtype == np.float64
            assert pop["timestamps"].attrs["units"] in (b"ms", "ms")

    # One report per recorded variable, each in its own file, with the variable's unit.
    recorded = [(r["population"], v) for r in sim_config_reports(run) for v in r["variables"]]
    assert len(sim["reports"]) == len(recorded)
    for report_name, report in sim["reports"].items():
        assert report["cells"] in node_sets
        path = os.path.join(resolve(sim["output"]["output_dir"], manifest, run), report["file_name"])
        population = node_sets[report["cells"]]["population"]
        with h5py.File(path, "r") as f:
            check_header(f, path)
            rep = f[f"report/{population}"]
            data, m = rep["data"], rep["mapping"]
            units = data.attrs["units"]
            assert (units.decode() if isinstance(units, bytes) else units) == report["unit"]
            assert report["variable_name"].endswith("_" + report["unit"])
            node_ids, pointers = m["node_ids"][()], m["index_pointers"][()]
            assert len(pointers) == len(node_ids) + 1 and pointers[0] == 0 and pointers[-1] == data.shape[1]
            assert len(m["element_ids"]) == data.shape[1]
            start, stop, step = m["time"][()]
            assert data.shape[0] == round((stop - start) / step)
            assert step == pytest.approx(report["dt"], rel=1e-9)


def sim_config_reports(run):
    with open(os.path.join(run, "config.toml"), "rb") as f:
        import tomllib
        return tomllib.load(f).get("recording", {}).get("reports", [])
