#!/usr/bin/python3
"""Distributed-run tests (ctest label "mpi"; needs a -DKETAPLAST_WITH_MPI=ON build).

usage: test_mpi.py KETAPLAST MPIRUN {invariance,resume,errors}

invariance  spikes bit-identical for 1, 2 and 4 ranks x 1 and 2 threads, against the plain (no mpirun)
            one-thread run; and the merged outputs: every dataset of spikes.h5, the report files,
            timeseries.h5 (rates, drug series, NMDA pool means: reductions over ranks), nodes.h5,
            edges.h5 and snapshots.h5 equal to the bit, one summary.json with the same counts.
resume      a run paused (--until) with 2 ranks x 1 thread resumes with 4 ranks x 2 threads, and one
            paused with 4 ranks resumes without MPI; both equal the uninterrupted run to the bit.
errors      bad input under MPI: exit 2, the message printed once, nothing written.

Every comparison is exact (numpy.array_equal): a decomposition must not change a single bit.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

KETAPLAST, MPIRUN, MODE = sys.argv[1], sys.argv[2], sys.argv[3]
CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpi_net.toml")
# mpi_net.toml records V_m_mV, g_NMDA_nS and w_pA: one SONATA report file per variable.
FILES = ["spikes.h5", "report_V_m_mV.h5", "report_g_NMDA_nS.h5", "report_w_pA.h5", "timeseries.h5", "nodes.h5",
         "edges.h5", "snapshots.h5"]
failures = []


def run(args, ranks=0, threads=1, expect=0):
    """ranks 0: the plain program (no mpirun)."""
    cmd = [KETAPLAST] + args + ["--threads", str(threads)]
    if ranks:
        cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "-n", str(ranks)] + cmd
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if p.returncode != expect:
        failures.append(f"{' '.join(cmd)}: exit {p.returncode}, expected {expect}\n{p.stdout}\n{p.stderr}")
    return p


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def same_outputs(a, b, label, files=FILES):
    for name in files:
        pa, pb = os.path.join(a, name), os.path.join(b, name)
        if not os.path.exists(pb):
            failures.append(f"{label}: {name} missing")
            continue
        da, db = datasets(pa), datasets(pb)
        if sorted(da) != sorted(db):
            failures.append(f"{label}: {name}: datasets differ: {sorted(set(da) ^ set(db))}")
            continue
        for key in da:
            x, y = da[key], db[key]
            equal = (np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f" else np.array_equal(x, y))
            if not equal:
                failures.append(f"{label}: {name}/{key} differs")
    sa = json.load(open(os.path.join(a, "summary.json")))
    sb = json.load(open(os.path.join(b, "summary.json")))
    for key in ["populations", "drugs", "nmda_pools", "status", "simulated_ms"]:
        if sa.get(key) != sb.get(key):
            failures.append(f"{label}: summary.json '{key}' differs")
    for key in ["spikes_exchanged", "synaptic_events", "min_delay_steps"]:
        if sa["engine"][key] != sb["engine"][key]:
            failures.append(f"{label}: summary.json engine.{key} differs")
    leftovers = [f for f in os.listdir(b) if f.endswith(".tmp") or f.startswith("checkpoint")]
    if leftovers:
        failures.append(f"{label}: leftover files {leftovers}")


tmp = tempfile.mkdtemp(prefix="ketaplast_mpi_")
try:
    ref = os.path.join(tmp, "reference")
    run(["run", CONFIG, "--out", ref])
    spikes = datasets(os.path.join(ref, "spikes.h5"))
    # The test must be able to fail: the network spikes in every population, and reports/NMDA pools exist.
    for pop in ["E", "I", "stim"]:
        if len(spikes[f"spikes/{pop}/node_ids"]) == 0:
            failures.append(f"reference run: no spikes in {pop}")
    if MODE == "invariance":
        for ranks in (1, 2, 4):
            for threads in (1, 2):
                out = os.path.join(tmp, f"r{ranks}t{threads}")
                run(["run", CONFIG, "--out", out, "--mpi"], ranks, threads)
                same_outputs(ref, out, f"{ranks} ranks x {threads} threads")
                s = json.load(open(os.path.join(out, "summary.json")))
                if s.get("ranks") != ranks:
                    failures.append(f"{out}: summary.json ranks = {s.get('ranks')}, expected {ranks}")
    elif MODE == "resume":
        for first, second, label in [((2, 1), (4, 2), "2x1 -> 4x2"), ((4, 1), (0, 1), "4x1 -> 1 (no MPI)")]:
            out = os.path.join(tmp, f"resume_{first[0]}_{second[0]}")
            run(["run", CONFIG, "--out", out, "--until", "124"], *first)
            if not os.path.exists(os.path.join(out, "checkpoint.h5")):
                failures.append(f"{label}: no checkpoint after --until")
                continue
            with h5py.File(os.path.join(out, "checkpoint.h5"), "r") as f:
                if int(f["header/ranks"][0]) != first[0]:
                    failures.append(f"{label}: checkpoint header/ranks = {f['header/ranks'][0]}")
            run(["resume", out], *second)
            same_outputs(ref, out, f"resume {label}")
    elif MODE == "errors":
        # A config error: every rank finds it; printed once, exit 2, nothing written.
        bad = os.path.join(tmp, "bad.toml")
        with open(bad, "w") as f:
            f.write(open(CONFIG).read().replace("size = 80", "size = -3"))
        out = os.path.join(tmp, "bad_out")
        p = run(["run", bad, "--out", out], 2, 1, expect=2)
        if p.stderr.count("error:") != 1:
            failures.append(f"config error under MPI printed {p.stderr.count('error:')} times:\n{p.stderr}")
        if os.path.exists(out):
            failures.append("config error under MPI: output directory created")
        # A resume of a directory without a checkpoint: exit 2, printed once.
        p = run(["resume", os.path.join(tmp, "nothing")], 2, 1, expect=2)
        if p.stderr.count("error:") != 1:
            failures.append(f"resume error under MPI printed {p.stderr.count('error:')} times:\n{p.stderr}")
        # --mpi without an MPI launcher.
        p = run(["run", CONFIG, "--out", os.path.join(tmp, "x"), "--mpi"], 0, 1, expect=2)
        if "not started by an MPI launcher" not in p.stderr:
            failures.append(f"--mpi without mpirun: unexpected message:\n{p.stderr}")
    else:
        failures.append(f"unknown mode {MODE}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"mpi {MODE}: ok")
