#!/usr/bin/python3
"""The Potjans & Diesmann (2014) microcircuit reproduces its reference rates.

  full   full scale (77,169 neurons, 3e8 synapses; ~40 s and 1.6 GB on 2 cores): mean rates over
         (500, 1500] ms within 10 % of the full-scale reference of the NEST example (full_mean_rates,
         NEST >= 3.4; the values of the issue).
  0.1    the NEST example's default scale (N_scaling = K_scaling = 0.1, with its weight and DC
         compensation): mean rates over three seeds compared with the reference data the NEST example
         ships for this scale (reference_data/rate*.dat, NEST master@992860964). At this scale the
         low-rate L2/3E population differs between NEST's own stored runs by 23 % (0.357 vs 0.439 Hz),
         more than any 10 % criterion, so L2/3E and L6E (< 1 Hz) are reported but not judged; the six
         populations above 1 Hz must lie within 10 %.

    /usr/bin/python3 tests/peer/microcircuit_rates.py KETAPLAST_BINARY {full|0.1} [--threads 2]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
POPS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
FULL = [0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829]
# NEST example reference_data at scale 0.1 (suku248/nest-simulator f7c89664, means of rate0-7.dat,
# window [500, 1500] ms, silent neurons included).
SCALED = [0.3569, 1.9400, 3.9352, 4.9033, 6.6454, 7.6226, 0.8417, 6.9153]


def rates(run_dir, t0=500.0, t1=1500.0):
    summary = json.load(open(os.path.join(run_dir, "summary.json")))
    out = []
    with h5py.File(os.path.join(run_dir, "spikes.h5"), "r") as f:
        for p in POPS:
            t = f["spikes"][p]["timestamps"][:]
            n = summary["populations"][p]["size"]
            out.append(((t > t0) & (t <= t1)).sum() / n / ((t1 - t0) * 1e-3))
    return np.array(out), summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ketaplast")
    ap.add_argument("scale", choices=["full", "0.1"])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    config = os.path.join(ROOT, "configs/microcircuit.toml")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        seeds = [55] if args.scale == "full" else [55, 1, 2]
        for seed in seeds:
            out = os.path.join(tmp, f"run{seed}")
            cmd = [args.ketaplast, "run", config, "--out", out, "--seed", str(seed), "--threads", str(args.threads)]
            if args.scale == "0.1":
                cmd += ["--set", "network.scale=0.1"]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            r, summary = rates(out)
            runs.append(r)
            print(f"seed {seed}: build {summary['timing']['build_s']:.1f} s, simulate {summary['timing']['simulate_s']:.1f} s, "
                  f"peak {summary['memory']['peak_rss_MB']:.0f} MB, {summary['memory']['bytes_per_synapse']:.2f} B/synapse")
    measured = np.mean(runs, axis=0)
    reference = FULL if args.scale == "full" else SCALED
    ok = True
    for p, m, ref in zip(POPS, measured, reference):
        dev = m / ref - 1
        judged = args.scale == "full" or ref >= 1.0
        passed = abs(dev) <= 0.10 or not judged
        ok &= passed
        print(f"{p:5s} {m:7.3f} Hz  reference {ref:6.3f}  {dev:+6.1%}  "
              f"{'ok' if passed and judged else ('not judged (< 1 Hz)' if not judged else 'FAIL')}")
    print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
