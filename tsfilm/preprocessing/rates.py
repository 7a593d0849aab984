"""Change the sampling rate of signals: degrade to a low rate, spline back to a high rate;
change their speed (to augment training data)."""

from __future__ import annotations

from fractions import Fraction
from numbers import Real

import numpy as np
from scipy.interpolate import make_interp_spline
from scipy.linalg import solve_banded
from scipy.signal import cheby1, decimate

from tsfilm.preprocessing._checks import check_series
from tsfilm.validation import StrictInterval, int_at_least, validate_params

__all__ = ["change_speed", "degrade", "min_length_for_lowpass", "spline_upsample"]

# scipy.signal.decimate warns that its IIR filter degrades for downsampling factors
# above 13 and recommends several calls with smaller factors instead.
_MAX_STAGE_RATIO = 12
_FILTER_ORDER = 8


def _decimation_stages(ratio: int) -> list[int]:
    """Pack the prime factors of ``ratio`` greedily into stages of at most 12, smallest first."""
    primes = []
    remaining, factor = ratio, 2
    while factor * factor <= remaining:
        while remaining % factor == 0:
            primes.append(factor)
            remaining //= factor
        factor += 1
    if remaining > 1:
        primes.append(remaining)
    stages: list[int] = []
    for prime in sorted(primes, reverse=True):
        for i, stage in enumerate(stages):
            if stage * prime <= _MAX_STAGE_RATIO:
                stages[i] = stage * prime
                break
        else:
            stages.append(prime)
    return sorted(stages)


def _filtfilt_padlen(stage_ratio: int) -> int:
    """Edge padding that scipy.signal.sosfiltfilt uses for decimate's filter."""
    sos = cheby1(_FILTER_ORDER, 0.05, 0.8 / stage_ratio, output="sos")
    n_trivial = min(int(np.sum(sos[:, 2] == 0)), int(np.sum(sos[:, 5] == 0)))
    return 3 * (2 * len(sos) + 1 - n_trivial)


@validate_params({"ratio": [int_at_least(1)]}, prefer_skip_nested_validation=True)
def min_length_for_lowpass(ratio: int) -> int:
    """Shortest signal that :func:`degrade` can low-pass and decimate by ``ratio``.

    The zero-phase filter (``scipy.signal.sosfiltfilt``) pads the signal at both ends
    by ``padlen`` samples (27 for the order-8 filter) and needs strictly more samples
    than that at every decimation stage.

    Parameters
    ----------
    ratio : int
        Decimation ratio, >= 1.

    Returns
    -------
    int
        Minimum number of time steps; 1 when ``ratio`` is 1 (nothing to filter).

    Examples
    --------
    >>> min_length_for_lowpass(4)
    28
    >>> min_length_for_lowpass(16)  # two stages, 2 then 8
    55
    """
    ratio = int(ratio)
    if ratio == 1:
        return 1
    minimum, done = 1, 1
    for stage in _decimation_stages(ratio):
        # The stage sees ceil(T / done) samples and needs more than padlen of them.
        minimum = max(minimum, _filtfilt_padlen(stage) * done + 1)
        done *= stage
    return minimum


@validate_params(
    {"X": ["array-like"], "ratio": [int_at_least(1)], "lowpass": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def degrade(X: object, ratio: int, lowpass: bool = True) -> np.ndarray:
    """Lower the sampling rate of signals by an integer ratio, as the paper's inputs.

    With ``lowpass=True`` (the paper's default) each signal is low-pass filtered and
    decimated with ``scipy.signal.decimate(x, q, n=8, ftype="iir", zero_phase=True)``
    (an order-8 Chebyshev type I filter, without phase shift); ratios above 12 run in
    stages of at most 12, as scipy recommends. With ``lowpass=False`` the signal is
    plainly subsampled, ``x[..., ::ratio]`` (the paper's "no low-pass filter", Table 8).

    Parameters
    ----------
    X : array-like of shape (n_timesteps,), (n_series, n_timesteps) or \
(n_series, n_channels, n_timesteps)
        Finite real signals, time on the last axis. Not modified.
    ratio : int
        Downsampling ratio, >= 1. ``ratio=1`` returns a float copy of ``X``.
    lowpass : bool, default=True
        Filter before subsampling (anti-aliasing) or not.

    Returns
    -------
    ndarray of shape (..., ceil(n_timesteps / ratio))
        Low-rate signals; sample ``i`` lies at high-rate index ``i * ratio``. float32
        if ``X`` is float32, else float64 (filtering itself runs in float64). Never a
        view of ``X``.

    Raises
    ------
    ValueError
        If, with ``lowpass=True``, ``X`` is shorter than the filter needs:
        ``min_length_for_lowpass(ratio)`` time steps, 28 for ratios 2 to 12.

    See Also
    --------
    spline_upsample : The way back to the high rate.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(10.0)
    >>> degrade(x, 4, lowpass=False)
    array([0., 4., 8.])
    >>> degrade(np.zeros((2, 3, 100)), 4).shape
    (2, 3, 25)
    """
    X = check_series(X, "X")
    ratio = int(ratio)
    n_timesteps = X.shape[-1]
    if ratio == 1:
        return X.copy()
    if not lowpass:
        return X[..., ::ratio].copy()
    minimum = min_length_for_lowpass(ratio)
    if n_timesteps < minimum:
        raise ValueError(
            f"degrade with lowpass=True and ratio={ratio} needs at least {minimum} time "
            f"steps (the zero-phase filter pads the signal at both ends); got "
            f"{n_timesteps}. Use longer signals or lowpass=False."
        )
    low = X.astype(np.float64, copy=False)
    for stage in _decimation_stages(ratio):
        low = decimate(low, stage, n=_FILTER_ORDER, ftype="iir", axis=-1, zero_phase=True)
    return np.ascontiguousarray(low, dtype=X.dtype)


@validate_params(
    {"X_low": ["array-like"], "ratio": [int_at_least(1)], "length": [int_at_least(1), None]},
    prefer_skip_nested_validation=True,
)
def spline_upsample(X_low: object, ratio: int, length: int | None = None) -> np.ndarray:
    """Interpolate low-rate signals back to the high rate with a cubic B-spline.

    The low-rate sample ``i`` is placed at high-rate index ``i * ratio``; an
    interpolating cubic B-spline (``scipy.interpolate.make_interp_spline``, ``k=3``,
    not-a-knot end conditions) through these points is evaluated at
    ``0, 1, ..., length - 1``, extrapolating past the last low-rate sample. This is
    both the network's input and the paper's "spline" baseline. With fewer than 4
    low-rate samples the degree drops to fit them all (constant for 1). From 4 samples on
    the spline is computed by a solver for equally spaced samples (one tridiagonal system
    and one small matrix product), which gives scipy's spline to about 1e-13 of the
    signal, 4 to 5 times as fast on one long series (8,000 samples and more) and about
    as fast on many short ones.

    Parameters
    ----------
    X_low : array-like of shape (n_low,), (n_series, n_low) or \
(n_series, n_channels, n_low)
        Finite real low-rate signals, time on the last axis. Not modified.
    ratio : int
        Upsampling ratio, >= 1.
    length : int or None, default=None
        Number of high-rate samples to return; ``n_low * ratio`` when None. Use the
        original length when the low-rate signal came from :func:`degrade` of a signal
        whose length was not a multiple of ``ratio``.

    Returns
    -------
    ndarray of shape (..., length)
        High-rate signals; at indices ``i * ratio`` they equal ``X_low`` bit for bit.
        float32 if ``X_low`` is float32, else float64 (the spline is fitted in float64).

    See Also
    --------
    degrade : The way down to the low rate.

    Examples
    --------
    >>> import numpy as np
    >>> x_low = np.array([0.0, 8.0, 64.0, 216.0, 512.0])  # t**3 at t = 0, 2, 4, 6, 8
    >>> spline_upsample(x_low, 2)
    array([  0.,   1.,   8.,  27.,  64., 125., 216., 343., 512., 729.])
    >>> spline_upsample(np.zeros((3, 2, 16)), 4).shape
    (3, 2, 64)
    """
    X_low = check_series(X_low, "X_low")
    ratio = int(ratio)
    n_low = X_low.shape[-1]
    length = n_low * ratio if length is None else int(length)

    values = X_low.astype(np.float64, copy=False)
    if n_low == 1:
        high = np.repeat(values, length, axis=-1)
    elif n_low >= 4:
        high = _not_a_knot_cubic(values, ratio, length)
    else:
        positions = np.arange(n_low, dtype=np.float64) * ratio
        spline = make_interp_spline(positions, values, k=n_low - 1, axis=-1)
        high = spline(np.arange(length, dtype=np.float64))
    high = np.ascontiguousarray(high, dtype=X_low.dtype)
    # Interpolation reproduces the samples only up to rounding; keep them exact so that
    # the known low-rate samples pass through unchanged.
    n_kept = min(n_low, (length - 1) // ratio + 1)
    high[..., : n_kept * ratio : ratio] = X_low[..., :n_kept]
    return high


def _not_a_knot_cubic(values: np.ndarray, ratio: int, length: int) -> np.ndarray:
    """The not-a-knot interpolating cubic spline through ``values`` (..., n), n >= 4, at
    ``0, ratio, 2 ratio, ...``, evaluated at ``0, 1, ..., length - 1``, in float64.

    The same spline as ``make_interp_spline(k=3)`` (to about 1e-13 of the signal), computed
    for equally spaced samples: its second derivatives ``M`` solve one tridiagonal system
    (``M[i-1] + 4 M[i] + M[i+1] = 6 (y[i-1] - 2 y[i] + y[i+1])``, with the not-a-knot ends
    ``M[0] = 2 M[1] - M[2]`` and its mirror eliminated), and on the interval from ``y[i]`` to
    ``y[i+1]``, at ``t = j / ratio``, the spline is a fixed combination of ``y[i], M[i],
    y[i+1], M[i+1]``: one matrix product with a (4, ratio) matrix for all intervals at once.
    Past the last sample the last interval's cubic continues.
    """
    n = values.shape[-1]
    y = values.reshape(-1, n)
    n_series, m = y.shape[0], n - 2
    # The rows of M[1] .. M[n-2]; the ends folded in make the first and last rows 6 M = r.
    bands = np.empty((3, m))
    bands[0], bands[1], bands[2] = 1.0, 4.0, 1.0
    bands[1, 0] = bands[1, -1] = 6.0
    bands[0, 1] = bands[2, m - 2] = 0.0
    rhs = 6.0 * (y[:, 2:] - 2.0 * y[:, 1:-1] + y[:, :-2])
    inner = solve_banded((1, 1), bands, rhs.T, check_finite=False).T
    # (y[i], M[i]) side by side, so that the four values of interval i are contiguous.
    knots = np.empty((n_series, n, 2))
    knots[:, :, 0] = y
    knots[:, 1:-1, 1] = inner
    knots[:, 0, 1] = 2.0 * inner[:, 0] - inner[:, 1]
    knots[:, -1, 1] = 2.0 * inner[:, -1] - inner[:, -2]

    def weights(t: np.ndarray) -> np.ndarray:  # (4, len(t)): of y[i], M[i], y[i+1], M[i+1]
        s = 1.0 - t
        return np.stack([s, (s**3 - s) / 6.0, t, (t**3 - t) / 6.0])

    inside = min(length, (n - 1) * ratio)  # up to the last sample; beyond, extrapolated
    n_intervals = -(-inside // ratio)
    pairs = np.lib.stride_tricks.sliding_window_view(knots.reshape(n_series, 2 * n), 4, axis=-1)
    intervals = pairs[:, : 2 * n_intervals : 2]  # (n_series, n_intervals, 4)
    phases = weights(np.arange(ratio) / ratio)
    high = np.empty((n_series, length))
    if n_intervals * ratio <= length:
        body = high[:, : n_intervals * ratio].reshape(n_series, n_intervals, ratio)
        np.matmul(intervals, phases, out=body)
    else:
        high[:, :inside] = (intervals @ phases).reshape(n_series, -1)[:, :inside]
    if length > inside:
        t = np.arange(inside, length) / ratio - (n - 2)
        high[:, inside:] = knots[:, -2:].reshape(n_series, 4) @ weights(t)
    return high.reshape(*values.shape[:-1], length)


@validate_params(
    {
        "X": ["array-like"],
        "factor": [StrictInterval(Real, 0.25, 4, closed="both")],
        "max_denominator": [int_at_least(1)],
    },
    prefer_skip_nested_validation=True,
)
def change_speed(X: object, factor: float, *, max_denominator: int = 20) -> np.ndarray:
    """Play signals faster or slower at the same sampling rate, shifting every frequency.

    The signal is resampled by ``1 / factor`` with :func:`tsfilm.io.resample_audio`
    (an anti-aliasing polyphase FIR filter) and kept at its sampling rate, so it lasts
    ``1 / factor`` times as long and every frequency, pitch and formants alike, is
    multiplied by ``factor``: the "speed perturbation" that augments speech data. A
    factor below 1 lowers a voice (female speech at 0.8 to 0.9 has roughly the
    formants of male speech) and also lowers the top of its band, so mix perturbed
    copies with the originals rather than replacing them.

    Parameters
    ----------
    X : array-like of shape (n_timesteps,), (n_series, n_timesteps) or \
(n_series, n_channels, n_timesteps)
        Finite real signals, time on the last axis. Not modified.
    factor : float
        Speed, in [0.25, 4]; 1 returns a float copy of ``X``. It is used as the nearest
        fraction ``p / q`` with ``q <= max_denominator``.
    max_denominator : int, default=20
        Largest denominator of that fraction (larger ones are slower to filter).

    Returns
    -------
    ndarray of shape (..., ceil(n_timesteps * q / p))
        The signals at the new speed, a new array. float32 if ``X`` is float32 (and
        filtered in float32), else float64.

    See Also
    --------
    degrade : Lower the sampling rate (the network's input).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(16000) / 16000
    >>> x = np.sin(2 * np.pi * 1000 * t)  # 1 kHz for one second
    >>> y = change_speed(x, 0.8)  # 800 Hz for 1.25 s
    >>> y.shape
    (20000,)
    >>> int(np.argmax(np.abs(np.fft.rfft(y))) * 16000 / y.shape[-1])
    800
    """
    from tsfilm.io.audio import resample_audio

    X = check_series(X, "X")
    speed = Fraction(float(factor)).limit_denominator(int(max_denominator))
    # Played back at the original rate, a signal resampled from rate p to rate q is
    # p / q times as fast.
    return resample_audio(X, speed.numerator, speed.denominator)
