"""Hide observed values to build imputation problems with a known answer."""

from __future__ import annotations

import numbers

import numpy as np

from tsfilm.preprocessing.resample import _float_signal

__all__ = ["hide_at_random", "missing_mask"]


def _check_missing_values(missing_values: object) -> float:
    if isinstance(missing_values, bool) or not isinstance(missing_values, numbers.Real):
        raise TypeError(
            f"missing_values must be np.nan or a finite number (e.g. 0); got {missing_values!r}."
        )
    value = float(missing_values)
    if np.isinf(value):
        raise ValueError(f"missing_values must be np.nan or a finite number; got {value}.")
    return value


def missing_mask(X: object, missing_values: float = np.nan) -> np.ndarray:
    """Where values are missing.

    Parameters
    ----------
    X : array-like of any shape
        Numeric values.
    missing_values : float, default=np.nan
        The marker of a missing value: NaN, or a number such as 0 for zero-coded data.

    Returns
    -------
    ndarray of bool, same shape as ``X``
        True where ``X`` holds the marker.

    Raises
    ------
    TypeError
        If ``missing_values`` is not a number or ``X`` is not numeric.
    ValueError
        If ``missing_values`` is infinite.

    Examples
    --------
    >>> import numpy as np
    >>> missing_mask(np.array([1.0, np.nan, 0.0]))
    array([False,  True, False])
    >>> missing_mask(np.array([1.0, np.nan, 0.0]), missing_values=0)
    array([False, False,  True])
    """
    marker = _check_missing_values(missing_values)
    array = np.asarray(X)
    if np.isnan(marker):
        return np.isnan(array) if array.dtype.kind == "f" else np.zeros(array.shape, dtype=bool)
    return array == marker


def hide_at_random(
    X: object,
    rate: float,
    random_state: object = None,
    missing_values: float = np.nan,
) -> tuple[np.ndarray, np.ndarray]:
    """Hide a share of the observed values, chosen uniformly at random.

    Exactly ``round(rate * n_observed)`` of the observed entries (those not equal to
    ``missing_values``) are chosen without replacement, every observed entry being
    equally likely, and replaced by ``missing_values``. Entries that were already
    missing stay missing and are never counted as hidden.

    Parameters
    ----------
    X : array-like of shape (n_timesteps,), (n_series, n_timesteps) or \
(n_series, n_channels, n_timesteps)
        Values with or without missing entries; finite apart from the missing marker.
        Not modified.
    rate : float
        Share of the observed entries to hide, in [0, 1].
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState, \
default=None
        Source of randomness; an int makes the choice reproducible.
    missing_values : float, default=np.nan
        The marker of a missing value, written into the hidden entries: NaN, or a
        number such as 0 for zero-coded data (then observed zeros count as missing).

    Returns
    -------
    X_hidden : ndarray of the same shape as ``X``
        A copy of ``X`` with the chosen entries set to ``missing_values``; float32 if
        ``X`` is float32, else float64.
    hidden_mask : ndarray of bool, same shape
        True exactly on the entries that were hidden, the ones to score an imputer on
        (see :func:`tsfilm.metrics.masked_l2`).

    Raises
    ------
    TypeError
        If ``X`` is not numeric, or ``rate``, ``random_state`` or ``missing_values``
        has the wrong type.
    ValueError
        If ``rate`` is outside [0, 1], or ``X`` holds infinite values (or NaN when the
        marker is a number).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(1.0, 11.0).reshape(2, 5)
    >>> X_hidden, hidden = hide_at_random(X, 0.2, random_state=0)
    >>> int(hidden.sum()), int(np.isnan(X_hidden).sum())
    (2, 2)
    >>> bool(np.array_equal(X_hidden[~hidden], X[~hidden]))
    True
    """
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        raise TypeError(f"rate must be a number in [0, 1]; got {rate!r}.")
    if not 0.0 <= float(rate) <= 1.0:
        raise ValueError(f"rate must be in [0, 1]; got {rate}.")
    marker = _check_missing_values(missing_values)
    if not (
        random_state is None
        or isinstance(random_state, (np.random.Generator, np.random.RandomState))
        or (isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool))
    ):
        raise TypeError(
            "random_state must be None, an int, a numpy.random.Generator or a "
            f"numpy.random.RandomState; got {random_state!r}."
        )
    array = _float_signal(X, "X", allow_nonfinite=True)
    if np.isinf(array).any():
        raise ValueError("X contains infinite values; only missing values may be non-finite.")
    missing = missing_mask(array, marker)
    if not np.isnan(marker) and np.isnan(array).any():
        raise ValueError(
            f"X contains NaN but missing_values={marker}; use missing_values=np.nan, or "
            "replace NaN by the marker first."
        )
    observed = np.flatnonzero(~missing)
    n_hidden = int(np.rint(float(rate) * observed.size))
    rng = (
        random_state
        if isinstance(random_state, (np.random.Generator, np.random.RandomState))
        else np.random.default_rng(random_state)
    )
    chosen = rng.choice(observed, size=n_hidden, replace=False) if n_hidden else observed[:0]
    hidden_mask = np.zeros(array.shape, dtype=bool)
    hidden_mask.flat[chosen] = True
    X_hidden = array.copy()
    X_hidden[hidden_mask] = marker
    return X_hidden, hidden_mask
