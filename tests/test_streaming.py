"""Tests for tsfilm.streaming and the causal super-resolver."""

from __future__ import annotations

import copy
import csv
import io
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.torch import save_file

import tsfilm
from tsfilm import TFiLMSuperResolver
from tsfilm.estimators import unet_kwargs
from tsfilm.nn import TFiLMUNet
from tsfilm.preprocessing import spline_upsample
from tsfilm.streaming import (
    INTERPOLATION_TAPS,
    LOOKAHEAD,
    SuperResolutionStream,
    _Interpolator,
    causal_upsample,
    upsample_stream,
)
from tsfilm.testing import parametrize_with_tsfilm_checks

TINY = TFiLMSuperResolver.get_test_params()[0]


def _signals(n: int = 6, length: int = 512, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    freqs, phases = rng.uniform(3, 120, (n, 3, 1)), rng.uniform(0, 6, (n, 3, 1))
    return np.sin(2 * np.pi * freqs * t + phases).sum(axis=1).astype(np.float32) / 3


def _make_lively(est: TFiLMSuperResolver) -> TFiLMSuperResolver:
    """Scale up the (near-zero at initialisation) output layer, so that the network's
    part of the output is of the order of the signal and any streaming error shows."""
    with torch.no_grad():
        est.module_.output.weight.mul_(300.0)
    return est


@pytest.fixture(scope="module")
def causal_est() -> TFiLMSuperResolver:
    est = TFiLMSuperResolver(ratio=2, causal=True, sample_rate=16000, **TINY)
    return _make_lively(est.fit(_signals()))


@pytest.fixture(scope="module")
def stereo_est() -> TFiLMSuperResolver:
    X = _signals(8).reshape(4, 2, -1)
    params = {
        **TINY,
        "rnn": "gru",
        "modulation": "scale",
        "causal_input": "lagrange",
        "up_activation": "leaky_relu",
    }
    return _make_lively(TFiLMSuperResolver(ratio=3, causal=True, **params).fit(X))


def _stream_all(stream: SuperResolutionStream, low: np.ndarray, sizes: list[int]) -> np.ndarray:
    parts, start = [], 0
    for size in sizes:
        parts.append(stream.process(low[..., start : start + size]))
        start += size
    parts.append(stream.process(low[..., start:]))
    parts.append(stream.flush())
    return np.concatenate(parts, axis=-1)


# ---------------------------------------------------------------------- causal_upsample
def test_causal_upsample_keeps_the_samples_and_fits_polynomials() -> None:
    t = np.arange(20.0)
    low = 0.01 * t**5 - t**3 + 2 * t
    for ratio in (2, 3, 4):
        high = causal_upsample(low, ratio)
        assert high.shape == (20 * ratio,)
        assert np.array_equal(high[::ratio], low)
        inside = np.arange(2 * ratio, 16 * ratio)  # two samples before, three after exist
        s = inside / ratio
        np.testing.assert_allclose(high[inside], 0.01 * s**5 - s**3 + 2 * s, rtol=1e-9)


@settings(max_examples=30, deadline=None)
@given(n_low=st.integers(1, 40), ratio=st.integers(1, 5), cut=st.integers(0, 39))
def test_property_causal_upsample_looks_three_samples_ahead(
    n_low: int, ratio: int, cut: int
) -> None:
    cut = min(cut, n_low - 1)
    rng = np.random.default_rng(cut)
    low = rng.normal(size=(2, n_low))
    changed = low.copy()
    changed[:, cut:] += rng.normal(size=(2, n_low - cut)) + 1.0
    a, b = causal_upsample(low, ratio), causal_upsample(changed, ratio)
    # Sample t depends on low-rate samples up to floor(t / ratio) + 3 ...
    unchanged = max(cut - LOOKAHEAD, 0) * ratio
    assert np.array_equal(a[:, :unchanged], b[:, :unchanged])
    # ... and on that one: the look-ahead is exactly three samples (when ratio > 1).
    if ratio > 1 and cut >= LOOKAHEAD:
        assert not np.array_equal(
            a[:, unchanged : unchanged + ratio], b[:, unchanged : unchanged + ratio]
        )


def test_causal_upsample_shapes_dtypes_and_length() -> None:
    low = np.random.default_rng(0).normal(size=(3, 2, 10)).astype(np.float32)
    assert causal_upsample(low, 4).shape == (3, 2, 40)
    assert causal_upsample(low, 4).dtype == np.float32
    assert causal_upsample(low.astype(np.float64), 4).dtype == np.float64
    assert causal_upsample([1, 2, 3], 2).dtype == np.float64
    longer = causal_upsample(low, 4, length=59)
    assert longer.shape == (3, 2, 59)
    assert np.array_equal(longer[..., :40], causal_upsample(low, 4))
    # Past the end the last sample repeats: constant once the window is all beyond it.
    assert np.array_equal(longer[..., 48:], np.repeat(low[..., -1:], 11, axis=-1))
    assert np.array_equal(causal_upsample(low, 4, length=37), causal_upsample(low, 4)[..., :37])
    assert np.array_equal(causal_upsample(low, 1), low)
    copy = low.copy()
    causal_upsample(low, 3)
    assert np.array_equal(low, copy)


def test_causal_upsample_is_close_to_the_spline_on_smooth_signals() -> None:
    high = _signals(4, 2048)
    low = high[:, ::4]
    spline_error = np.abs(spline_upsample(low, 4) - high)[:, 64:-64].max()
    causal_error = np.abs(causal_upsample(low, 4) - high)[:, 64:-64].max()
    assert causal_error < 2 * spline_error + 1e-3


@pytest.mark.parametrize("ratio", [2, 3, 4])
def test_sinc_interpolation_keeps_samples_and_constants_and_looks_eight_ahead(ratio) -> None:
    low = np.random.default_rng(ratio).normal(size=(2, 50))
    high = causal_upsample(low, ratio, kind="sinc")
    assert np.array_equal(high[:, ::ratio], low)
    assert np.allclose(causal_upsample(np.full(30, 0.7), ratio, kind="sinc"), 0.7, atol=1e-12)
    changed = low.copy()
    changed[:, 30] += 1.0
    moved = np.flatnonzero(np.any(causal_upsample(changed, ratio, kind="sinc") != high, 0))
    past, ahead = INTERPOLATION_TAPS["sinc"]
    assert moved.min() == (30 - ahead) * ratio + 1  # 8 low-rate samples of look-ahead
    assert moved.max() == (30 + past) * ratio + ratio - 1


def test_sinc_interpolation_beats_lagrange_near_the_low_rate_nyquist() -> None:
    n = np.arange(200)
    for f in (0.2, 0.3, 0.35):  # tones at these fractions of the low rate
        low, high = np.cos(2 * np.pi * f * n + 0.3), np.cos(np.pi * f * np.arange(400) + 0.3)
        errors = {
            kind: np.abs(causal_upsample(low, 2, kind=kind) - high)[40:360].max()
            for kind in INTERPOLATION_TAPS
        }
        assert errors["sinc"] < 0.01 < errors["lagrange"]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (([1.0, np.nan], 2), ValueError),
        (([1.0, 2.0], 0), ValueError),
        ((np.ones((2, 2, 2, 2)), 2), ValueError),
    ],
)
def test_causal_upsample_refuses_bad_input(args: tuple, error: type) -> None:
    with pytest.raises(error):
        causal_upsample(*args)


@settings(max_examples=30, deadline=None)
@given(
    n_low=st.integers(1, 60),
    ratio=st.integers(1, 4),
    sizes=st.lists(st.integers(0, 9), min_size=1, max_size=20),
    kind=st.sampled_from(sorted(INTERPOLATION_TAPS)),
)
def test_property_streamed_interpolation_is_bitwise_the_offline_one(
    n_low: int, ratio: int, sizes: list[int], kind: str
) -> None:
    low = np.random.default_rng(n_low).normal(size=(2, n_low))
    interpolator, parts, start = _Interpolator(ratio, 2, kind), [], 0
    for size in [*sizes, n_low]:
        parts.append(interpolator.process(low[:, start : start + size]))
        start = min(start + size, n_low)
    parts.append(interpolator.flush())
    expected = causal_upsample(low, ratio, kind=kind)
    assert np.array_equal(np.concatenate(parts, axis=-1), expected)


# ---------------------------------------------------------------------- the estimator
def test_causal_predict_is_the_network_on_the_whole_signal(causal_est) -> None:
    low = _signals(3, 600, seed=1)[:, ::2]
    assert causal_est.causal_input == "sinc"  # the default
    interpolated = causal_upsample(low[:, None], 2, kind="sinc")
    x = torch.from_numpy(causal_est.normalize(interpolated))
    with torch.inference_mode():
        expected = causal_est.module_(x).numpy()[:, 0] * np.float32(causal_est.scale_)
    predicted = causal_est.predict(low)
    np.testing.assert_allclose(predicted, expected, rtol=1e-6, atol=1e-6)
    # The network adds something of the order of the signal to the interpolation.
    assert np.abs(predicted - interpolated[:, 0]).max() > 0.05


def test_causal_predict_in_chunks_carries_the_state(causal_est) -> None:
    low = _signals(3, 700, seed=2)[:, ::2]
    whole = causal_est.predict(low)
    chunked = TFiLMSuperResolver(**causal_est.get_params())
    for name in ("module_", "ratio_", "n_channels_", "scale_", "n_features_in_"):
        setattr(chunked, name, getattr(causal_est, name))
    chunked.set_params(chunk_length=50)
    np.testing.assert_allclose(chunked.predict(low), whole, rtol=1e-4, atol=1e-5)
    # Lists of different lengths too.
    series = [low[0, :100], low[1], low[2, :33]]
    for got, one in zip(chunked.predict(series), series, strict=True):
        np.testing.assert_allclose(got, causal_est.upsample(one), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fixture", ["causal_est", "stereo_est"])
def test_causal_output_depends_on_the_interpolation_look_ahead_at_most(fixture, request) -> None:
    est = request.getfixturevalue(fixture)
    ahead, ratio = INTERPOLATION_TAPS[est.causal_input][1], est.ratio_
    low = np.repeat(_signals(1, 400, seed=3)[:, ::2], est.n_channels_, axis=0)
    changed = low.copy()
    changed[:, 120:] = -changed[:, 120:] + 0.3
    a, b = est.upsample(low), est.upsample(changed)
    assert np.array_equal(a[..., : (120 - ahead) * ratio], b[..., : (120 - ahead) * ratio])
    assert not np.array_equal(a[..., : 120 * ratio], b[..., : 120 * ratio])


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(0, 40), min_size=1, max_size=30), n_low=st.integers(1, 300))
def test_property_stream_equals_predict(causal_est, sizes: list[int], n_low: int) -> None:
    low = _signals(1, 2 * n_low, seed=n_low)[0, ::2]
    expected = causal_est.predict(low[None])[0]
    streamed = _stream_all(causal_est.stream(), low, sizes)
    assert streamed.shape == expected.shape == (2 * n_low,)
    assert streamed.dtype == np.float32
    np.testing.assert_allclose(streamed, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_stream_one_sample_at_a_time_holds_the_look_ahead_back(causal_est) -> None:
    low = _signals(1, 300, seed=4)[0, ::2].astype(np.float64)
    stream = causal_est.stream()
    ahead = stream.lookahead
    assert ahead == INTERPOLATION_TAPS["sinc"][1] == 8
    sizes = [stream.process(low[i : i + 1]).shape[-1] for i in range(low.size)]
    assert sizes == [0] * ahead + [2] * (low.size - ahead)
    tail = stream.flush()
    assert tail.shape == (2 * ahead,)
    assert tail.dtype == np.float64


def test_stream_flush_resets_for_the_next_signal(causal_est) -> None:
    first, second = _signals(2, 256, seed=5)[:, ::2]
    stream = causal_est.stream()
    _stream_all(stream, first, [17, 5])
    again = _stream_all(stream, second, [40])
    np.testing.assert_allclose(again, causal_est.upsample(second), rtol=1e-4, atol=1e-5)
    assert stream.flush().shape == (0,)
    stream.process(first[:50])
    stream.reset()
    np.testing.assert_allclose(
        _stream_all(stream, second, [3]), causal_est.upsample(second), rtol=1e-4, atol=1e-5
    )


def test_stream_and_predict_with_a_network_lookahead(causal_est) -> None:
    """A network that looks ``lookahead`` steps ahead streams with those steps held back."""
    est = TFiLMSuperResolver(**{**causal_est.get_params(), "lookahead": 9})
    for name in ("ratio_", "n_channels_", "scale_", "n_features_in_"):
        setattr(est, name, getattr(causal_est, name))
    kwargs = {**unet_kwargs(causal_est, in_channels=1), "causal": True, "lookahead": 9}
    est.module_ = TFiLMUNet(**kwargs).eval()
    est.module_.load_state_dict(causal_est.module_.state_dict())
    low = _signals(2, 400, seed=10)[:, ::2]
    expected = est.predict(low)
    assert np.abs(expected - causal_est.predict(low)).max() > 1e-3  # it does look ahead
    stream = est.stream()
    sizes = [stream.process(low[0, i : i + 7]).shape[-1] for i in range(0, 200, 7)]
    assert sum(sizes) < 400 - 2 * LOOKAHEAD
    streamed = _stream_all(est.stream(), low[0], [1, 50, 3])
    np.testing.assert_allclose(streamed, expected[0], rtol=1e-4, atol=1e-4)
    est.set_params(chunk_length=60)  # whole signals through the stream, flushed
    np.testing.assert_allclose(est.predict(low), expected, rtol=1e-4, atol=1e-4)


def test_stream_of_several_channels(stereo_est) -> None:
    low = _signals(2, 300, seed=6)[:, ::3].reshape(2, -1)
    assert stereo_est.n_channels_ == 2
    expected = stereo_est.upsample(low)
    streamed = _stream_all(stereo_est.stream(), low, [1, 1, 7, 30, 0, 2])
    assert streamed.shape == expected.shape == (2, 300)
    np.testing.assert_allclose(streamed, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    with pytest.raises(ValueError, match=r"shape \(2, n\)"):
        stereo_est.stream().process(low[0])


def test_stream_refuses_bad_chunks(causal_est) -> None:
    stream = causal_est.stream()
    with pytest.raises(ValueError, match="NaN"):
        stream.process(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match=r"shape \(n,\) or \(1, n\)"):
        stream.process(np.zeros((2, 4)))
    with pytest.raises(TypeError, match="real numbers"):
        stream.process(np.array(["a"]))


class _FakeBlas:
    """A BLAS library controller as threadpoolctl's, that records what it is set to."""

    def __init__(self, threads: int) -> None:
        self.num_threads, self.calls = threads, []

    def set_num_threads(self, n: int) -> None:
        self.calls.append(n)
        self.num_threads = n


def test_stream_runs_its_products_on_one_blas_thread_and_restores_the_setting(
    causal_est, monkeypatch
) -> None:
    from tsfilm import streaming

    blas = _FakeBlas(4)
    monkeypatch.setattr(streaming, "_blas_libraries", lambda: (blas,))
    seen = []
    forward = streaming.UNetStream._forward

    def spy(self, *args, **kwargs):
        seen.append(blas.num_threads)
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(streaming.UNetStream, "_forward", spy)
    low = _signals(1, 256)[0, ::2]
    default = _stream_all(causal_est.stream(), low, [10, 30])
    assert seen == [1, 1, 1, 1] and blas.num_threads == 4  # three chunks and the flush
    assert blas.calls == [1, 4] * 4
    seen.clear()
    kept = _stream_all(causal_est.stream(n_threads=None), low, [10, 30])
    assert seen == [4] * 4 and blas.calls == [1, 4] * 4  # None leaves the setting alone
    two = _stream_all(causal_est.stream(n_threads=2), low, [10, 30])
    assert seen[4:] == [2] * 4 and blas.num_threads == 4
    np.testing.assert_allclose(default, kept, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(default, two, rtol=1e-5, atol=1e-6)


def test_stream_restores_the_blas_threads_of_the_process(causal_est) -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> list[int]:
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    with threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        _stream_all(causal_est.stream(), _signals(1, 128)[0, ::2], [7])
        assert blas_threads() == before


@pytest.mark.parametrize(("n_threads", "error"), [(0, ValueError), (1.5, TypeError)])
def test_stream_refuses_a_bad_thread_count(causal_est, n_threads, error) -> None:
    with pytest.raises(error, match="n_threads"):
        causal_est.stream(n_threads=n_threads)


def test_stream_needs_a_fitted_causal_model() -> None:
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TFiLMSuperResolver(causal=True).stream()
    offline = TFiLMSuperResolver(ratio=2, **TINY).fit(_signals(4, 256))
    with pytest.raises(ValueError, match="causal=True"):
        offline.stream()


def test_causal_refuses_a_bidirectional_rnn() -> None:
    est = TFiLMSuperResolver(ratio=2, causal=True, rnn="bilstm", **TINY)
    with pytest.raises(ValueError, match="causal=True needs a unidirectional RNN"):
        est.fit(_signals(4, 256))
    with pytest.raises(ValueError, match="'causal' parameter"):
        TFiLMSuperResolver(ratio=2, causal="yes", **TINY).fit(_signals(4, 256))


def test_a_new_causal_setting_waits_for_the_next_fit() -> None:
    offline = TFiLMSuperResolver(ratio=2, **TINY).fit(_signals(4, 256))
    offline.set_params(causal=True)
    with pytest.raises(ValueError, match="takes effect at the next fit"):
        offline.predict(_signals(2, 256)[:, ::2])
    with pytest.raises(ValueError, match="takes effect at the next fit"):
        offline.stream()


@pytest.mark.parametrize("lookahead", [0, 8])
def test_warm_start_turns_an_offline_model_into_a_causal_one(lookahead: int) -> None:
    """A causal U-Net has the offline one's weights: a warm-started fit rebuilds the
    network with them and fine-tunes it; the offline model is left alone."""
    X = _signals(4, 256)
    offline = TFiLMSuperResolver(ratio=2, **TINY).fit(X)
    weights = {k: v.clone() for k, v in offline.module_.state_dict().items()}
    est = copy.deepcopy(offline)  # clone would drop the fit
    est.set_params(causal=True, lookahead=lookahead, warm_start=True, max_epochs=1)
    low = X[:, ::2]
    est.set_params(learning_rate=1e-12)  # one step that barely moves the weights
    est.fit(low, X)
    assert est.module_.causal and est.module_.lookahead == lookahead
    assert est.n_epochs_ == offline.n_epochs_ + 1
    for key, value in est.module_.state_dict().items():
        torch.testing.assert_close(value, weights[key], atol=1e-6, rtol=0)
    # The fine-tuned model streams, and streaming equals its predict.
    stream = est.stream()
    streamed = np.concatenate([stream.process(low[0]), stream.flush()])
    np.testing.assert_allclose(streamed, est.predict(low[:1])[0], atol=1e-5)
    # The source model is untouched and still offline.
    assert not offline.module_.causal
    for key, value in offline.module_.state_dict().items():
        torch.testing.assert_close(value, weights[key], atol=0, rtol=0)


def test_offline_default_is_unchanged() -> None:
    X = _signals(4, 256)
    default = TFiLMSuperResolver(ratio=2, **TINY).fit(X)
    assert default.causal is False
    assert not default.module_.causal
    low = X[:, ::2]
    signals = default._pairs(low, X)[0]
    np.testing.assert_array_equal(default.interpolate(signals)[:, 0], spline_upsample(low, 2))


# ---------------------------------------------------------------------- model files
def test_model_file_keeps_causal(causal_est, tmp_path) -> None:
    path = tmp_path / "causal.tsfilm"
    causal_est.save(path)
    loaded = tsfilm.load(path)
    assert loaded.causal is True
    low = _signals(2, 300, seed=7)[:, ::2]
    np.testing.assert_array_equal(loaded.predict(low), causal_est.predict(low))
    np.testing.assert_allclose(
        _stream_all(loaded.stream(), low[0], [11]), causal_est.predict(low)[0], rtol=1e-4, atol=1e-5
    )


def _load_without(est: TFiLMSuperResolver, param: str, path: Path) -> TFiLMSuperResolver:
    """Save ``est``, drop ``param`` from the file (as in a file written before the
    parameter existed) and load it."""
    est.save(path)
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    document = json.loads(metadata["tsfilm"])
    del document["params"][param]
    save_file(tensors, str(path), metadata={"tsfilm": json.dumps(document)})
    return tsfilm.load(path)


def test_model_file_without_causal_loads_as_offline(tmp_path) -> None:
    """Model files written before ``causal`` existed have no such parameter."""
    X = _signals(4, 256)
    est = TFiLMSuperResolver(ratio=2, **TINY).fit(X)
    loaded = _load_without(est, "causal", tmp_path / "old.tsfilm")
    assert loaded.causal is False
    np.testing.assert_array_equal(loaded.predict(X[:, ::2]), est.predict(X[:, ::2]))


def test_model_file_without_causal_input_loads_with_lagrange(stereo_est, tmp_path) -> None:
    """Causal model files written before ``causal_input`` existed used the Lagrange input."""
    loaded = _load_without(stereo_est, "causal_input", tmp_path / "old.tsfilm")
    assert loaded.causal_input == "lagrange"
    low = _signals(4, 300, seed=8)[:, ::3].reshape(2, 2, -1)
    np.testing.assert_array_equal(loaded.predict(low), stereo_est.predict(low))
    assert TFiLMSuperResolver().causal_input == "sinc"


def test_model_file_without_up_activation_loads_with_relu(tmp_path) -> None:
    """Model files written before ``up_activation`` existed have ReLU in the up path, and
    load so whatever the parameter's default."""
    X = _signals(4, 256)
    est = _make_lively(TFiLMSuperResolver(ratio=2, up_activation="relu", **TINY).fit(X))
    loaded = _load_without(est, "up_activation", tmp_path / "old.tsfilm")
    assert loaded.up_activation == "relu"
    assert all(type(b.activation) is torch.nn.ReLU for b in loaded.module_.up)
    low = _signals(3, 256, seed=9)[:, ::2]
    np.testing.assert_array_equal(loaded.predict(low), est.predict(low))


# ---------------------------------------------------------------------- PCM pipes
def _pcm(samples: np.ndarray) -> bytes:
    """Interleaved S16_LE bytes of (channels, n) samples in [-1, 1)."""
    return np.clip(np.rint(samples * 32768), -32768, 32767).astype("<i2").T.tobytes()


def _wav_header(channels: int, rate: int, bits: int = 16, tag: int = 1) -> bytes:
    fmt = struct.pack(
        "<HHIIHH", tag, channels, rate, rate * channels * bits // 8, channels * bits // 8, bits
    )
    list_chunk = b"LIST" + struct.pack("<I", 5) + b"abcde\x00"  # odd size: padded
    return (
        b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + list_chunk
        + b"data" + struct.pack("<I", 0xFFFFFFFF)
    )  # fmt: skip


class _Trickle(io.RawIOBase):
    """A pipe that hands over a few bytes per read, at odd boundaries."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self.data, self.step = data, step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        piece, self.data = self.data[: self.step], self.data[self.step :]
        buffer[: len(piece)] = piece
        return len(piece)


@pytest.mark.parametrize("source", ["bytes", "trickle"])
def test_upsample_stream_raw_pcm_equals_predict(causal_est, source: str) -> None:
    low = _signals(1, 800, seed=8)[0, ::2] * 0.5
    pcm = _pcm(low[None])
    quantised = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768
    expected = causal_est.upsample(quantised)
    stream = io.BytesIO(pcm) if source == "bytes" else io.BufferedReader(_Trickle(pcm))
    sink = io.BytesIO()
    assert upsample_stream(causal_est, stream, sink, rate=8000, chunk_ms=2.5) == low.size
    out = np.frombuffer(sink.getvalue(), "<i2").astype(np.float64) / 32768
    expected = np.clip(expected, -1, 32767 / 32768)  # as 16-bit samples
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, atol=1.5 / 32768)


def test_upsample_stream_wav_input_with_a_mono_model_per_channel(causal_est) -> None:
    low = _signals(2, 600, seed=9)[:, ::2] * 0.5
    data = _wav_header(2, 8000) + _pcm(low)
    sink = io.BytesIO()
    assert upsample_stream(causal_est, io.BytesIO(data), sink, input_format="wav") == low.shape[1]
    out = np.frombuffer(sink.getvalue(), "<i2").reshape(-1, 2).T / 32768
    quantised = np.frombuffer(_pcm(low), "<i2").reshape(-1, 2).T.astype(np.float32) / 32768
    for channel in range(2):
        expected = np.clip(causal_est.upsample(quantised[channel]), -1, 32767 / 32768)
        np.testing.assert_allclose(out[channel], expected, atol=1.5 / 32768)


def test_upsample_stream_empty_input_writes_nothing(causal_est) -> None:
    sink = io.BytesIO()
    assert upsample_stream(causal_est, io.BytesIO(b""), sink) == 0
    assert sink.getvalue() == b""


@pytest.mark.parametrize(
    ("data", "kwargs", "match"),
    [
        (b"", {"rate": 16000}, "expects 8000 Hz"),
        (b"", {"input_format": "mp3"}, "input_format must be one of"),
        (b"", {"chunk_ms": 0}, "chunk_ms must be a number > 0"),
        (b"", {"channels": 0}, "channels must be an int >= 1"),
        (b"RIFX\x00\x00\x00\x00WAVE", {"input_format": "wav"}, "not a wav stream"),
        (_wav_header(1, 8000, bits=24), {"input_format": "wav"}, "only 16-bit PCM"),
        (_wav_header(1, 11025), {"input_format": "wav"}, "expects 8000 Hz"),
        (_wav_header(1, 8000), {"input_format": "wav", "rate": 16000}, "wav header says 8000"),
        (_wav_header(1, 8000)[:30], {"input_format": "wav"}, "truncated fmt chunk|ends before"),
    ],
)
def test_upsample_stream_refuses_what_cannot_work(causal_est, data, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        upsample_stream(causal_est, io.BytesIO(data), io.BytesIO(), **kwargs)


def test_upsample_stream_needs_a_causal_model_and_a_rate() -> None:
    offline = TFiLMSuperResolver(ratio=2, **TINY).fit(_signals(4, 256))
    with pytest.raises(ValueError, match="causal=True"):
        upsample_stream(offline, io.BytesIO(b""), io.BytesIO())
    no_rate = TFiLMSuperResolver(ratio=2, causal=True, **TINY).fit(_signals(4, 256))
    with pytest.raises(ValueError, match="give the input rate"):
        upsample_stream(no_rate, io.BytesIO(b""), io.BytesIO())
    assert upsample_stream(no_rate, io.BytesIO(b"\x00\x01" * 9), io.BytesIO(), rate=4000) == 9


# ---------------------------------------------------------------------- conformance
@pytest.mark.slow
@parametrize_with_tsfilm_checks([TFiLMSuperResolver(causal=True, **TINY)], task="super_resolution")
def test_causal_super_resolver_conformance(estimator, check) -> None:
    check(estimator)


# ---------------------------------------------------------------------- the benchmark
BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "streaming.py"


@pytest.mark.slow
@pytest.mark.skipif(not BENCHMARK.exists(), reason="benchmarks/ is not part of this installation")
def test_quick_benchmark_prints_both_tables(tmp_path: Path) -> None:
    pytest.importorskip("G722")
    out = tmp_path / "streaming.csv"
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    for start in ("| tiny | 36,970 | 10 ms | 80/160 |", "| tiny | 36,970 | 20 ms |"):
        assert any(line.startswith(start) for line in lines), done.stdout[-3000:]
    for model in ("cubic spline", "causal interpolation", "TFiLM offline", "TFiLM causal"):
        assert any(line.startswith(f"| {model}") for line in lines), done.stdout[-3000:]
    with out.open(newline="") as handle:
        records = list(csv.DictReader(handle))
    assert {r["section"] for r in records} == {"latency", "quality", "equivalence"}
    error = next(float(r["snr"]) for r in records if r["section"] == "equivalence")
    assert error < 1e-4  # streaming 10 ms chunks gives predict
