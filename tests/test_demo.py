"""``tsfilm demo``: its helpers, and (slow) the quick demo's table, figures, audio and page."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tsfilm.cli import main
from tsfilm.demo import (
    PIANO_PIECES,
    RATIO,
    DemoSettings,
    _above,
    _excerpt,
    _piano_split,
    _spread,
    _sr_sentence,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PRETRAINED = {"speech": "tfilm pretrained (speech-r4)", "piano": "tfilm pretrained (piano-r4)"}


# ------------------------------------------------------------------------------ helpers
def test_piano_split_keeps_the_pretrained_models_test_pieces_apart():
    pieces = [f"p{i}" for i in range(PIANO_PIECES)]
    train, test = _piano_split(pieces)
    assert test == [1, 5, 9, 13, 17, 21]
    assert sorted(train + test) == list(range(PIANO_PIECES))
    # A piece the card lists among the training or validation pieces is never a test piece.
    card = (
        "# piano-r4\n- Training: pieces p0, p5, p2; 503 s of audio,\n- Validation (x): piece p9;\n"
    )
    train, test = _piano_split(pieces, card)
    assert test == [1, 13, 17, 21] and 5 in train and 9 in train


def test_spread_picks_evenly_from_first_to_last():
    assert _spread([1, 5, 9, 13, 17, 21], 2) == [1, 21]
    assert _spread([1, 5, 9], None) == [1, 5, 9] == _spread([1, 5, 9], 7)


def test_excerpt_is_the_loudest_stretch_of_the_loudest_signal():
    quiet, loud = np.full(8000, 0.01), np.full(40000, 0.01)
    loud[20000:24000] = 1.0
    index, span = _excerpt([quiet, loud], 8000, 1.0)
    assert index == 1 and span.stop - span.start == 8000 and span.start % RATIO == 0
    assert span.start <= 20000 and 24000 <= span.stop
    index, span = _excerpt([quiet * 100], 8000, 4.0)  # shorter than the excerpt: all of it
    assert (index, span) == (0, slice(0, 8000))


def test_sr_sentence_follows_the_numbers():
    scores = {
        "spline": (13.1, 4.15),
        "conv": (13.5, 2.5),
        "tfilm": (13.2, 2.4),
        "tfilm pretrained (speech-r4)": (14.3, 2.23),
    }
    sentence = _sr_sentence("speech", "a voice it never heard", scores)
    assert sentence.startswith("Speech: on a voice it never heard, the pretrained model speech-r4")
    assert "1.2 dB above the cubic spline" in sentence and "0.54x the spline's" in sentence
    assert "2-8 kHz band" in sentence and "closer to the original's" in sentence
    assert "0.1 dB above the spline and 0.3 dB below Conv" in sentence
    scores["tfilm pretrained (speech-r4)"] = (12.0, 5.0)
    sentence = _sr_sentence("speech", "x", scores)
    assert "1.1 dB below the cubic spline" in sentence and "further from" in sentence
    assert _above(1.0, 1.04) == "level with"


def test_settings_full_uses_the_pretrained_models_test_sets():
    full, quick = DemoSettings.full(), DemoSettings.quick()
    assert full.speech_test_files == 120 and full.piano_test_pieces is None
    assert quick.sr_chunks > 1 and quick.sr_seconds < full.sr_seconds


# ------------------------------------------------------------------- the quick demo
@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    return out


def _rows(report: Path) -> list[dict[str, str]]:
    with open(report / "results.csv") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_table_has_every_part(report):
    rows = _rows(report)
    parts = {(r["data"], r["model"]) for r in rows}
    expected = {
        ("speech", "spline"),
        ("speech", "conv"),
        ("speech", "tfilm"),
        ("speech", PRETRAINED["speech"]),
        ("piano", "spline"),
        ("piano", "conv"),
        ("piano", "tfilm"),
        ("piano", PRETRAINED["piano"]),
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
    # The shipped models beat the spline on data they never saw, as their cards say.
    for data, name in PRETRAINED.items():
        scores = {
            r["model"]: (float(r["value"]), float(r["value 2"])) for r in rows if r["data"] == data
        }
        assert scores[name][0] > scores["spline"][0] and scores[name][1] < scores["spline"][1]


@pytest.mark.slow
def test_the_page_says_what_the_numbers_mean(report):
    rows = _rows(report)
    page = (report / "index.html").read_text()
    assert "What the numbers mean" in page
    notes = re.findall(r"<p>((?:Speech|Piano|Retail|IMDB):.*?)</p>", page)
    assert [n.split(":")[0] for n in notes] == ["Speech", "Piano", "Retail", "IMDB"]
    for data, name in PRETRAINED.items():
        scores = {r["model"]: float(r["value"]) for r in rows if r["data"] == data}
        gap = scores[name] - scores["spline"]
        note = next(n for n in notes if n.startswith(data.capitalize()))
        assert f"{abs(gap):.1f} dB {'above' if gap > 0 else 'below'} the cubic spline" in note


@pytest.mark.slow
def test_learning_curves_show_the_whole_training(report):
    histories = json.loads((report / "learning_curves.json").read_text())
    assert set(histories) == {"speech", "piano", "imdb"}
    quick = DemoSettings.quick()
    for data in ("speech", "piano"):
        assert set(histories[data]) == {"conv (trained here)", "tfilm (trained here)"}
        for history in histories[data].values():
            # At least one point per share of the budget, numbered on from one fit to the next.
            assert len(history) >= quick.sr_chunks
            assert [e["epoch"] for e in history] == list(range(1, len(history) + 1))
            trained = sum(e["seconds"] for e in history)
            assert 0.8 * quick.sr_seconds < trained < 2 * quick.sr_seconds
    for history in histories["imdb"].values():
        assert [e["epoch"] for e in history] == list(range(1, quick.text_epochs + 1))


@pytest.mark.slow
def test_every_file_the_page_references_exists(report):
    page = (report / "index.html").read_text()
    refs = re.findall(r'src="([^"]+)"', page)
    figures = {
        f"{d}_{kind}.png"
        for d in ("speech", "piano")
        for kind in ("spectrograms", "learning_curves")
    }
    assert figures | {"retail_imputation.png", "imdb_learning_curves.png"} <= set(refs)
    sounds = {
        f"{d}_{k}.wav"
        for d in ("speech", "piano")
        for k in ("low", "spline", "conv", "tfilm_pretrained", "original")
    }
    assert sounds <= set(refs)
    for ref in refs:
        path = report / ref
        assert path.is_file() and path.stat().st_size > 1000, ref
        if ref.endswith(".png"):
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if ref.endswith(".wav"):
            assert path.read_bytes()[:4] == b"RIFF"


@pytest.mark.slow
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
