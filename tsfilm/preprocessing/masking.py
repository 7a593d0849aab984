"""Hide observed values to build imputation problems with a known answer."""

from __future__ import annotations

from numbers import Real

import numpy as np

from tsfilm.preprocessing._checks import check_series
from tsfilm.validation import MISSING_VALUES, RANDOM_STATE, StrictInterval, validate_params

__all__ = ["hide_at_random", "missing_mask"]


@validate_params(
    {"X": "no_validation", "missing_values": MISSING_VALUES},
    prefer_skip_nested_validation=True,
)
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

    Examples
    --------
    >>> import numpy as np
    >>> missing_mask(np.array([1.0, np.nan, 0.0]))
    array([False,  True, False])
    >>> missing_mask(np.array([1.0, np.nan, 0.0]), missing_values=0)
    array([False, False,  True])
    """
    marker = float(missing_values)
    array = np.asarray(X)
    if np.isnan(marker):
        return np.isnan(array) if array.dtype.kind == "f" else np.zeros(array.shape, dtype=bool)
    return array == marker


@validate_params(
    {
        "X": ["array-like"],
        "rate": [StrictInterval(Real, 0, 1, closed="both")],
        "random_state": RANDOM_STATE,
        "missing_values": MISSING_VALUES,
    },
    prefer_skip_nested_validation=True,
)
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
        The marker of a missing value (see :func:`missing_mask`), written into the
        hidden entries.

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
    ValueError
        If ``X`` holds NaN while the marker is a number.

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
    marker = float(missing_values)
    array = check_series(X, "X", allow_nan=True)
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
