"""Argument checks of the :mod:`tsfilm.nn` modules: bool is never a number, NumPy scalars are.

Messages name the parameter, the value and what is accepted, e.g.
``dropout must be a real number in [0, 1), got 1.0.``
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Collection
from typing import Any, TypeVar

_T = TypeVar("_T")
_CLOSED = ("both", "left", "right", "neither")
_BOOLS = ("builtins.bool", "numpy.bool", "numpy.bool_")  # NumPy's bool is no bool subclass


def _is_bool(value: object) -> bool:
    return f"{type(value).__module__}.{type(value).__name__}" in _BOOLS


def _wrong_type(name: str, accepted: str, value: object) -> TypeError:
    return TypeError(f"{name} must be {accepted}, got {type(value).__name__}: {value!r}.")


def check_int(value: object, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer in ``[minimum, maximum]``."""
    accepted = f"an int >= {minimum}" if maximum is None else f"an int in [{minimum}, {maximum}]"
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise _wrong_type(name, accepted, value)
    if not minimum <= operator.index(value) <= (math.inf if maximum is None else maximum):
        raise ValueError(f"{name} must be {accepted}, got {operator.index(value)}.")
    return operator.index(value)


def check_real(
    value: object,
    name: str,
    low: float | None = None,
    high: float | None = None,
    closed: str = "both",
) -> float:
    """Return ``value`` as a ``float`` if it lies in the interval (a None bound is open)."""
    if closed not in _CLOSED:
        raise ValueError(f"closed must be one of {_CLOSED}, got {closed!r}.")
    lo, hi = -math.inf if low is None else low, math.inf if high is None else high
    left = "[" if low is not None and closed in ("both", "left") else "("
    right = "]" if high is not None and closed in ("both", "right") else ")"
    accepted = f"a real number in {left}{lo}, {hi}{right}"
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise _wrong_type(name, accepted, value)
    number = float(value)
    above = lo <= number if left == "[" else lo < number
    if not (above and (number <= hi if right == "]" else number < hi)):  # NaN compares False
        raise ValueError(f"{name} must be {accepted}, got {value!r}.")
    return number


def check_option(value: _T, name: str, options: Collection[_T]) -> _T:
    """Return ``value`` if it is one of ``options`` (a TypeError if not of their type)."""
    options = tuple(options)
    if not isinstance(value, tuple({type(option) for option in options})):
        raise _wrong_type(name, f"one of {options}", value)
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}.")
    return value


def check_bool(value: object, name: str) -> bool:
    """Return ``value`` as a ``bool`` if it is ``True`` or ``False`` (NumPy's included)."""
    if not _is_bool(value):
        raise _wrong_type(name, "a bool (True or False)", value)
    return bool(value)


def check_input(x: Any, channels: int, label: str = "C") -> None:
    """Raise ValueError unless tensor ``x`` has shape (N, ``channels``, T) with T >= 1."""
    if x.dim() != 3 or x.shape[1] != channels or x.shape[2] < 1:
        raise ValueError(
            f"Expected input of shape (N, {label}={channels}, T) with T >= 1, got {tuple(x.shape)}."
        )
