"""The array check of the NumPy functions of tsfilm."""

from __future__ import annotations

import numpy as np

from tsfilm.validation import check_signals

__all__ = ["check_series"]


def check_series(X: object, name: str, *, allow_nan: bool = False) -> np.ndarray:
    """Validate series with :func:`~tsfilm.validation.check_signals`, keeping their shape.

    ``X`` is one series (n_timesteps,) or an array (n_series, [n_channels,] n_timesteps);
    the result is float32 if ``X`` is, else float64, and may be ``X`` itself or a view of it.

    >>> check_series([1, 2, 3], "x")
    array([1., 2., 3.])
    """
    try:
        one_series = np.ndim(X) == 1
    except ValueError:  # nested sequences of different lengths: check_signals explains
        one_series = False
    array = np.reshape(X, (1, -1)) if one_series else X
    signals = check_signals(array, name=name, allow_nan=allow_nan, allow_list=False)
    array = signals.restore(signals.arrays)
    return array[0] if one_series else array
