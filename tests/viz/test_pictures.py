"""The 2-D pictures and the report of ketaplast-viz (viz/python, docs/viz.md), checked against the run's own
files read here with h5py: what is drawn equals what was recorded, on axes that carry one quantity with its
unit, with legends outside the data and distinct colours; compressed runs are drawn in drug time; the report
labels its quantities and compares the baseline and drug windows.

Runs made by this build's ketaplast as CTest fixtures (tests/CMakeLists.txt), directory names from the
environment: KETAPLAST_VIZ_FIXTURE_DIR (teaching_small, 3 s, ketamine bath from 1.5 s), its siblings _cells
(single_neuron: one recorded neuron) and _compressed (pk_infusion: 60 min of drug time in 60 s, scale 60),
and _protocol (ketamine_week, 6 h). About 10 s in all.
"""
import base64
import json
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "viz", "python"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
from matplotlib.colors import to_hex  # noqa: E402

import charts  # noqa: E402
import cells  # noqa: E402
import week  # noqa: E402
from run_files import BadRun, load_run  # noqa: E402
from windows import chain_links, drug_windows, window_mean  # noqa: E402

BASE = os.environ.get("KETAPLAST_VIZ_FIXTURE_DIR", "")
RUN, CELLS, COMPRESSED, PROTOCOL = BASE, BASE + "_cells", BASE + "_compressed", BASE + "_protocol"
pytestmark = pytest.mark.skipif(not BASE, reason="KETAPLAST_VIZ_FIXTURE_DIR not set (run through ctest)")
UNIT_IN_TITLE = re.compile(r"\((µM|Hz|mV|nS|pA|ms|s|min|h|fraction, 0–1|fraction \(0–1\)|× baseline|Hz²|"
                           r"vesicles/ms per neuron|ng/mL|count)\)|^fraction \(0–1\)$|^ratio$|× baseline")


def data_lines(ax):
    """The plotted series of an axes: 2-D lines with a legend label (not shading, grids or reference lines)."""
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")
            and not line.get_label().startswith("threshold") and len(line.get_xdata()) > 1]


def check_axes(fig):
    """Every panel: a vertical axis title naming a unit, a legend outside the axes, distinct line colours."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        if not ax.get_visible() or not ax.has_data():
            continue
        assert UNIT_IN_TITLE.search(ax.get_ylabel().replace("\n", " ")), ax.get_ylabel()
        lines = data_lines(ax)
        colours = [to_hex(line.get_color()) for line in lines]
        assert len(colours) == len(set(colours)), f"{ax.get_title()}: lines share a colour {colours}"
        legend = ax.get_legend()
        if legend is not None:
            box, area = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
            assert box.x0 >= area.x1 - 1, f"{ax.get_title()}: the legend overlaps the data"
    bottom = [ax for ax in fig.axes if ax.get_xlabel()]
    assert bottom and all(re.search(r"\((ms|s|min|h|drug time, min)\)|\(h, |\(µM|\(nS|\(pA", ax.get_xlabel())
                          for ax in bottom), [ax.get_xlabel() for ax in bottom]


def test_story_draws_the_recorded_chain_in_its_order():
    run = load_run(RUN)
    fig, title, caption = charts.figure_story(run, drug_windows(run))
    check_axes(fig)
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert [t.split(" ")[1] for t in titles[:3]] == ["Dose:", "NMDA", "Firing"]
    # Panel 2: each pool's line is its recorded drug_blocked_fraction (a step per drug-clock tick).
    with h5py.File(os.path.join(RUN, "timeseries.h5")) as f:
        expected = {f"{pop}/{rec}": f[f"nmda/{pop}/{rec}/drug_blocked_fraction"][()]
                    for pop in f["nmda"] for rec in f[f"nmda/{pop}"]}
    drawn = {line.get_label(): line.get_ydata() for line in data_lines(fig.axes[1])}
    assert set(drawn) == set(expected)
    for name, values in expected.items():
        np.testing.assert_allclose(drawn[name][:-1], values)  # (the last value is held to the run's end)


def test_raster_rows_and_scale_bar():
    run = load_run(RUN)
    fig, _, _ = charts.figure_raster(run)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [p.name for p in run.populations]
    with h5py.File(os.path.join(RUN, "spikes.h5")) as f:
        total = sum(len(f[f"spikes/{p.name}/node_ids"]) for p in run.populations)
    shown = sum(len(c.get_offsets()) for c in ax.collections)
    assert shown == total  # 200 neurons: every row is shown
    bars = [t.get_text() for t in ax.texts if t.get_text().endswith("neurons")]
    assert bars and float(bars[0].split()[0]) > 0


def test_a_compressed_run_is_drawn_in_drug_time_with_network_time_on_top():
    run = load_run(COMPRESSED)
    assert run.drug_time_scale == 60.0
    fig, _, _ = charts.figure_group(run, "drugs")
    check_axes(fig)
    assert fig.axes[-1].get_xlabel() == "drug time (min)"
    assert fig.axes[0].get_xlim()[1] == pytest.approx(60.0)  # 60 s of network time = 60 min of drug time
    tops = [child for child in fig.axes[0].get_children() if type(child).__name__ == "SecondaryAxis"]
    assert tops and "network time (s)" in tops[0].get_xlabel()
    with h5py.File(os.path.join(COMPRESSED, "timeseries.h5")) as f:
        g = f["drugs/0_ketamine"]
        t_drug_min, free = g["drug_time_min"][()], g["free_uM"][()]
    line = next(line for line in data_lines(fig.axes[0]) if line.get_label() == "ketamine")
    np.testing.assert_allclose(line.get_xdata()[:-1], t_drug_min, rtol=1e-12)
    np.testing.assert_allclose(line.get_ydata()[:-1], free)
    # The infusion (0.5 mg/kg from 0 for 40 min): the free concentration peaks at its end, in drug time.
    assert line.get_xdata()[int(np.argmax(free))] == pytest.approx(40.0, abs=1.0)


def test_ketaplast_info_gives_drug_times_in_drug_time():
    out = subprocess.run([os.environ["KETAPLAST_BINARY"], "info", COMPRESSED], capture_output=True, text=True,
                         check=True).stdout
    assert "drug time  60 min" in out
    row = next(line for line in out.splitlines() if line.startswith("ketamine"))
    # species, role, source, max plasma uM, ng/mL, at, max free uM, at: the plasma peak at the end of the 40-min
    # infusion is at 40 min of drug time (0.67 min of network time).
    assert float(row.split()[-3]) == pytest.approx(40.0, abs=1.0)


def test_a_recorded_neuron_shows_its_membrane_potential_and_spikes():
    run = load_run(CELLS)
    (report,) = run.reports
    fig, _, _ = cells.figure_cells(run, report)
    check_axes(fig)
    v_axis = fig.axes[0]
    assert v_axis.get_ylabel() == "membrane potential (mV)"
    trace = next(line for line in v_axis.get_lines() if len(line.get_xdata()) > 100)
    with h5py.File(os.path.join(CELLS, "spikes.h5")) as f:
        spikes = f["spikes/neuron/timestamps"][()]
    np.testing.assert_allclose(trace.get_ydata(), report.variables["V_m_mV"][1][:, 0])
    marks = next(line for line in v_axis.get_lines() if line.get_label().startswith("spikes"))
    np.testing.assert_allclose(marks.get_xdata(), spikes)  # the run is 200 ms: the axis is in ms
    conductances = fig.axes[1]
    assert conductances.get_ylabel() == "conductance (nS)"
    assert {line.get_label() for line in data_lines(conductances)} == {"conductance (AMPA), neuron 0",
                                                                       "conductance (GABA_A), neuron 0"}


def test_the_windows_and_the_chain_agree_with_the_rates_file():
    run = load_run(RUN)
    w = drug_windows(run)
    assert w.baseline == pytest.approx((300.0, 1500.0))  # warm-up 20 % of the onset; the bath step at 1.5 s
    assert w.drug[1] == pytest.approx(run.simulated_ms)  # a bath stays at its peak to the end
    assert w.drug[1] - w.drug[0] == pytest.approx(w.baseline[1] - w.baseline[0])
    links = chain_links(run, w)
    assert [link.link for link in links][:1] == ["dose"]
    order = ["dose", "NMDA block", "firing", "gamma", "glutamate", "AMPA activation", "plasticity"]
    ranks = [order.index(link.link) for link in links]
    assert ranks == sorted(ranks)
    with h5py.File(os.path.join(RUN, "timeseries.h5")) as f:
        t, bin_ms = f["time_ms"][()], f.attrs["bin_ms"]
        pv = f["population_rate_Hz/PV"][()]
    inside = (t >= 300.0) & (t + bin_ms <= 1500.0)
    pv_link = next(link for link in links if link.what.endswith(": PV") and link.link == "firing")
    assert pv_link.baseline == pytest.approx(float(pv[inside].mean()))
    assert window_mean([0.0, 10.0], [1.0, 3.0], (0.0, 10.0)) == 1.0  # a tick at the window's end is outside


def test_the_protocol_picture_draws_the_slow_layer():
    run = load_run(PROTOCOL)
    fig, _, _ = week.figure_week(run)
    check_axes(fig)
    with h5py.File(os.path.join(PROTOCOL, "slow.h5")) as f:
        strength = f["slow/total_weight_relative"][()]
    line = next(line for line in fig.axes[3].get_lines() if line.get_label() == "summed E→E strength")
    np.testing.assert_allclose(line.get_ydata(), strength)


def test_the_protocol_report_describes_the_dose_schedule():
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, os.path.join(HERE, "..", "..", "viz", "python", "draw.py"), "report",
                        PROTOCOL, out], check=True, capture_output=True)
        html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    assert "ketamine: IV infusion 0.5 mg/kg over 40 min" in html
    assert "h of protocol time" in html
    assert "From the dose to the synapses" in html


def test_the_report_explains_the_experiment_with_units():
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, os.path.join(HERE, "..", "..", "viz", "python", "draw.py"), "report", RUN,
                        out], check=True, capture_output=True)
        html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
        text = re.sub(r'src="data:image/png;base64,[^"]*"', 'src=""', html)
        assert "The experiment" in text and "Network" in text and "ketamine in the bath: 0, 10 µM" in text
        assert "Baseline and drug, link by link" in text
        assert re.search(r'<th class="baseline">baseline<br>0\.3–1\.5 s</th>', text)
        assert re.search(r'<th class="drug">drug<br>1\.8–3 s</th>', text)
        assert "mean rate per neuron (Hz)" in text and "µM" in text
        for raw in ("uM", "mean_rate_Hz", "drug_blocked_fraction", "spike_count", "real_time_factor"):
            assert raw not in text, raw
        images = re.findall(r'src="data:image/png;base64,([^"]*)"', html)
        assert len(images) >= 6
        assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
        for link in re.findall(r'href="([^"]*)"', html):
            assert os.path.exists(os.path.join(out, link)), link
    # The populations table's numbers are summary.json's (a table that hid them would pass the label checks).
    with open(os.path.join(RUN, "summary.json")) as f:
        summary = json.load(f)
    for name, pop in summary["populations"].items():
        assert f"<td>{name}</td>" in html
        assert f">{pop['spike_count']:,}<" in html
        assert f">{pop['mean_rate_Hz']:.4g}<" in html


def test_a_directory_that_is_not_a_run_is_bad_input():
    with tempfile.TemporaryDirectory() as empty:
        with pytest.raises(BadRun, match="nodes.h5: missing"):
            load_run(empty)
        result = subprocess.run([sys.executable, os.path.join(HERE, "..", "..", "viz", "python", "draw.py"),
                                 "report", empty, os.path.join(empty, "viz")], capture_output=True, text=True)
        assert result.returncode == 2 and "nodes.h5: missing" in result.stderr
        assert not os.path.exists(os.path.join(empty, "viz"))
