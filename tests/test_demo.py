"""``tsfilm demo --quick``: the report's table, figures, audio and html page."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tsfilm.cli import main

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    return out


def test_table_has_every_part(report):
    rows = list(csv.DictReader(open(report / "results.csv")))
    parts = {(r["data"], r["model"]) for r in rows}
    expected = {
        ("speech", "spline"),
        ("speech", "conv"),
        ("speech", "tfilm"),
        ("piano", "spline"),
        ("piano", "tfilm"),
        ("retail", "spline"),
        ("retail", "tfilm"),
        ("imdb", "smallcnn"),
        ("imdb", "tfilm"),
    }
    assert expected <= parts
    for r in rows:
        assert float(r["value"]) == float(r["value"])  # no NaN
    markdown = (report / "results.md").read_text()
    assert markdown.startswith("| task |") and markdown.count("\n") >= len(rows) + 1


def test_every_file_the_page_references_exists(report):
    page = (report / "index.html").read_text()
    refs = re.findall(r'src="([^"]+)"', page)
    assert {"speech_spectrograms.png", "retail_imputation.png", "imdb_learning_curves.png"} <= set(
        refs
    )
    assert any(r.endswith(".wav") for r in refs)
    for ref in refs:
        path = report / ref
        assert path.is_file() and path.stat().st_size > 1000, ref
        if ref.endswith(".png"):
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if ref.endswith(".wav"):
            assert path.read_bytes()[:4] == b"RIFF"


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package chromium)")
def test_images_load_in_headless_chromium(report):
    # A copy of the page that writes, once loaded, whether every image decoded.
    probe = report / "probe.html"
    script = (
        "<script>window.addEventListener('load', () => { const bad = Array.from(document.images)"
        ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);"
        "document.title = bad.length ? 'broken ' + bad.join(' ') : 'images ok ' + "
        "document.images.length; });</script>"
    )
    probe.write_text((report / "index.html").read_text().replace("</body>", script + "</body>"))
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={report / 'chromium-profile'}",
            "--allow-file-access-from-files",
            "--virtual-time-budget=10000",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    title = re.search(r"<title>(.*?)</title>", result.stdout)
    assert title is not None, result.stderr[-2000:]
    assert title.group(1).startswith("images ok"), title.group(1)
    assert int(title.group(1).split()[-1]) >= 3
