"""The 2-D pictures of a run directory and its report.html (docs/viz.md), drawn with matplotlib's Agg backend:
no display needed. ketaplast-viz runs it with Debian's /usr/bin/python3 after it has written the ParaView files
and, where VTK can render, network.png:

    draw.py pictures RUN_DIR OUT_DIR [--edges FILE ...]
    draw.py report   RUN_DIR OUT_DIR [--edges FILE ...] [--note TEXT] [--network-caption TEXT]

Exit codes: 0 success, 2 bad input (not a run directory, a malformed file), 1 failure while drawing or writing.
"""
from __future__ import annotations

import argparse
import os
import sys

from run_files import BadRun, load_run


def draw(run, out_dir: str, network_caption: str | None) -> list:
    """Every picture the run's data allow, in the report's order; returns [{file, title, caption}]."""
    from cells import figure_cells
    from charts import figure_group, figure_raster, figure_rates, figure_story, figure_weights
    from plotting import save
    from week import figure_week
    from windows import drug_windows

    windows = drug_windows(run)
    pictures = []

    def add(file, made):
        fig, title, caption = made
        pictures.append({"file": save(fig, out_dir, file), "title": title, "caption": caption})

    if run.is_protocol:
        add("week.png", figure_week(run))
    elif run.find("drugs", "free_uM") and run.rates_Hz:
        add("story.png", figure_story(run, windows))
    if network_caption is not None and os.path.exists(os.path.join(out_dir, "network.png")):
        pictures.append({"file": "network.png", "title": "The network in 3D", "caption": network_caption})
    if not run.is_protocol:
        if run.has_spikes and any(len(p.spike_ids) for p in run.populations):
            add("raster.png", figure_raster(run))
        if run.rates_Hz and len(run.rate_time_ms):
            add("rates.png", figure_rates(run, windows))
        for report in run.reports:
            add(f"cells_{report.population}.png", figure_cells(run, report))
    # One figure per group of timeseries.h5; in a protocol only the drug and NMDA series are in protocol time.
    tops = []
    for s in run.series:
        if s.top not in tops and (not run.is_protocol or s.top in ("drugs", "nmda")):
            tops.append(s.top)
    for top in tops:
        if not run.is_protocol:
            add(f"{top}.png", figure_group(run, top, windows))
    largest = sorted((p for p in run.projections if p.frames and len(p.frames[0][2])),
                     key=lambda p: -len(p.frames[0][2]))[:8]
    for p in largest:
        add(f"weights_{p.name}.png", figure_weights(run, p))
    return pictures


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(prog="ketaplast-viz (draw.py)")
    parser.add_argument("command", choices=["pictures", "report"])
    parser.add_argument("run_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--edges", nargs="*", default=[])
    parser.add_argument("--note", default="")
    parser.add_argument("--network-caption", default=None)
    args = parser.parse_args(argv)
    try:
        run = load_run(args.run_dir, args.edges)
    except BadRun as e:
        print(f"ketaplast-viz: error: {e}", file=sys.stderr)
        return 2
    try:
        os.makedirs(args.out_dir, exist_ok=True)
        pictures = draw(run, args.out_dir, args.network_caption)
        drawn = sum(1 for p in pictures if p["file"] != "network.png")
        print(f"ketaplast-viz: wrote {drawn} 2-D pictures (PNG) to {args.out_dir}")
        if args.command == "report":
            from plotting import Clock
            from report import write_report
            from windows import drug_windows
            path = write_report(run, pictures, args.out_dir, args.note, drug_windows(run), Clock.of(run))
            print(f"ketaplast-viz: wrote {path}")
    except BadRun as e:
        print(f"ketaplast-viz: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 -- any failure while drawing is exit code 1, with its reason
        print(f"ketaplast-viz: failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
