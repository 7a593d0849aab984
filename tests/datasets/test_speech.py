"""Tests for tsfilm.datasets.speech on small slices of the installed prompts."""

from __future__ import annotations

import importlib.util
import math
import sys

import numpy as np
import pytest

pytest.importorskip("soundfile")

from tsfilm.datasets import speech
from tsfilm.datasets.speech import (
    DEBIAN_SOUNDS_DIR,
    SPEECH_VOICES,
    load_speech,
    read_g722,
)
from tsfilm.io.audio import write_audio

VOICE = "it_IT_m_Carlo"

requires_voice = pytest.mark.skipif(
    not (DEBIAN_SOUNDS_DIR / VOICE).is_dir(),
    reason=f"apt-get install {SPEECH_VOICES[VOICE].package}",
)
requires_g722 = pytest.mark.skipif(
    importlib.util.find_spec("G722") is None, reason='pip install "tsfilm[data]"'
)


def _voice_files(voice: str) -> list[str]:
    """Every prompt of a voice except the silences, sorted, as the loader names them."""
    folder = DEBIAN_SOUNDS_DIR / voice
    return sorted(
        p.relative_to(DEBIAN_SOUNDS_DIR).as_posix()
        for p in folder.rglob("*.g722")
        if "silence" not in p.relative_to(folder).parts
    )


def _forbid_decoding(monkeypatch):
    def refuse(path):
        raise AssertionError(f"decoded {path} instead of reading the cache")

    monkeypatch.setattr(speech, "read_g722", refuse)


def test_voice_metadata():
    assert list(SPEECH_VOICES) == [
        "en_US_f_Allison",
        "es_MX_f_Allison",
        "fr_CA_f_June",
        "it_IT_m_Carlo",
        "ru_RU_f_IvrvoiceRU",
    ]
    assert {v.gender for v in SPEECH_VOICES.values()} == {"female", "male"}
    assert SPEECH_VOICES["it_IT_m_Carlo"].gender == "male"
    assert SPEECH_VOICES["es_MX_f_Allison"].speaker == SPEECH_VOICES["en_US_f_Allison"].speaker
    assert SPEECH_VOICES["fr_CA_f_June"].package == "asterisk-core-sounds-fr-g722"


@requires_g722
@requires_voice
def test_small_slice_shapes_dtype_and_range(tmp_path):
    data = load_speech(VOICE, max_files=3, cache_dir=tmp_path)
    assert data.rate == 16000
    assert len(data.signals) == 3
    for signal in data.signals:
        assert signal.dtype == np.float32 and signal.ndim == 1
        assert 0 < np.abs(signal).max() <= 1.0
    assert data.voice.tolist() == [VOICE] * 3
    assert data.gender.tolist() == ["male"] * 3
    assert data.language.tolist() == ["it-IT"] * 3
    # Evenly spaced over the sorted prompts: the first and the last are always in.
    files = _voice_files(VOICE)
    assert data.file.tolist() == [files[0], files[round((len(files) - 1) / 2)], files[-1]]
    # A G.722 file holds two samples per byte.
    sizes = [(DEBIAN_SOUNDS_DIR / f).stat().st_size for f in data.file]
    assert [len(s) for s in data.signals] == [2 * s for s in sizes]


@requires_g722
@requires_voice
def test_order_is_deterministic_and_follows_requested_voices(tmp_path):
    voices = [VOICE, "ru_RU_f_IvrvoiceRU"]
    if not (DEBIAN_SOUNDS_DIR / voices[1]).is_dir():
        pytest.skip(f"apt-get install {SPEECH_VOICES[voices[1]].package}")
    first = load_speech(voices, max_files=2, cache=False)
    second = load_speech(voices, max_files=2, cache=False)
    assert first.voice.tolist() == [VOICE, VOICE, voices[1], voices[1]]
    assert first.gender.tolist() == ["male", "male", "female", "female"]
    assert first.file.tolist() == second.file.tolist()
    for a, b in zip(first.signals, second.signals, strict=True):
        np.testing.assert_array_equal(a, b)
    # The real voice folders only: no prompt is read twice through an alias link.
    assert all(f.split("/")[0] in voices for f in first.file)


@requires_g722
@requires_voice
def test_min_seconds_drops_short_prompts(tmp_path):
    data = load_speech(VOICE, max_files=4, min_seconds=3.0, cache=False)
    assert len(data.signals) == 4
    assert min(len(s) for s in data.signals) >= 3.0 * 16000
    with pytest.raises(
        ValueError, match=r"'min_seconds' .* must be a float in the range \[0.0, inf\)"
    ):
        load_speech(VOICE, min_seconds=-1.0)


@requires_g722
@requires_voice
def test_other_rate_is_resampled(tmp_path):
    native = load_speech(VOICE, max_files=2, cache=False)
    low = load_speech(VOICE, max_files=2, rate=8000, cache_dir=tmp_path)
    assert low.rate == 8000
    assert [len(s) for s in low.signals] == [math.ceil(len(s) / 2) for s in native.signals]
    assert all(s.dtype == np.float32 and np.abs(s).max() <= 1.0 for s in low.signals)


@requires_g722
@requires_voice
def test_second_call_reads_the_cache(tmp_path, monkeypatch):
    first = load_speech(VOICE, max_files=3, cache_dir=tmp_path)
    entries = list(tmp_path.glob("speech-*.npz"))
    assert len(entries) == 1
    assert not list(tmp_path.glob("*.tmp"))

    _forbid_decoding(monkeypatch)
    second = load_speech(VOICE, max_files=3, cache_dir=tmp_path)
    assert second.file.tolist() == first.file.tolist()
    for a, b in zip(first.signals, second.signals, strict=True):
        np.testing.assert_array_equal(a, b)
        assert b.dtype == np.float32
    # Other parameters are other entries, so they need the decoder again.
    with pytest.raises(AssertionError, match="instead of reading the cache"):
        load_speech(VOICE, max_files=4, cache_dir=tmp_path)
    with pytest.raises(AssertionError, match="instead of reading the cache"):
        load_speech(VOICE, max_files=3, cache=False)


@requires_g722
@requires_voice
def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TSFILM_CACHE_DIR", str(tmp_path))
    load_speech(VOICE, max_files=2)
    assert len(list((tmp_path / "datasets").glob("speech-*.npz"))) == 1


@requires_g722
@requires_voice
def test_damaged_cache_entry_is_rebuilt(tmp_path):
    first = load_speech(VOICE, max_files=2, cache_dir=tmp_path)
    (entry,) = tmp_path.glob("speech-*.npz")
    entry.write_bytes(b"not a zip file")
    again = load_speech(VOICE, max_files=2, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.signals[0], first.signals[0])
    assert entry.stat().st_size > 100


@requires_g722
@requires_voice
def test_decoder_state_does_not_leak_between_files():
    files = _voice_files(VOICE)
    a = read_g722(DEBIAN_SOUNDS_DIR / files[0])
    read_g722(DEBIAN_SOUNDS_DIR / files[1])
    np.testing.assert_array_equal(read_g722(DEBIAN_SOUNDS_DIR / files[0]), a)


def test_missing_voice_names_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(speech, "DEBIAN_SOUNDS_DIR", tmp_path / "no-sounds")
    with pytest.raises(FileNotFoundError, match="apt-get install asterisk-core-sounds-fr-g722"):
        load_speech(["fr_CA_f_June"], cache_dir=tmp_path)


def test_missing_g722_package_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "G722", None)
    path = tmp_path / "x.g722"
    path.write_bytes(bytes(8))
    with pytest.raises(ImportError, match=r'pip install "tsfilm\[data\]"'):
        read_g722(path)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"voices": "en"}, r"Unknown voice\(s\) \['en'\]"),
        ({"voices": []}, "voices is empty"),
        ({"rate": 0}, r"'rate' parameter of load_speech must be an int in the range \[1, inf\)"),
        ({"max_files": 0}, "'max_files' parameter of load_speech must be an int"),
        ({"min_seconds": float("nan")}, "'min_seconds' parameter of load_speech must be a float"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_speech(**kwargs)


@pytest.fixture
def recordings(tmp_path, rng):
    """A VCTK-like folder: two speakers (one with a sub-folder), a top-level file."""
    root = tmp_path / "corpus"
    (root / "p225").mkdir(parents=True)
    (root / "p226" / "takes").mkdir(parents=True)
    write_audio(root / "p225" / "p225_001.wav", rng.uniform(-0.5, 0.5, 4800), 48000)
    write_audio(root / "p225" / "p225_002.flac", rng.uniform(-0.5, 0.5, 9600), 48000)
    stereo = np.stack([np.full(2400, 0.25), np.full(2400, -0.75)])
    write_audio(root / "p226" / "takes" / "p226_001.wav", stereo, 48000)
    write_audio(root / "loose.wav", np.zeros(1600), 16000)
    (root / "p226" / "notes.txt").write_text("not audio")
    return root


def test_folder_of_recordings(recordings, tmp_path):
    data = load_speech(root=recordings, rate=16000, cache_dir=tmp_path / "cache")
    assert data.voice.tolist() == ["corpus", "p225", "p225", "p226"]
    assert data.file.tolist() == [
        "loose.wav",
        "p225/p225_001.wav",
        "p225/p225_002.flac",
        "p226/takes/p226_001.wav",
    ]
    assert [len(s) for s in data.signals] == [1600, 1600, 3200, 800]
    assert data.gender.tolist() == ["unknown"] * 4
    # The two channels are mixed down to their mean.
    np.testing.assert_allclose(data.signals[3][100:-100], -0.25, atol=1e-3)
    assert all(s.dtype == np.float32 and s.ndim == 1 for s in data.signals)


def test_folder_speaker_selection_and_cache(recordings, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = load_speech(["p226", "p225"], root=recordings, rate=8000, cache_dir=cache)
    assert first.voice.tolist() == ["p226", "p225", "p225"]
    assert len(list(cache.glob("speech-*.npz"))) == 2  # one entry per speaker

    def refuse(*args, **kwargs):
        raise AssertionError("read a file instead of the cache")

    monkeypatch.setattr(speech, "read_audio", refuse)
    second = load_speech(["p226", "p225"], root=recordings, rate=8000, cache_dir=cache)
    for a, b in zip(first.signals, second.signals, strict=True):
        np.testing.assert_array_equal(a, b)


def test_folder_errors(recordings, tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_speech(root=tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"No \.wav or \.flac files"):
        load_speech(root=tmp_path / "empty")
    with pytest.raises(ValueError, match=r"No speaker\(s\) \['p999'\]"):
        load_speech("p999", root=recordings)
