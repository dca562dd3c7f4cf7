"""report.html: one self-contained page (pictures embedded as base64 PNG, no scripts, no external style sheets)
that explains the experiment: its description and protocol from the config, the chain's links in the baseline
and the drug window side by side, the pictures, and the run's numbers with their units."""
from __future__ import annotations

import base64
import math
import os

import jinja2

from protocol_text import protocol_items
from quantities import summary_label
from windows import chain_links


def _num(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.3e}"
        if float(v).is_integer() and abs(v) < 1e15:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    if isinstance(v, list):
        return ", ".join(_num(x) for x in v)
    return str(v)


def _table(rows: list, columns: list, first: tuple | None = None) -> dict:
    """A table of dicts: columns are (summary key, header); `first` labels a key column of an object of objects."""
    header = ([first[1]] if first else []) + [h for _, h in columns]
    body = []
    for key, row in rows:
        body.append(([key] if first else []) + [_num(row.get(k)) for k, _ in columns])
    return {"header": header, "rows": body}


def _drug_rows(summary: dict, scale: float) -> dict:
    """Peak concentrations of each species, at their drug times for compressed runs."""
    when = "drug time" if scale > 1.0 else "time"
    header = ["species", "role", "given as", "peak plasma (ng/mL)", "peak plasma (µM)", f"at ({when}, min)",
              "peak free at the receptors (µM)", f"at ({when}, min)"]
    rows = []
    for d in summary.get("drugs", []):
        rows.append([d.get("agent", "?"), d.get("role", ""), d.get("source", ""),
                     _num(d.get("max_plasma_ng_per_mL")), _num(d.get("max_plasma_uM")),
                     _num(d.get("time_of_max_plasma_ms", 0.0) * scale / 60000.0),
                     _num(d.get("max_free_uM")), _num(d.get("time_of_max_free_ms", 0.0) * scale / 60000.0)])
    return {"header": header, "rows": rows}


def _chain(run, windows, clock):
    if windows is None:
        return None
    links = chain_links(run, windows)

    def span(w):
        return f"{clock.x(w[0]):.3g}–{clock.x(w[1]):.3g} {clock.label[clock.label.rfind('(') + 1:-1]}"

    rows = [[link.link, link.what, link.unit, _num(link.baseline), _num(link.drug), link.change]
            for link in links]
    note = ""
    if windows.excluded:
        note = ("The baseline leaves out " + ", ".join(span(e) for e in windows.excluded) +
                " (the ISN probe's current step).")
    return {"baseline": span(windows.baseline), "drug": span(windows.drug), "rows": rows, "note": note,
            "axis": clock.label}


def write_report(run, pictures: list, out_dir: str, note: str, windows, clock) -> str:
    s = run.summary
    config = run.config
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.dirname(os.path.abspath(__file__))),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True)
    figures = []
    for p in pictures:
        path = os.path.join(out_dir, p["file"])
        if not os.path.exists(path):  # never reference a picture that is not there
            continue
        with open(path, "rb") as f:
            figures.append(dict(p, data=base64.b64encode(f.read()).decode("ascii")))
    pops = s.get("populations", {})
    population_table = _table(sorted(pops.items(), key=lambda kv: [p.name for p in run.populations].index(kv[0])
                                     if run.population(kv[0]) else 0),
                              [(k, summary_label(k)) for k in ("model", "size", "spike_count", "mean_rate_Hz",
                                                               "synapses_in")], ("population", "population"))
    pool_keys = ("drug_blocked_fraction", "trapped_fraction", "open_fraction", "conducting_fraction", "current_pA")
    pools = _table([(f"{p.get('population')} / {p.get('receptor')}", p) for p in s.get("nmda_pools", [])],
                   [(k, summary_label(k)) for k in pool_keys], ("pool", "population / receptor pool"))
    pools_when = ""
    if s.get("nmda_pools"):
        pools_when = clock.text(s["nmda_pools"][0].get("t_ms", 0.0))
    response = _table([(f"{r.get('agent')}: {r.get('population')} / {r.get('receptor')}", r)
                       for r in s.get("concentration_response", [])],
                      [("conc_uM", "concentrations (µM)"), ("inhibition", "inhibition of the NMDA current"),
                       ("IC50_uM", summary_label("IC50_uM")), ("hill", summary_label("hill"))], ("pool", "pool"))
    timing = [(summary_label(k), _num(v)) for k, v in s.get("timing", {}).items() if not isinstance(v, dict)]
    memory = [(summary_label(k), _num(v)) for k, v in s.get("memory", {}).items() if not isinstance(v, dict)]
    run_rows = [("status", s.get("status", "not finished (no summary.json)")),
                ("config", s.get("config", "")), ("Ketaplast version", s.get("ketaplast_version", "")),
                ("seed", _num(s.get("seed"))), ("threads × MPI ranks", f"{_num(s.get('threads'))} × "
                                                                       f"{_num(s.get('ranks', 1))}"),
                ("time step (ms)", _num(s.get("dt_ms"))), ("simulated network time (ms)", _num(s.get("simulated_ms")))]
    isn = s.get("isn_probe")
    files = sorted(f for f in os.listdir(out_dir) if f.endswith((".pvd", ".vtp")))
    html = env.get_template("report.html.j2").render(
        name=run.name, directory=run.dir, note=note,
        experiment=os.path.splitext(os.path.basename(s.get("config", "")))[0] or run.name,
        config_path=s.get("config", "config.toml"),
        description=config.get("simulation", {}).get("description", ""),
        protocol=protocol_items(config, s), chain=_chain(run, windows, clock),
        figures=figures, populations=population_table, drugs=_drug_rows(s, run.drug_time_scale),
        pools=pools, pools_when=pools_when, response=response, isn=isn, run_rows=run_rows, timing=timing,
        memory=memory, files=files)
    path = os.path.join(out_dir, "report.html")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(html)
    os.replace(path + ".tmp", path)
    return path
