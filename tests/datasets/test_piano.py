"""Tests for tsfilm.datasets.piano on tiny slices (two pieces, a few seconds each)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsfilm.datasets import piano
from tsfilm.datasets.piano import DEFAULT_SOUNDFONT, PEAK, load_piano

RATE = 16000
SLICE = {"composers": ("bach", "mozart"), "max_seconds": 5}
# The pieces that SLICE selects with n_pieces=2: the first file of each composer.
SLICE_PIECES = ["bach/bwv1.6.mxl", "mozart/k155/movement1.mxl"]


def _renderer_missing() -> str | None:
    for module, fix in [
        ("music21", "pip install music21"),
        ("pretty_midi", "pip install pretty_midi"),
    ]:
        if importlib.util.find_spec(module) is None:
            return fix
    try:
        import fluidsynth  # noqa: F401
    except ImportError:
        return "pip install pyfluidsynth; apt-get install fluidsynth"
    if not DEFAULT_SOUNDFONT.is_file():
        return "apt-get install fluid-soundfont-gm"
    return None


requires_music21 = pytest.mark.skipif(
    importlib.util.find_spec("music21") is None, reason="pip install music21"
)
requires_renderer = pytest.mark.skipif(
    _renderer_missing() is not None, reason=str(_renderer_missing())
)


def _midi_bytes(program: int = 40, seconds: float = 3.0) -> bytes:
    """A small MIDI file: one instrument repeating middle C twice a second."""
    import pretty_midi

    music = pretty_midi.PrettyMIDI()
    instrument = pretty_midi.Instrument(program=program)
    for start in np.arange(0.0, seconds, 0.5):
        instrument.notes.append(
            pretty_midi.Note(velocity=100, pitch=60, start=float(start), end=float(start) + 0.4)
        )
    music.instruments.append(instrument)
    buffer = io.BytesIO()
    music.write(buffer)
    return buffer.getvalue()


def _fake_scores(monkeypatch, outcomes: dict[str, object]) -> list[str]:
    """Replace the music21 step: each piece's MIDI bytes, or an exception to raise."""
    asked: list[str] = []

    def midi(self, score, timeout, max_seconds=None):
        piece = Path(score).relative_to(piano._corpus_root()).as_posix()
        asked.append(piece)
        outcome = outcomes[piece]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(piano._ScoreWorker, "midi", midi)
    return asked


@pytest.fixture(scope="module")
def piano_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("piano-cache")


@pytest.fixture(scope="module")
def small(piano_cache):
    if _renderer_missing():
        pytest.skip(str(_renderer_missing()))
    return load_piano(2, **SLICE, cache_dir=piano_cache)


@requires_renderer
def test_small_slice_shapes_dtype_rate_and_level(small):
    assert small.rate == RATE
    assert small.piece.tolist() == SLICE_PIECES
    assert small.composer.tolist() == ["bach", "mozart"]
    assert small.skipped.tolist() == []
    assert len(small.signals) == 2
    for signal in small.signals:
        assert signal.dtype == np.float32 and signal.ndim == 1
        # Both pieces last longer than the cap, so each is cut exactly there.
        assert signal.shape == (5 * RATE,)
        assert np.abs(signal).max() == pytest.approx(PEAK, abs=1e-6)
        # Music, not a click: sound throughout, not just a loud first note.
        rms_per_second = np.sqrt((signal.reshape(5, RATE) ** 2).mean(axis=1))
        assert (rms_per_second > 0.01).all()
    assert "program 0" in small.description and "16000 Hz" in small.description


@requires_renderer
def test_second_call_reads_the_cache_without_rendering(small, piano_cache, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("rendered instead of reading the cache")

    monkeypatch.setattr(piano._ScoreWorker, "_start", refuse)
    monkeypatch.setattr(piano._ScoreWorker, "midi", refuse)
    monkeypatch.setattr(piano._Renderer, "render", refuse)
    again = load_piano(2, **SLICE, cache_dir=piano_cache)
    assert again.piece.tolist() == small.piece.tolist()
    for a, b in zip(again.signals, small.signals, strict=True):
        np.testing.assert_array_equal(a, b)
    # One entry per piece, so a larger selection reuses the pieces already rendered.
    assert len(list(piano_cache.glob("piano-*.npz"))) == 2


@requires_renderer
def test_pieces_are_cached_one_by_one(small, piano_cache, monkeypatch):
    # The first Bach piece is cached; only the new one may be rendered.
    asked = _fake_scores(monkeypatch, {"bach/bwv99.6.mxl": _midi_bytes()})
    data = load_piano(2, composers="bach", max_seconds=5, cache_dir=piano_cache)
    assert asked == ["bach/bwv99.6.mxl"]
    assert data.piece.tolist() == ["bach/bwv1.6.mxl", "bach/bwv99.6.mxl"]
    np.testing.assert_array_equal(data.signals[0], small.signals[0])


@requires_renderer
def test_broken_piece_is_skipped_with_a_warning_and_remembered(tmp_path, monkeypatch):
    broken = piano._SkipPiece("music21 failed: ValueError: no parts")
    asked = _fake_scores(monkeypatch, {SLICE_PIECES[0]: broken, SLICE_PIECES[1]: _midi_bytes()})
    with pytest.warns(UserWarning, match=r"Skipped piano piece 'bach/bwv1\.6\.mxl'.*no parts"):
        data = load_piano(2, **SLICE, cache_dir=tmp_path)
    assert data.piece.tolist() == [SLICE_PIECES[1]]
    assert data.composer.tolist() == ["mozart"]
    assert data.skipped.tolist() == [SLICE_PIECES[0]]
    assert len(data.signals) == 1
    # The failure is remembered: the next call warns again without parsing anything.
    with pytest.warns(UserWarning, match="remembered from an earlier call"):
        again = load_piano(2, **SLICE, cache_dir=tmp_path)
    assert asked == SLICE_PIECES
    assert again.skipped.tolist() == [SLICE_PIECES[0]]


@requires_renderer
def test_timed_out_piece_is_retried_on_the_next_call(tmp_path, monkeypatch):
    late = piano._SkipPiece("music21 did not finish within timeout=30 s", lasting=False)
    asked = _fake_scores(monkeypatch, {SLICE_PIECES[0]: late, SLICE_PIECES[1]: _midi_bytes()})
    for _ in range(2):
        with pytest.warns(UserWarning, match="did not finish"):
            load_piano(2, **SLICE, cache_dir=tmp_path)
    assert asked == [SLICE_PIECES[0], SLICE_PIECES[1], SLICE_PIECES[0]]


@requires_renderer
def test_midi_rejected_by_pretty_midi_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setenv("TSFILM_CACHE_DIR", str(tmp_path))
    _fake_scores(monkeypatch, {SLICE_PIECES[0]: b"not a MIDI file", SLICE_PIECES[1]: _midi_bytes()})
    with pytest.warns(UserWarning, match=r"bwv1\.6\.mxl'.*pretty_midi rejected"):
        data = load_piano(2, **SLICE, cache=False)
    assert data.skipped.tolist() == [SLICE_PIECES[0]]
    assert not list(tmp_path.iterdir())  # cache=False writes nothing


@requires_renderer
def test_no_renderable_piece_raises(monkeypatch):
    broken = piano._SkipPiece("music21 failed: ValueError: no parts")
    _fake_scores(monkeypatch, dict.fromkeys(SLICE_PIECES, broken))
    with (
        pytest.warns(UserWarning, match="Skipped piano piece"),
        pytest.raises(RuntimeError, match="None of the 2 selected pieces"),
    ):
        load_piano(2, **SLICE, cache=False)


@requires_renderer
def test_every_instrument_plays_the_piano_and_the_cap_holds():
    renderer = piano._Renderer(DEFAULT_SOUNDFONT, RATE)
    violin = renderer.render(_midi_bytes(program=40, seconds=4.0), max_seconds=2.0)
    grand = renderer.render(_midi_bytes(program=0, seconds=4.0), max_seconds=2.0)
    assert violin.shape == (2 * RATE,) and violin.dtype == np.float32
    np.testing.assert_array_equal(violin, grand)
    # A fresh synthesizer per piece: the same piece sounds the same after another one.
    renderer.render(_midi_bytes(program=0, seconds=1.0), max_seconds=None)
    np.testing.assert_array_equal(renderer.render(_midi_bytes(0, 4.0), 2.0), grand)


@requires_renderer
def test_hanging_score_is_killed_and_the_worker_replaced(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs a named pipe (POSIX)")
    # Reading a named pipe with no writer blocks forever, like a parser stuck in a loop.
    hanging = tmp_path / "hangs.mxl"
    os.mkfifo(hanging)
    with piano._ScoreWorker() as worker:
        with pytest.raises(piano._SkipPiece, match="did not finish within timeout=1 s"):
            worker.midi(hanging, timeout=1.0)
        assert worker._process is None
        score = piano._corpus_root() / SLICE_PIECES[0]
        midi = worker.midi(score, timeout=60.0, max_seconds=2.0)
        assert midi[:4] == b"MThd"
        with pytest.raises(piano._SkipPiece, match="music21 failed"):
            worker.midi(tmp_path / "absent.mxl", timeout=60.0)


@requires_music21
def test_missing_soundfont_names_the_debian_packages(tmp_path, monkeypatch):
    monkeypatch.setattr(piano, "DEFAULT_SOUNDFONT", tmp_path / "FluidR3_GM.sf2")
    with pytest.raises(FileNotFoundError, match="apt-get install fluidsynth fluid-soundfont-gm"):
        load_piano(2, **SLICE, cache_dir=tmp_path)


@requires_music21
def test_missing_music21_names_the_pip_packages(monkeypatch):
    def absent(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", absent)
    with pytest.raises(ModuleNotFoundError, match="pip install music21 pretty_midi pyfluidsynth"):
        load_piano(2, **SLICE, cache=False)


@requires_renderer
def test_missing_pretty_midi_names_the_pip_packages(monkeypatch):
    monkeypatch.setitem(sys.modules, "pretty_midi", None)
    with pytest.raises(ImportError, match="pip install music21 pretty_midi pyfluidsynth"):
        load_piano(2, **SLICE, cache=False)


@requires_music21
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_pieces": 0}, r"'n_pieces' .* must be an int in the range \[1, inf\)"),
        ({"rate": 4000}, r"'rate' .* must be an int in the range \[8000, 96000\]"),
        ({"rate": 16000.0}, "'rate' parameter of load_piano must be an int"),
        ({"max_seconds": -1.0}, r"'max_seconds' .* must be a float in the range \(0.0, inf\)"),
        ({"timeout": 0}, r"'timeout' .* must be a float in the range \(0.0, inf\)"),
        ({"composers": ()}, "composers is empty"),
        ({"composers": ("bach", "bach")}, "composers has duplicates"),
        ({"composers": ("nobody",)}, r"No scores for \['nobody'\].*'bach'"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_piano(**{"n_pieces": 2, **kwargs})


def test_corpus_listing_keeps_one_format_per_work_and_no_analyses(tmp_path):
    for name in [
        "bach/bwv1.krn",
        "bach/bwv1.mxl",
        "bach/bwv2.krn",
        "bach/riemenschneider001.rntxt",
        "beethoven/opus18no1/movement1.krn",
        "beethoven/opus18no1/movement1.XML",
        "_metadataCache/core.json",
        "demos/readme.txt",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert piano._corpus_scores(tmp_path) == {
        "bach": ["bach/bwv1.mxl", "bach/bwv2.krn"],
        "beethoven": ["beethoven/opus18no1/movement1.XML"],
    }


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=4),
    n_pieces=st.one_of(st.none(), st.integers(1, 60)),
)
def test_selection_shares_pieces_evenly(sizes, n_pieces):
    scores = {f"c{i}": [f"c{i}/{j:02d}.mxl" for j in range(n)] for i, n in enumerate(sizes)}
    composers = list(scores)
    chosen = piano._select(scores, composers, n_pieces)
    total = sum(sizes) if n_pieces is None else min(n_pieces, sum(sizes))
    assert len(chosen) == len(set(chosen)) == total
    assert chosen == piano._select(scores, composers, n_pieces)
    counts = {c: sum(p.startswith(f"{c}/") for p in chosen) for c in composers}
    # Composers that still had pieces to give got shares within one of each other.
    open_counts = [counts[c] for c in composers if counts[c] < len(scores[c])]
    if open_counts:
        assert max(counts.values()) - min(open_counts) <= 1
    for c in composers:
        mine = [p for p in chosen if p.startswith(f"{c}/")]
        assert mine == sorted(mine)
        if counts[c] >= 2:  # evenly spaced: the first and the last file are in
            assert mine[0] == scores[c][0] and mine[-1] == scores[c][-1]
