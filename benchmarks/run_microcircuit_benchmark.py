#!/usr/bin/python3
"""Full-scale Potjans & Diesmann (2014) microcircuit on this machine: construction time, real-time
factor, peak memory, bytes per synapse, synaptic events per second, where the time goes, and the
firing statistics against the reference.

    /usr/bin/python3 benchmarks/run_microcircuit_benchmark.py [--threads 2] [--scale 1.0]
        [--variants poisson,dc_norec] [--out-json out/microcircuit_bench.json]

Variants: "poisson" = Poisson background, all spikes recorded (the issue's target setting);
"dc_norec" = the DC-equivalent background (poisson_drive.mode = "mean") and no spike recording
(NEST's faster setting). Each run is one process; the numbers come from its summary.json.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POPS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ketaplast", default=os.path.join(ROOT, "build/release/ketaplast"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--variants", default="poisson,dc_norec")
    ap.add_argument("--out-json")
    args = ap.parse_args()
    results = {}
    for variant in args.variants.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "run")
            cmd = [args.ketaplast, "run", os.path.join(ROOT, "configs/microcircuit.toml"), "--out", out,
                   "--threads", str(args.threads), "--set", f"network.scale={args.scale}"]
            if variant == "dc_norec":
                cmd += ["--set", "recording.spikes=false"]
                cmd += sum((["--set", f"populations.{p}.poisson_drive.mode=mean"] for p in POPS), [])
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            s = json.load(open(os.path.join(out, "summary.json")))
            stats = None
            if variant == "poisson":
                r = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "benchmarks/microcircuit_rates.py"), out],
                                   capture_output=True, text=True)
                stats = r.stdout
            results[variant] = {"summary": s, "rates_table": stats}
        t, m, e, p = s["timing"], s["memory"], s["engine"], s["profile"]
        print(f"== {variant}: {args.threads} threads, scale {args.scale}")
        print(f"build {t['build_s']:.1f} s, simulate {t['simulate_s']:.1f} s for {s['simulated_ms']:.0f} ms "
              f"(wall/simulated time {t['real_time_factor']:.1f}), peak {m['peak_rss_MB']:.0f} MB, "
              f"{m['synapse_count']:,} synapses, {m['bytes_per_synapse']:.2f} bytes/synapse")
        print(f"synaptic events {e['synaptic_events']:,} = {e['synaptic_events_per_s'] / 1e6:.1f} M/s "
              f"({e['synaptic_events_per_s'] / 1e6 / args.threads:.1f} M/s per core)")
        print("profile (s, per-thread mean): " + ", ".join(f"{k} {v:.2f}" for k, v in p.items() if k != "note"))
        if stats:
            print(stats)
    if args.out_json:
        json.dump(results, open(args.out_json, "w"), indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
