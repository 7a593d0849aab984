"""Tests for tsfilm.io.audio: audio file round trips, atomic writes, resampling."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils._param_validation import InvalidParameterError

pytest.importorskip("soundfile")

from tsfilm.io import audio
from tsfilm.io.audio import read_audio, resample_audio, write_audio

# One step of 16-bit PCM: the most a PCM_16 round trip may move a sample.
PCM16_STEP = 1.0 / 32767


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_mono_round_trip_within_pcm16_quantisation(tmp_path, rng):
    x = rng.uniform(-1, 1, 4000)
    path = tmp_path / "mono.wav"
    write_audio(path, x, 16000)
    data, rate = read_audio(path)
    assert rate == 16000
    assert data.shape == (1, 4000)
    assert data.dtype == np.float32
    np.testing.assert_allclose(data[0], x, rtol=0, atol=PCM16_STEP)
    assert np.abs(data).max() <= 1.0


def test_multichannel_round_trip_keeps_channel_order(tmp_path, rng):
    x = rng.uniform(-1, 1, (3, 500))
    x[1] = 0.0  # a silent middle channel shows a channel swap at once
    path = tmp_path / "three.flac"
    write_audio(path, x, 8000)
    data, rate = read_audio(path)
    assert (data.shape, rate) == ((3, 500), 8000)
    np.testing.assert_allclose(data, x, rtol=0, atol=PCM16_STEP)
    assert not data[1].any()


def test_float_subtype_round_trip_is_exact(tmp_path, rng):
    x = rng.uniform(-1, 1, (2, 300)).astype(np.float32)
    path = tmp_path / "float.wav"
    write_audio(path, x, 22050, subtype="FLOAT")
    data, _ = read_audio(path)
    np.testing.assert_array_equal(data, x)


def test_write_clips_out_of_range_values_and_leaves_input_alone(tmp_path):
    x = np.array([-3.0, -1.0, 0.25, 1.0, 2.5])
    before = x.copy()
    path = tmp_path / "loud.wav"
    write_audio(path, x, 8000)
    data, _ = read_audio(path)
    np.testing.assert_allclose(data[0], [-1.0, -1.0, 0.25, 1.0, 1.0], atol=PCM16_STEP)
    np.testing.assert_array_equal(x, before)


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path, rng):
    path = tmp_path / "out.wav"
    write_audio(path, rng.uniform(-1, 1, 100), 16000)
    write_audio(path, rng.uniform(-1, 1, 200), 16000)  # replaces the first one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]
    assert read_audio(path)[0].shape == (1, 200)
    # Created with the usual permissions, not the private 0o600 of a temporary file.
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()


def test_failed_write_keeps_old_file_and_removes_temporary(tmp_path, monkeypatch):
    path = tmp_path / "keep.wav"
    write_audio(path, np.full(50, 0.5), 8000)
    sf = audio._soundfile()

    def broken_write(file, *args, **kwargs):
        with open(file, "wb") as handle:
            handle.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(sf, "write", broken_write)
    with pytest.raises(OSError, match="disk full"):
        write_audio(path, np.zeros(80), 8000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.wav"]
    data, _ = read_audio(path)
    np.testing.assert_allclose(data[0], 0.5, atol=PCM16_STEP)


def test_read_resamples_to_the_requested_rate(tmp_path):
    t = np.arange(4410) / 44100
    x = 0.5 * np.sin(2 * np.pi * 440 * t)
    path = tmp_path / "tone.wav"
    write_audio(path, x, 44100)
    data, rate = read_audio(path, rate=16000)
    assert rate == 16000
    assert data.shape == (1, math.ceil(4410 * 16000 / 44100))
    expected = 0.5 * np.sin(2 * np.pi * 440 * np.arange(data.shape[1]) / 16000)
    # Away from the edges, where the filter has no past or future samples.
    np.testing.assert_allclose(data[0, 100:-100], expected[100:-100], atol=2e-3)


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (np.zeros(10, dtype=np.int16), TypeError, "floating point"),
        (np.zeros((1, 2, 10)), ValueError, "n_channels, n_samples"),
        (np.zeros((100, 2)), ValueError, "data.T"),
        (np.array([0.0, np.nan, 0.1]), ValueError, "NaN"),
        (np.zeros(0), ValueError, "no samples"),
    ],
)
def test_write_rejects_bad_data(tmp_path, data, error, match):
    with pytest.raises(error, match=match):
        write_audio(tmp_path / "x.wav", data, 8000)
    assert list(tmp_path.iterdir()) == []


def test_write_rejects_bad_rate_extension_and_subtype(tmp_path):
    with pytest.raises(
        InvalidParameterError,
        match=r"'rate' parameter of write_audio must be an int in the range \[1, inf\)\. Got 0",
    ):
        write_audio(tmp_path / "x.wav", np.zeros(10), 0)
    with pytest.raises(InvalidParameterError, match="'rate' parameter of write_audio"):
        write_audio(tmp_path / "x.wav", np.zeros(10), 8000.0)
    with pytest.raises(InvalidParameterError, match="'path' parameter of write_audio"):
        write_audio(None, np.zeros(10), 8000)
    with pytest.raises(InvalidParameterError, match="'subtype' parameter of write_audio"):
        write_audio(tmp_path / "x.wav", np.zeros(10), 8000, subtype=16)
    with pytest.raises(ValueError, match="Cannot tell the audio format"):
        write_audio(tmp_path / "x.mp4", np.zeros(10), 8000)
    with pytest.raises(ValueError, match="subtype 'PCM_99' is not valid for WAV"):
        write_audio(tmp_path / "x.wav", np.zeros(10), 8000, subtype="PCM_99")


def test_read_missing_file_and_bad_rate(tmp_path):
    with pytest.raises(FileNotFoundError, match="No audio file"):
        read_audio(tmp_path / "absent.wav")
    write_audio(tmp_path / "a.wav", np.zeros(10), 8000)
    with pytest.raises(InvalidParameterError, match=r"'rate' parameter of read_audio .* Got 1\.5"):
        read_audio(tmp_path / "a.wav", rate=1.5)
    data, rate = read_audio(str(tmp_path / "a.wav"), rate=np.int64(8000))
    assert data.shape == (1, 10) and rate == 8000


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3000),
    orig=st.sampled_from([8000, 11025, 16000, 22050, 44100, 48000]),
    target=st.sampled_from([4000, 8000, 16000, 24000, 44100]),
    lead=st.sampled_from([(), (2,), (2, 3)]),
)
def test_resample_audio_length_is_exact(n, orig, target, lead):
    x = np.zeros((*lead, n), dtype=np.float32)
    y = resample_audio(x, orig, target)
    assert y.shape == (*lead, math.ceil(n * target / orig))
    assert y.dtype == np.float32 and y.flags.c_contiguous


def test_resample_audio_dtypes_and_copy():
    x = np.arange(8, dtype=np.float32)
    same = resample_audio(x, 16000, 16000)
    assert same is not x and same.dtype == np.float32
    np.testing.assert_array_equal(same, x)
    assert resample_audio(np.arange(8), 16000, 8000).dtype == np.float64
    assert resample_audio(np.arange(8.0), 8000, 16000).dtype == np.float64


def test_resample_audio_keeps_a_band_limited_signal():
    x = np.sin(2 * np.pi * 300 * np.arange(1600) / 16000)
    y = resample_audio(x, 16000, 48000)
    expected = np.sin(2 * np.pi * 300 * np.arange(4800) / 48000)
    np.testing.assert_allclose(y[300:-300], expected[300:-300], atol=1e-3)


@pytest.mark.parametrize(
    ("rates", "name"),
    [
        ((0, 8000), "orig_rate"),
        ((8000, -1), "target_rate"),
        ((16000.0, 8000), "orig_rate"),
        ((True, 8000), "orig_rate"),
    ],
)
def test_resample_audio_rejects_bad_rates(rates, name):
    match = rf"'{name}' parameter of resample_audio must be an int in the range \[1, inf\)"
    with pytest.raises(InvalidParameterError, match=match):
        resample_audio(np.zeros(10), *rates)


def test_resample_audio_accepts_numpy_rates():
    x = np.arange(20.0)
    np.testing.assert_array_equal(
        resample_audio(x, np.int64(16000), np.int32(8000)), resample_audio(x, 16000, 8000)
    )


def test_resample_audio_rejects_scalar():
    with pytest.raises(InvalidParameterError, match="'x' parameter of resample_audio"):
        resample_audio(np.float64(1.0), 8000, 16000)
