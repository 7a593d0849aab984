"""Parameter constraints and the array check shared by the functions of tsfilm.

Public functions validate their parameters with scikit-learn's
``sklearn.utils._param_validation.validate_params``, so a bad value raises
``InvalidParameterError`` (a ``ValueError`` and a ``TypeError``) with scikit-learn's
message, which names the parameter, the value received and what is accepted. Arrays go
through :func:`tsfilm.validation.check_signals`, the one signal validator of tsfilm.
"""

from __future__ import annotations

import numpy as np

from tsfilm.validation import (
    MISSING_VALUES,
    RANDOM_STATE,
    StrictInterval,
    check_signals,
    int_at_least,
)

__all__ = ["MISSING_VALUES", "RANDOM_STATE", "StrictInterval", "check_series", "int_at_least"]


def check_series(X: object, name: str, *, allow_nan: bool = False) -> np.ndarray:
    """Validate one array of series with :func:`~tsfilm.validation.check_signals`.

    Unlike :func:`~tsfilm.validation.check_signals`, a 1-D array (one series) is
    accepted, and the result keeps the caller's layout instead of the canonical
    ``(n_series, n_channels, n_timesteps)`` one.

    Parameters
    ----------
    X : array-like of shape (n_timesteps,), (n_series, n_timesteps) or \
(n_series, n_channels, n_timesteps)
        The series, time on the last axis.
    name : str
        Name used in error messages.
    allow_nan : bool, default=False
        Whether NaN is accepted (infinity never is).

    Returns
    -------
    ndarray of the same shape as ``X``
        float32 if ``X`` is float32, else float64; ``X`` itself (or a view of it) when
        no conversion was needed, so callers never write into it.

    Raises
    ------
    ValueError
        If ``X`` has more than 3 dimensions, no series or time step, or holds
        non-finite values (NaN only with ``allow_nan=False``), or values that cannot
        be converted to float.

    Examples
    --------
    >>> check_series([1, 2, 3], "x")
    array([1., 2., 3.])
    >>> check_series(np.zeros((2, 5), dtype=np.float32), "x").dtype
    dtype('float32')
    """
    try:
        one_series = np.ndim(X) == 1
    except ValueError:  # nested sequences of different lengths: check_signals explains
        one_series = False
    signals = check_signals(
        np.reshape(X, (1, -1)) if one_series else X,
        name=name,
        allow_nan=allow_nan,
        allow_list=False,
    )
    array = signals.restore(signals.arrays)
    return array[0] if one_series else array
