"""Tests for tsfilm.preprocessing.rates: degrade, spline_upsample and change_speed."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils._param_validation import InvalidParameterError

from tsfilm.preprocessing import change_speed, degrade, min_length_for_lowpass, spline_upsample


def _decimate(x: np.ndarray, q: int) -> np.ndarray:
    return scipy.signal.decimate(x, q, n=8, ftype="iir", zero_phase=True, axis=-1)


# --------------------------------------------------------------------------- degrade


@pytest.mark.parametrize("lowpass", [True, False])
@pytest.mark.parametrize("ratio", [2, 3, 4, 8])
@pytest.mark.parametrize("n_timesteps", [101, 103, 64])
def test_degrade_length_is_ceil(rng, n_timesteps, ratio, lowpass):
    x = rng.standard_normal((2, n_timesteps))
    assert degrade(x, ratio, lowpass=lowpass).shape == (2, -(-n_timesteps // ratio))


def test_degrade_without_lowpass_is_slicing_and_a_copy(rng):
    x = rng.standard_normal((3, 2, 37))
    low = degrade(x, 3, lowpass=False)
    np.testing.assert_array_equal(low, x[..., ::3])
    assert not np.shares_memory(low, x)


@pytest.mark.parametrize("ratio", [2, 4, 8, 12])
def test_degrade_with_lowpass_is_scipy_decimate(rng, ratio):
    x = rng.standard_normal((2, 3, 200))
    np.testing.assert_array_equal(degrade(x, ratio), _decimate(x, ratio))


def test_degrade_large_ratio_decimates_in_stages(rng):
    x = rng.standard_normal((2, 500))
    np.testing.assert_array_equal(degrade(x, 16), _decimate(_decimate(x, 2), 8))
    assert degrade(x, 16).shape == (2, 32)


def test_degrade_sample_i_lies_at_index_i_times_ratio():
    # A slow sine passes the filter untouched and without delay (zero phase).
    # The filter's passband ripple may scale it by about 1 %, but any delay would
    # leave a residual after that scaling is fitted.
    x = np.sin(2 * np.pi * np.arange(4000) / 400)
    np.testing.assert_array_equal(degrade(x, 4, lowpass=False), x[::4])
    low, reference = degrade(x, 4)[50:-50], x[::4][50:-50]
    gain = low @ reference / (reference @ reference)
    assert abs(gain - 1) < 0.02
    np.testing.assert_allclose(low, gain * reference, atol=1e-3)


def test_lowpass_removes_what_would_alias():
    # 0.4 cycles per sample is above the Nyquist frequency after decimating by 2.
    x = np.sin(2 * np.pi * 0.4 * np.arange(2000))
    filtered = degrade(x, 2)[100:-100]
    aliased = degrade(x, 2, lowpass=False)[100:-100]
    assert np.sqrt(np.mean(filtered**2)) < 1e-3
    assert np.sqrt(np.mean(aliased**2)) > 0.5


def test_degrade_is_vectorised_over_leading_axes(rng):
    x = rng.standard_normal((3, 2, 90))
    expected = np.stack([[degrade(channel, 4) for channel in series] for series in x])
    np.testing.assert_allclose(degrade(x, 4), expected, rtol=0, atol=1e-12)


def test_degrade_dtypes_and_input_unchanged(rng):
    x32 = rng.standard_normal((2, 64)).astype(np.float32)
    before = x32.copy()
    assert degrade(x32, 2).dtype == np.float32
    assert degrade(x32, 2, lowpass=False).dtype == np.float32
    np.testing.assert_array_equal(x32, before)
    assert degrade(np.arange(64), 2).dtype == np.float64
    assert degrade([[1, 2, 3]], 1).dtype == np.float64


def test_degrade_ratio_one_is_a_copy(rng):
    x = rng.standard_normal(10)
    out = degrade(x, 1)
    np.testing.assert_array_equal(out, x)
    assert not np.shares_memory(out, x)


def test_degrade_minimum_length_for_lowpass(rng):
    assert min_length_for_lowpass(2) == 28
    assert degrade(rng.standard_normal(28), 2).shape == (14,)
    with pytest.raises(ValueError, match=r"needs at least 28 time steps.*got 27"):
        degrade(rng.standard_normal(27), 2)
    # Short signals still degrade without the filter.
    assert degrade(rng.standard_normal(5), 2, lowpass=False).shape == (3,)
    # Two stages (2 then 8): the second needs 28 samples of the first's output.
    assert min_length_for_lowpass(16) == 55
    assert degrade(rng.standard_normal(55), 16).shape == (4,)
    with pytest.raises(ValueError, match="needs at least 55"):
        degrade(rng.standard_normal(54), 16)


@pytest.mark.parametrize("ratio", [0, -2, 2.0, True, "2", None])
def test_degrade_rejects_bad_ratio(ratio):
    message = (
        rf"'ratio' parameter of degrade must be an int in the range \[1, inf\)\. Got {ratio!r}"
    )
    with pytest.raises(InvalidParameterError, match=message):
        degrade(np.zeros(100), ratio)


def test_degrade_numpy_integer_ratio_and_bad_lowpass(rng):
    x = rng.standard_normal((2, 60))
    np.testing.assert_array_equal(degrade(x, np.int64(3)), degrade(x, 3))
    assert degrade(x, 2, lowpass=np.bool_(False)).shape == (2, 30)
    with pytest.raises(InvalidParameterError, match="'lowpass' parameter of degrade"):
        degrade(x, 2, lowpass="no")
    with pytest.raises(InvalidParameterError, match="'ratio' parameter of min_length_for_lowpass"):
        min_length_for_lowpass(0)


def test_degrade_rejects_bad_signals():
    with pytest.raises(ValueError, match="Input X contains NaN"):
        degrade(np.array([0.0, np.nan] * 50), 2)
    with pytest.raises(ValueError, match=r"0 feature\(s\) \(shape=\(2, 0\)\)"):
        degrade(np.zeros((2, 0)), 2)
    with pytest.raises(ValueError, match="X has 0 time steps"):
        degrade(np.zeros((2, 3, 0)), 2)
    with pytest.raises(
        InvalidParameterError, match="'X' parameter of degrade must be an array-like"
    ):
        degrade(1.0, 2)
    with pytest.raises(ValueError, match="Complex data not supported"):
        degrade(np.ones(40, dtype=complex), 2)
    with pytest.raises(ValueError, match="could not convert string to float"):
        degrade(np.array(["a"] * 40), 2)
    with pytest.raises(ValueError, match="X must be 2-D or 3-D; got 4 dimensions"):
        degrade(np.zeros((1, 1, 1, 40)), 2)
    with pytest.raises(ValueError, match="X holds series of different lengths"):
        degrade([np.zeros(40), np.zeros(30)], 2)


@pytest.mark.parametrize("shape", [(40,), (3, 40), (2, 3, 40)])
def test_degrade_and_spline_keep_the_callers_layout(rng, shape):
    x = rng.standard_normal(shape)
    low = degrade(x, 4)
    assert low.shape == (*shape[:-1], 10)
    assert spline_upsample(low, 4).shape == shape
    assert degrade(x.tolist(), 4, lowpass=False).shape == (*shape[:-1], 10)


# ------------------------------------------------------------------- spline_upsample


@settings(max_examples=25, deadline=None)
@given(
    ratio=st.integers(1, 8),
    n_low=st.integers(1, 20),
    extra=st.integers(-3, 10),
    seed=st.integers(0, 2**16),
)
def test_spline_keeps_low_samples_exactly(ratio, n_low, extra, seed):
    x_low = np.random.default_rng(seed).standard_normal((2, n_low))
    length = max(1, n_low * ratio + extra)
    high = spline_upsample(x_low, ratio, length=length)
    assert high.shape == (2, length)
    kept = min(n_low, (length - 1) // ratio + 1)
    np.testing.assert_array_equal(high[:, : kept * ratio : ratio], x_low[:, :kept])


@settings(deadline=None)
@given(
    ratio=st.integers(1, 8),
    n_low=st.integers(4, 60),
    extra=st.integers(-200, 20),
    seed=st.integers(0, 2**16),
)
def test_spline_is_scipys_not_a_knot_b_spline(ratio, n_low, extra, seed):
    """The equally-spaced solver gives scipy's general B-spline (make_interp_spline, k=3,
    not-a-knot) to rounding, inside, before the end and extrapolated past it."""
    from scipy.interpolate import make_interp_spline

    x_low = np.random.default_rng(seed).standard_normal((2, 3, n_low)) * 10.0 ** (seed % 7 - 3)
    length = max(1, n_low * ratio + extra)
    expected = make_interp_spline(np.arange(n_low) * float(ratio), x_low, k=3, axis=-1)(
        np.arange(length, dtype=np.float64)
    )
    scale = np.abs(expected).max()
    np.testing.assert_allclose(
        spline_upsample(x_low, ratio, length=length), expected, atol=1e-11 * scale
    )


def test_spline_reproduces_a_cubic_including_the_extrapolated_tail():
    t = np.arange(43, dtype=np.float64)
    cubic = 0.5 * t**3 - 2.0 * t**2 + t - 7.0
    x_low = cubic[::4]  # samples at 0, 4, ..., 40; 41 and 42 are extrapolated
    np.testing.assert_allclose(spline_upsample(x_low, 4, length=43), cubic, rtol=1e-10)


@pytest.mark.parametrize(
    ("n_low", "polynomial"),
    [
        (1, lambda t: np.full_like(t, 2.5)),
        (2, lambda t: 3.0 * t - 1.0),
        (3, lambda t: t**2 - 4.0 * t),
        (4, lambda t: t**3 + t),
    ],
)
def test_spline_falls_back_to_the_polynomial_through_few_samples(n_low, polynomial):
    t = np.arange(n_low * 3 + 2, dtype=np.float64)
    expected = polynomial(t)
    np.testing.assert_allclose(
        spline_upsample(expected[::3][:n_low], 3, length=t.size), expected, atol=1e-9
    )


def test_spline_vectorised_equals_per_series_loop(rng):
    x_low = rng.standard_normal((4, 3, 12))
    expected = np.stack([[spline_upsample(channel, 4) for channel in s] for s in x_low])
    np.testing.assert_allclose(spline_upsample(x_low, 4), expected, rtol=1e-12, atol=1e-12)


def test_spline_undoes_degrade_on_a_smooth_signal():
    x = np.sin(2 * np.pi * np.arange(301) / 100)
    restored = spline_upsample(degrade(x, 4, lowpass=False), 4, length=x.size)
    assert restored.shape == x.shape
    np.testing.assert_allclose(restored, x, atol=1e-3)


def test_spline_dtypes_and_input_unchanged(rng):
    x_low = rng.standard_normal((2, 8)).astype(np.float32)
    before = x_low.copy()
    assert spline_upsample(x_low, 2).dtype == np.float32
    np.testing.assert_array_equal(x_low, before)
    assert spline_upsample(np.arange(5), 2).dtype == np.float64


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"length": 0},
            InvalidParameterError,
            r"'length' parameter of spline_upsample must be an int in the range \[1, inf\) "
            "or None. Got 0",
        ),
        ({"length": 4.0}, InvalidParameterError, "'length' parameter of spline_upsample"),
        ({"length": True}, InvalidParameterError, "'length' parameter of spline_upsample"),
        ({"ratio": 0}, InvalidParameterError, "'ratio' parameter of spline_upsample"),
        ({"X_low": [1.0, np.inf]}, ValueError, "Input X_low contains infinity"),
        ({"X_low": np.zeros((3, 0))}, ValueError, r"0 feature\(s\)"),
    ],
)
def test_spline_rejects_bad_input(kwargs, error, message):
    arguments = {"X_low": np.zeros(5), "ratio": 2, **kwargs}
    with pytest.raises(error, match=message):
        spline_upsample(**arguments)


# ---------------------------------------------------------------------- change_speed


@pytest.mark.parametrize(("factor", "tone", "expected"), [(0.8, 1000, 800), (1.25, 1000, 1250)])
def test_change_speed_scales_frequency_and_duration(factor, tone, expected):
    rate = 16000
    x = np.sin(2 * np.pi * tone * np.arange(rate) / rate)
    y = change_speed(x, factor)
    assert y.shape == (round(rate / factor),)
    peak = np.argmax(np.abs(np.fft.rfft(y))) * rate / y.shape[-1]
    assert peak == pytest.approx(expected, abs=2)
    # the amplitude survives the resampling filter (away from the ends)
    middle = y[len(y) // 4 : 3 * len(y) // 4]
    assert np.abs(middle).max() == pytest.approx(1.0, abs=0.02)


def test_change_speed_removes_what_would_alias():
    """Faster playback moves a tone above Nyquist: the filter removes it."""
    rate = 16000
    x = np.sin(2 * np.pi * 7500 * np.arange(rate) / rate)
    y = change_speed(x, 1.25)  # 7.5 kHz -> 9.4 kHz, above the 8 kHz Nyquist
    assert np.sqrt(np.mean(y[200:-200] ** 2)) < 0.01


@settings(max_examples=25, deadline=None)
@given(
    factor=st.sampled_from([0.5, 0.8, 0.9, 1.1, 1.5, 2.0]),
    n=st.integers(8, 300),
    seed=st.integers(0, 2**16),
)
def test_change_speed_shape_dtype_and_input_unchanged(factor, n, seed):
    x = np.random.default_rng(seed).standard_normal((2, 3, n)).astype(np.float32)
    before = x.copy()
    y = change_speed(x, factor)
    assert y.shape == (2, 3, int(np.ceil(n / factor)))
    assert y.dtype == np.float32 and y.flags.c_contiguous
    np.testing.assert_array_equal(x, before)
    # vectorised over the leading axes: each series as if alone
    np.testing.assert_allclose(y[1, 2], change_speed(x[1, 2], factor), rtol=1e-6, atol=1e-6)


def test_change_speed_one_is_a_copy(rng):
    x = rng.standard_normal(50)
    y = change_speed(x, 1.0)
    np.testing.assert_array_equal(x, y)
    assert not np.shares_memory(x, y)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"factor": 0}, InvalidParameterError, "'factor' parameter of change_speed"),
        ({"factor": 5.0}, InvalidParameterError, "'factor' parameter of change_speed"),
        ({"factor": True}, InvalidParameterError, "'factor' parameter of change_speed"),
        ({"max_denominator": 0}, InvalidParameterError, "'max_denominator' parameter"),
        ({"X": [1.0, np.nan]}, ValueError, "Input X contains NaN"),
    ],
)
def test_change_speed_rejects_bad_input(kwargs, error, message):
    with pytest.raises(error, match=message):
        change_speed(**{"X": np.zeros(50), "factor": 0.8, **kwargs})
