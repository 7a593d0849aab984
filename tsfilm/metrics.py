"""Evaluation metrics of the paper, and scorers for ``GridSearchCV(scoring=...)``.

Signals follow the project's layout, time on the last axis: a 1-D array is one example,
and each row of an (n_series, n_timesteps) or (n_series, n_channels, n_timesteps) array
is one example. Inputs of different shapes, or values that are not finite where they are
scored, raise ValueError.

- :func:`snr` and :func:`lsd` score super-resolution (higher SNR, lower LSD is better).
- :func:`masked_l2` and :func:`masked_mae` score imputation on the hidden entries.
- :data:`snr_scorer`, :data:`lsd_scorer`, :func:`masked_l2_scorer` and
  :func:`masked_mae_scorer` follow scikit-learn's scorer protocol (greater is better).
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Real

import numpy as np
from scipy.signal import ShortTimeFFT
from scipy.signal.windows import hann
from sklearn.metrics import make_scorer

from tsfilm.preprocessing._checks import check_series
from tsfilm.validation import StrictInterval, StrOptions, int_at_least, validate_params

__all__ = [
    "lsd",
    "lsd_scorer",
    "masked_l2",
    "masked_l2_scorer",
    "masked_mae",
    "masked_mae_scorer",
    "snr",
    "snr_scorer",
]

# The authors' code caps each example's LSD at this value.
_CODE_LSD_CAP = 10.0
# Spectrogram values (per signal of a pair) computed at once by lsd, about 256 MB.
_STFT_BATCH_VALUES = 2**24


def _paired_signals(y_true: object, y_pred: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate two finite signal arrays of one shape; return them as (n_examples, ...)."""
    y_true, y_pred = check_series(y_true, "y_true"), check_series(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape; got y_true {y_true.shape} and "
            f"y_pred {y_pred.shape}."
        )
    return (y_true[np.newaxis], y_pred[np.newaxis]) if y_true.ndim == 1 else (y_true, y_pred)


def snr(y_true: object, y_pred: object, *, average: bool = True) -> float | np.ndarray:
    """Signal-to-noise ratio in decibels, per example, averaged over examples.

    ``SNR(y, yhat) = 10 log10(||y||^2 / ||y - yhat||^2)``, where the norms run over all
    channels and time steps of one example. Higher is better.

    A perfect prediction (zero error) has SNR ``+inf``, which also makes the average
    ``+inf``; an all-zero target predicted imperfectly has SNR ``-inf``.

    Parameters
    ----------
    y_true : array-like of shape (n_timesteps,), (n_series, n_timesteps) or \
(n_series, n_channels, n_timesteps)
        Reference signals; finite.
    y_pred : array-like of the same shape as ``y_true``
        Predicted signals; finite.
    average : bool, default=True
        Return the mean over examples; if False, one value per example.

    Returns
    -------
    float or ndarray of shape (n_series,)
        SNR in dB; a 1-D input is one example (shape (1,) when ``average=False``).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[3.0, 4.0], [1.0, 0.0]])
    >>> y_hat = np.array([[3.0, 4.5], [1.0, 0.1]])  # errors of power 0.25 and 0.01
    >>> snr(y, y_hat, average=False)  # 10 log10(25 / 0.25), 10 log10(1 / 0.01)
    array([20., 20.])
    >>> snr(y, y)
    inf
    """
    y_true, y_pred = _paired_signals(y_true, y_pred)
    axes = tuple(range(1, y_true.ndim))
    signal_power = np.sum(np.square(y_true, dtype=np.float64), axis=axes)
    error_power = np.sum(np.square(y_true - y_pred, dtype=np.float64), axis=axes)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = 10.0 * np.log10(signal_power / error_power)
    values[error_power == 0] = np.inf
    return float(np.mean(values)) if average else values


def _log_power_spectrogram(
    x: np.ndarray, n_fft: int, hop_length: int, log: np.ufunc, eps: float
) -> np.ndarray:
    """``log(|STFT(x)|^2 + eps)``, frames inside the signal: (..., n_frequencies, n_frames)."""
    n_timesteps = x.shape[-1]
    if n_timesteps < n_fft:
        x = np.concatenate([x, np.zeros((*x.shape[:-1], n_fft - n_timesteps))], axis=-1)
        n_timesteps = n_fft
    n_frames = 1 + (n_timesteps - n_fft) // hop_length
    stft = ShortTimeFFT(hann(n_fft, sym=False), hop_length, fs=1.0, mfft=n_fft)
    # k_offset = n_fft // 2 makes frame p span samples [p * hop, p * hop + n_fft).
    spectrum = stft.stft(x, p0=0, p1=n_frames, k_offset=n_fft // 2, axis=-1)
    return log(np.square(np.abs(spectrum)) + eps)


@validate_params(
    {
        "n_fft": [int_at_least(1)],
        "hop_length": [int_at_least(1), None],
        "variant": [StrOptions({"paper", "code"})],
        "eps": [StrictInterval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def lsd(
    y_true: object,
    y_pred: object,
    *,
    n_fft: int = 2048,
    hop_length: int | None = None,
    variant: str = "paper",
    average: bool = True,
    eps: float = 1e-8,
) -> float | np.ndarray:
    """Log-spectral distance between signals, per example, averaged over examples.

    Spectrograms use frames of ``n_fft`` samples with a periodic Hann window, a hop of
    ``hop_length`` samples (``n_fft // 4`` by default) and no centring: frame ``p``
    covers samples ``[p * hop, p * hop + n_fft)`` and lies wholly inside the signal, so
    up to ``hop_length - 1`` trailing samples are left out. A signal shorter than
    ``n_fft`` is zero-padded at the end to one frame. Lower is better.

    ``variant="paper"`` (default), the paper's definition::

        X = log10(|STFT(x)|^2 + eps)
        LSD = mean over frames of sqrt(mean over frequencies of (X - Xhat)^2)

    ``variant="code"``, what the authors' released code computes instead, offered only
    to compare with numbers produced by it: natural log, the two means swapped
    (``mean over frequencies of sqrt(mean over frames of (X - Xhat)^2 + 1e-8)``) and
    each example's value capped at 10. Its value for identical signals is ``1e-4``
    (the square root of the ``1e-8`` inside it), not 0.

    For multi-channel examples, the LSD of each channel is averaged over channels.

    Parameters
    ----------
    y_true : array-like of shape (n_timesteps,), (n_series, n_timesteps) or \
(n_series, n_channels, n_timesteps)
        Reference signals; finite.
    y_pred : array-like of the same shape as ``y_true``
        Predicted signals; finite.
    n_fft : int, default=2048
        Frame length in samples (also the FFT size).
    hop_length : int or None, default=None
        Samples between frame starts; ``n_fft // 4`` when None.
    variant : {"paper", "code"}, default="paper"
        Which definition to compute (see above).
    average : bool, default=True
        Return the mean over examples; if False, one value per example.
    eps : float, default=1e-8
        Added to the power spectrum inside the log (the authors' value), so that
        silent frames stay finite.

    Returns
    -------
    float or ndarray of shape (n_series,)
        The LSD; a 1-D input is one example (shape (1,) when ``average=False``).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.sin(0.05 * np.arange(4096))
    >>> lsd(y, y)
    0.0
    >>> bool(lsd(y, 0.5 * y) > 0)
    True
    """
    y_true, y_pred = _paired_signals(y_true, y_pred)
    hop_length = n_fft // 4 if hop_length is None else int(hop_length)
    if hop_length < 1:
        raise ValueError(f"n_fft={n_fft} is too small for the default hop_length n_fft // 4.")

    log = np.log10 if variant == "paper" else np.log
    # The STFT is vectorised over examples, in batches so that the complex
    # spectrograms of a large evaluation set never need to fit in memory at once.
    n_examples = y_true.shape[0]
    values_per_example = max(y_true[0].size, n_fft) * (n_fft // 2 + 1) // hop_length + 1
    batch = max(1, _STFT_BATCH_VALUES // values_per_example)
    values = np.empty(n_examples)
    for begin in range(0, n_examples, batch):
        pair = np.stack([y_true[begin : begin + batch], y_pred[begin : begin + batch]])
        spectra = _log_power_spectrogram(
            pair.astype(np.float64, copy=False), int(n_fft), hop_length, log, eps
        )
        squared = np.square(spectra[0] - spectra[1])  # (batch, [C,] frequencies, frames)
        if variant == "paper":
            per_channel = np.mean(np.sqrt(np.mean(squared, axis=-2)), axis=-1)
        else:
            per_channel = np.mean(np.sqrt(np.mean(squared, axis=-1) + 1e-8), axis=-1)
        values[begin : begin + batch] = np.mean(per_channel.reshape(len(squared), -1), axis=1)
    if variant == "code":
        values = np.minimum(values, _CODE_LSD_CAP)
    return float(np.mean(values)) if average else values


def _masked_errors(y_true: object, y_pred: object, mask: object, normalize: bool) -> np.ndarray:
    """Return the (optionally normalised) errors on the masked entries, as a 1-D array."""
    y_true = check_series(y_true, "y_true", allow_nan=True)
    y_pred = check_series(y_pred, "y_pred", allow_nan=True)
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise TypeError(
            f"mask must be a boolean array (True where scored); got dtype {mask.dtype}. "
            "Convert it with mask.astype(bool)."
        )
    if not y_true.shape == y_pred.shape == mask.shape:
        raise ValueError(
            "y_true, y_pred and mask must have the same shape; got y_true "
            f"{y_true.shape}, y_pred {y_pred.shape} and mask {mask.shape}."
        )
    if not (np.all(np.isfinite(y_true[mask])) and np.all(np.isfinite(y_pred[mask]))):
        raise ValueError(
            "y_true and y_pred must be finite on the masked entries; the reference "
            "y_true needs a value wherever mask is True."
        )
    error = np.where(mask, y_pred - np.where(mask, y_true, 0.0), 0.0)
    if normalize:
        # One scale per sequence along the time axis: its standard deviation over the
        # finite reference values; constant or empty sequences keep scale 1.
        finite = np.isfinite(y_true)
        count = np.sum(finite, axis=-1, keepdims=True)
        safe = np.where(finite, y_true, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.sum(safe, axis=-1, keepdims=True) / count
            std = np.sqrt(
                np.sum(np.where(finite, np.square(safe - mean), 0.0), axis=-1, keepdims=True)
                / count
            )
        scale = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        error = error / scale
    return error[mask]


def masked_l2(y_true: object, y_pred: object, mask: object, *, normalize: bool = False) -> float:
    """L2 distance between reference and prediction on the masked entries.

    ``sqrt(sum over entries where mask is True of (y_true - y_pred)^2)``: the paper's
    imputation metric (Table 10) with ``mask`` marking the hidden entries. Entries
    outside the mask are ignored, NaN included. With no masked entry the distance is 0.

    ``normalize=True`` first divides each sequence along the time axis by the standard
    deviation of its finite ``y_true`` values (1 if constant), so that series with large
    values do not dominate; the paper uses the raw scale.

    Parameters
    ----------
    y_true : array-like of shape (n_timesteps,), (n_series, n_timesteps) or \
(n_series, n_channels, n_timesteps)
        Reference values; NaN allowed outside the mask.
    y_pred : array-like of the same shape
        Predicted values; must be finite on the mask.
    mask : array-like of bool, same shape
        True on the entries to score.
    normalize : bool, default=False
        Scale each sequence by its reference standard deviation first.

    Returns
    -------
    float
        The L2 distance, >= 0.

    Raises
    ------
    TypeError
        If ``mask`` is not boolean.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]])
    >>> y_hat = np.array([[1.0, 0.0, 6.0], [4.0, 9.0, 6.0]])
    >>> mask = np.array([[False, False, True], [False, True, False]])
    >>> masked_l2(y, y_hat, mask)  # sqrt(3**2 + 4**2)
    5.0
    """
    errors = _masked_errors(y_true, y_pred, mask, normalize)
    return float(np.sqrt(np.sum(np.square(errors))))


def masked_mae(y_true: object, y_pred: object, mask: object, *, normalize: bool = False) -> float:
    """Mean absolute error between reference and prediction on the masked entries.

    The companion of :func:`masked_l2` (same inputs, same ``normalize``), averaging
    ``|y_true - y_pred|`` over the entries where ``mask`` is True.

    Parameters
    ----------
    y_true : array-like of shape (n_timesteps,), (n_series, n_timesteps) or \
(n_series, n_channels, n_timesteps)
        Reference values; NaN allowed outside the mask.
    y_pred : array-like of the same shape
        Predicted values; must be finite on the mask.
    mask : array-like of bool, same shape
        True on the entries to score; at least one.
    normalize : bool, default=False
        Scale each sequence by its reference standard deviation first.

    Returns
    -------
    float
        The mean absolute error, >= 0.

    Raises
    ------
    TypeError
        If ``mask`` is not boolean.
    ValueError
        If the mask selects no entry (the mean of nothing is undefined).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]])
    >>> y_hat = np.array([[1.0, 0.0, 6.0], [4.0, 9.0, 6.0]])
    >>> mask = np.array([[False, False, True], [False, True, False]])
    >>> masked_mae(y, y_hat, mask)  # (3 + 4) / 2
    3.5
    """
    errors = _masked_errors(y_true, y_pred, mask, normalize)
    if errors.size == 0:
        raise ValueError("mask selects no entries; the mean absolute error is undefined.")
    return float(np.mean(np.abs(errors)))


snr_scorer = make_scorer(snr)
"""Scorer for ``GridSearchCV(scoring=snr_scorer)``: mean SNR of ``predict(X)`` against y."""

lsd_scorer = make_scorer(lsd, greater_is_better=False)
"""Scorer for ``GridSearchCV(scoring=lsd_scorer)``: minus the mean paper LSD."""


_SCORER_DOC = """Score an imputer: minus {what} on the entries it had to fill.

    Calls ``estimator.transform(X)`` and returns ``-{metric}(y, X_filled, mask)``
    where ``mask`` marks the entries missing in ``X`` but present (finite) in ``y``,
    the complete reference matrix. Greater is better, as scikit-learn expects; use
    ``functools.partial({metric}_scorer, missing_values=0)`` for zero-coded data.

    Parameters
    ----------
    estimator : object
        A fitted imputer with ``transform``.
    X : array-like of shape (n_series, n_timesteps) or (n_series, n_channels, n_timesteps)
        Data with missing entries.
    y : array-like of the same shape
        The complete reference values; NaN where no reference exists (not scored).
    missing_values : float, default=np.nan
        The marker of missing entries in ``X``.

    Returns
    -------
    float
        ``-{metric}`` on the hidden entries ({none} when nothing is hidden).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.impute import SimpleImputer
    >>> y = np.array([[1.0, 2.0], [4.0, 6.0], [5.0, 4.0]])
    >>> X = np.array([[1.0, 2.0], [np.nan, 6.0], [5.0, 4.0]])
    >>> {metric}_scorer(SimpleImputer().fit(X), X, y)  # fills 3 = mean(1, 5), not 4
    -1.0
    """


def _imputation_scorer(metric: Callable[..., float], what: str, when_none_hidden: str):
    """The scorer for ``GridSearchCV(scoring=...)`` of a masked metric."""

    def scorer(estimator: object, X: object, y: object, *, missing_values: float = np.nan) -> float:
        if y is None:
            raise ValueError(
                "Imputation scorers need the complete reference matrix as y: call "
                "search.fit(X_with_missing, y_complete)."
            )
        X, y = np.asarray(X), check_series(y, "y", allow_nan=True)
        if X.shape != y.shape:
            raise ValueError(
                f"X and the reference y must have the same shape; got X {X.shape} and y {y.shape}."
            )
        if missing_values is None or (
            isinstance(missing_values, float) and np.isnan(missing_values)
        ):
            missing = np.isnan(X.astype(np.float64))
        else:
            missing = X == missing_values
        return -metric(y, np.asarray(estimator.transform(X)), missing & np.isfinite(y))

    scorer.__name__ = scorer.__qualname__ = f"{metric.__name__}_scorer"
    scorer.__doc__ = _SCORER_DOC.format(metric=metric.__name__, what=what, none=when_none_hidden)
    return scorer


masked_l2_scorer = _imputation_scorer(masked_l2, "the L2 distance", "0.0")
masked_mae_scorer = _imputation_scorer(masked_mae, "the mean absolute error", "a ValueError")
