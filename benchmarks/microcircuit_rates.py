#!/usr/bin/python3
"""Firing statistics of a microcircuit run (configs/microcircuit.toml) against reference rates.

    /usr/bin/python3 benchmarks/microcircuit_rates.py RUN_DIR [--warmup-ms 500] [--reference full|nest0.1]
        [--tolerance 0.10] [--json OUT]

Per population, over (warm-up, end]: mean rate (silent neurons included, as the NEST example does),
the distribution of single-neuron rates (percentiles), the fraction of silent neurons, and the
irregularity (mean coefficient of variation of inter-spike intervals over neurons with >= 3 spikes).
Exit code 1 if a mean rate is outside the tolerance of the reference.
"""
import argparse
import json
import sys

import h5py
import numpy as np

POPS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
# Full-scale reference rates (spikes/s): NEST >= 3.4 example network_params.py 'full_mean_rates',
# the values the issue quotes (L2/3E 0.90 ... L6I 7.83).
REFERENCE = {
    "full": dict(zip(POPS, [0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829])),
}


def population_stats(times, ids, size, t0, t1):
    sel = (times > t0) & (times <= t1)
    times, ids = times[sel], ids[sel]
    seconds = (t1 - t0) * 1e-3
    counts = np.bincount(ids.astype(np.int64), minlength=size)[:size]
    rates = counts / seconds
    order = np.lexsort((times, ids))
    times, ids = times[order], ids[order]
    cvs = []
    boundaries = np.flatnonzero(np.diff(ids)) + 1
    for chunk in np.split(times, boundaries):
        if len(chunk) >= 3:
            isi = np.diff(chunk)
            if isi.mean() > 0:
                cvs.append(isi.std() / isi.mean())
    return {
        "neurons": int(size),
        "mean_rate_Hz": float(rates.mean()),
        "rate_percentiles_Hz": {str(q): float(np.percentile(rates, q)) for q in (10, 25, 50, 75, 90)},
        "silent_fraction": float((counts == 0).mean()),
        "mean_cv_isi": float(np.mean(cvs)) if cvs else float("nan"),
        "neurons_with_cv": len(cvs),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--warmup-ms", type=float, default=500.0)
    ap.add_argument("--reference", default="full", choices=sorted(REFERENCE))
    ap.add_argument("--tolerance", type=float, default=0.10)
    ap.add_argument("--json", help="write the statistics here")
    args = ap.parse_args()

    summary = json.load(open(f"{args.run_dir}/summary.json"))
    t1 = summary["simulated_ms"]
    ref = REFERENCE[args.reference]
    out, ok = {}, True
    with h5py.File(f"{args.run_dir}/spikes.h5", "r") as f:
        print(f"{'population':<8} {'rate Hz':>8} {'ref':>7} {'dev':>7} {'p10':>6} {'p50':>6} {'p90':>6} "
              f"{'silent':>7} {'CV ISI':>7}")
        for pop in POPS:
            g = f["spikes"][pop]
            st = population_stats(g["timestamps"][:], g["node_ids"][:], summary["populations"][pop]["size"],
                                  args.warmup_ms, t1)
            dev = st["mean_rate_Hz"] / ref[pop] - 1.0
            st["reference_Hz"], st["deviation"] = ref[pop], dev
            ok &= abs(dev) <= args.tolerance
            pc = st["rate_percentiles_Hz"]
            print(f"{pop:<8} {st['mean_rate_Hz']:8.3f} {ref[pop]:7.3f} {dev:+7.1%} {pc['10']:6.2f} {pc['50']:6.2f} "
                  f"{pc['90']:6.2f} {st['silent_fraction']:7.1%} {st['mean_cv_isi']:7.3f}")
            out[pop] = st
    print(f"window ({args.warmup_ms:g}, {t1:g}] ms; reference '{args.reference}', tolerance {args.tolerance:.0%}: "
          + ("all within" if ok else "OUTSIDE"))
    if args.json:
        json.dump({"window_ms": [args.warmup_ms, t1], "populations": out, "within_tolerance": ok},
                  open(args.json, "w"), indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
