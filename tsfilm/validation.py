"""Input validation: the one signal validator of tsfilm, and its parameter constraints.

Hyper-parameters and function arguments are validated with scikit-learn's constraints
(``_parameter_constraints`` and ``validate_params``); the constraints here refuse a bool
where a number is expected (Python makes ``True`` the integer 1), so the same mistake
raises scikit-learn's ``InvalidParameterError`` (a ``ValueError`` and a ``TypeError``)
everywhere. scikit-learn's constraint classes (``Interval``, ``StrOptions``, ``Options``),
``InvalidParameterError`` and ``validate_params`` are re-exported here, so tsfilm and its
plugins import them from one public place.

Every estimator turns its input into :class:`Signals` here, so the error messages, the
accepted layouts and the copy rules are the same everywhere.

Layouts
-------
* 2-D ``(n_series, n_timesteps)``: one channel per series (sklearn's ``X``).
* 3-D ``(n_series, n_channels, n_timesteps)``: several channels (sktime's numpy3D,
  torch's ``Conv1d`` order).
* A list of arrays of different lengths, each ``(n_timesteps,)`` or
  ``(n_channels, n_timesteps)``: real recordings rarely share one length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import check_array

__all__ = [
    "MISSING_VALUES",
    "RANDOM_STATE",
    "Interval",
    "InvalidParameterError",
    "Options",
    "Signals",
    "StrOptions",
    "StrictInterval",
    "check_signals",
    "int_at_least",
    "validate_params",
]


@dataclass
class Signals:
    """Validated series in one canonical form.

    Attributes
    ----------
    arrays : ndarray of shape (n_series, n_channels, n_timesteps) or list of ndarray
        The data: one dense array when every series has the same length, else a list of
        ``(n_channels, n_timesteps_i)`` arrays.
    layout : {"2d", "3d", "list1d", "list2d"}
        How the caller passed the data, so outputs can be given back the same way.
    """

    arrays: np.ndarray | list[np.ndarray]
    layout: str

    @property
    def n_series(self) -> int:
        return len(self.arrays)

    @property
    def n_channels(self) -> int:
        return int(self.arrays[0].shape[-2]) if self.n_series else 0

    @property
    def lengths(self) -> np.ndarray:
        if isinstance(self.arrays, np.ndarray):
            return np.full(self.arrays.shape[0], self.arrays.shape[-1], dtype=np.int64)
        return np.array([a.shape[-1] for a in self.arrays], dtype=np.int64)

    @property
    def is_dense(self) -> bool:
        return isinstance(self.arrays, np.ndarray)

    def series(self, i: int) -> np.ndarray:
        """Series ``i`` as a ``(n_channels, n_timesteps)`` array."""
        return self.arrays[i]

    def restore(self, outputs: np.ndarray | list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
        """Give ``outputs`` (same canonical form as ``arrays``) back in the caller's layout.

        One series comes back as a view of its output, never as a second copy.
        """
        if self.layout in ("2d", "3d"):
            if not isinstance(outputs, np.ndarray):
                outputs = outputs[0][None] if len(outputs) == 1 else np.stack(outputs)
            return outputs[:, 0, :] if self.layout == "2d" else outputs
        if self.layout == "list1d":
            return [np.asarray(o)[0] for o in outputs]
        return [np.asarray(o) for o in outputs]


# ---------------------------------------------------------------------- parameters
class StrictInterval(Interval):
    """scikit-learn's :class:`~sklearn.utils._param_validation.Interval`, without bool.

    Python makes ``True`` the integer 1, so a plain ``Interval(Integral, 1, None)``
    would accept ``ratio=True``; a bool given for a number is always a mistake.

    Examples
    --------
    >>> from numbers import Integral
    >>> from tsfilm.validation import StrictInterval
    >>> StrictInterval(Integral, 1, None, closed="left").is_satisfied_by(True)
    False
    >>> import numpy as np
    >>> StrictInterval(Integral, 1, None, closed="left").is_satisfied_by(np.int64(3))
    True
    """

    def is_satisfied_by(self, val: object) -> bool:
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)


def int_at_least(minimum: int) -> StrictInterval:
    """Constraint for an integer ``>= minimum`` (NumPy integers included, bool not).

    Examples
    --------
    >>> from tsfilm.validation import int_at_least
    >>> str(int_at_least(1))
    'an int in the range [1, inf)'
    """
    return StrictInterval(Integral, minimum, None, closed="left")


#: Constraint list of a ``random_state`` argument: None, a non-negative int seed, a
#: ``numpy.random.RandomState`` or a ``numpy.random.Generator``.
RANDOM_STATE = [int_at_least(0), np.random.RandomState, np.random.Generator, None]

#: Constraint list of a missing-value marker: NaN or a finite number.
MISSING_VALUES = [StrictInterval(Real, None, None, closed="neither"), "nan"]


# ---------------------------------------------------------------------- signals
_LAYOUT_HELP = (
    "Pass a 2-D array (n_series, n_timesteps), a 3-D array (n_series, n_channels, "
    "n_timesteps), or a list of 1-D/2-D arrays of different lengths"
)


def _check_one(a, name: str, allow_nan: bool, dtype) -> np.ndarray:
    return check_array(
        a,
        ensure_2d=False,
        allow_nd=True,
        dtype=dtype,
        ensure_all_finite="allow-nan" if allow_nan else True,
        ensure_min_samples=1,
        input_name=name,
    )


def check_signals(
    X,
    *,
    name: str = "X",
    allow_nan: bool = False,
    min_length: int = 1,
    dtype=(np.float64, np.float32),
    allow_list: bool = True,
) -> Signals:
    """Validate time-series input and bring it to the canonical ``(n, C, T)`` form.

    Parameters
    ----------
    X : array-like of shape (n_series, n_timesteps) or (n_series, n_channels, n_timesteps), \
or list of array-like
        The series. A pandas DataFrame is read as 2-D (rows are series).
    name : str, default="X"
        Name used in error messages.
    allow_nan : bool, default=False
        Whether NaN marks missing values (infinity is always rejected).
    min_length : int, default=1
        Smallest accepted number of time steps.
    dtype : dtype or tuple of dtypes, default=(float64, float32)
        Accepted floating dtypes; anything else is converted to the first one.
    allow_list : bool, default=True
        Whether a list of series of different lengths is accepted.

    Returns
    -------
    Signals
        The validated data. Dense input is returned as a new array only when a
        conversion was needed; callers never write into it.

    Raises
    ------
    ValueError
        Wrong number of dimensions, empty input, NaN or infinity, series too short.
    TypeError
        Non-numeric data, sparse matrices.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm.validation import check_signals
    >>> s = check_signals(np.zeros((4, 100)))
    >>> s.arrays.shape, s.layout
    ((4, 1, 100), '2d')
    """
    if isinstance(X, (str, bytes)):
        raise TypeError(f"{name} must be numeric series, got a string. {_LAYOUT_HELP}.")
    if isinstance(X, Sequence) and not isinstance(X, np.ndarray) and len(X) > 0:
        shapes = {np.shape(x) for x in X}
        if len(shapes) > 1:
            if not allow_list:
                raise ValueError(
                    f"{name} holds series of different lengths {sorted(shapes)[:3]}...; "
                    "this estimator needs equal lengths: pad or crop them first."
                )
            return _check_list(X, name, allow_nan, min_length, dtype)
    arr = _check_one(X, name, allow_nan, dtype)
    if arr.ndim == 1:
        raise ValueError(
            f"{name} must be 2-D (n_series, n_timesteps) or 3-D (n_series, n_channels, "
            f"n_timesteps); got a 1-D array of shape {arr.shape}. For a single series use "
            f"{name}.reshape(1, -1)."
        )
    if arr.ndim > 3:
        raise ValueError(
            f"{name} must be 2-D or 3-D; got {arr.ndim} dimensions with shape {arr.shape}. "
            f"{_LAYOUT_HELP}."
        )
    if arr.shape[-1] < min_length:
        raise ValueError(
            f"{name} has {arr.shape[-1]} time steps; at least {min_length} are needed."
        )
    if arr.ndim == 3 and arr.shape[1] < 1:
        raise ValueError(f"{name} has no channels: shape {arr.shape}.")
    layout = "2d" if arr.ndim == 2 else "3d"
    return Signals(arr[:, None, :] if arr.ndim == 2 else arr, layout)


def _check_list(X, name, allow_nan, min_length, dtype) -> Signals:
    arrays = []
    ndims = set()
    for i, x in enumerate(X):
        a = _check_one(x, f"{name}[{i}]", allow_nan, dtype)
        if a.ndim not in (1, 2):
            raise ValueError(
                f"{name}[{i}] must be 1-D (n_timesteps,) or 2-D (n_channels, n_timesteps); "
                f"got shape {a.shape}."
            )
        if a.shape[-1] < min_length:
            raise ValueError(
                f"{name}[{i}] has {a.shape[-1]} time steps; at least {min_length} are needed."
            )
        ndims.add(a.ndim)
        arrays.append(a[None, :] if a.ndim == 1 else a)
    if len(ndims) > 1:
        raise ValueError(f"{name} mixes 1-D and 2-D series; give every series the same layout.")
    channels = {a.shape[0] for a in arrays}
    if len(channels) > 1:
        raise ValueError(
            f"{name} mixes series with {sorted(channels)} channels; all must have the same."
        )
    return Signals(arrays, "list1d" if ndims == {1} else "list2d")
