"""report.html in a real browser: ketaplast-viz writes it without any X display (2-D pictures by matplotlib's Agg
backend; the 3-D picture skipped with a message naming DISPLAY and xvfb-run), then Debian's headless Chromium
opens it from the disk. The page must load without a console message (no script error, no refused resource)
and its screenshot must show the page: text, tables and the embedded story picture in the population colours.

Environment (tests/CMakeLists.txt): KETAPLAST_VIZ_BINARY, KETAPLAST_VIZ_FIXTURE_DIR (teaching_small, 3 s).
About 5 s (Chromium's start dominates).
"""
import os
import subprocess
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
RUN = os.environ.get("KETAPLAST_VIZ_FIXTURE_DIR", "")
VIZ = os.environ.get("KETAPLAST_VIZ_BINARY", "")
# The flags known to work here as root (no sandbox, no GPU, no network services: this machine has no network
# and Chromium's background connections would be refused).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0"]


@pytest.mark.skipif(not RUN or not VIZ, reason="run through ctest (fixture and binary paths)")
def test_the_report_renders_in_headless_chromium_without_errors():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "viz")
        env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
        made = subprocess.run([VIZ, "report", RUN, "--out", out], env=env, capture_output=True, text=True,
                              timeout=300)
        assert made.returncode == 0, made.stdout + made.stderr
        assert "DISPLAY" in made.stdout and "xvfb-run" in made.stdout
        assert not os.path.exists(os.path.join(out, "network.png"))
        assert os.path.exists(os.path.join(out, "network.pvd"))

        shot = os.path.join(tmp, "shot.png")
        browser = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={os.path.join(tmp, 'profile')}",
                                  f"--screenshot={shot}", "--window-size=1200,2400",
                                  "file://" + os.path.join(out, "report.html")],
                                 capture_output=True, text=True, timeout=120)
        assert browser.returncode == 0, browser.stderr[-2000:]
        console = [line for line in browser.stderr.splitlines() if ":CONSOLE" in line]
        assert console == [], "\n".join(console)

        image = matplotlib.image.imread(shot)[:, :, :3]  # floats in [0, 1]
        assert image.shape[:2] == (2400, 1200)
        pixels = (np.round(image * 255)).astype(int).reshape(-1, 3)
        non_white = np.mean(np.any(pixels < 245, axis=1))
        # Text and tables cover a few per cent of the page, the pictures more; a blank page is ~0.
        assert 0.05 < non_white < 0.9, non_white
        assert len(np.unique(pixels[:, 0] * 65536 + pixels[:, 1] * 256 + pixels[:, 2])) > 200
        # The story picture is on screen: the PV population's colour (Dark2 #1b9e77) in its lines. 30 levels per
        # channel accept antialiased line cores without matching the other population's #d95f02.
        pv = np.array([0x1B, 0x9E, 0x77])
        assert np.sum(np.all(np.abs(pixels - pv) <= 30, axis=1)) > 300
