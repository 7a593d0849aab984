"""Constructor argument checks shared by the torch modules of :mod:`tsfilm.nn`.

Pure Python, so that :mod:`tsfilm.nn` stays independent of scikit-learn. Every check
follows one rule: a value of the wrong type raises :class:`TypeError`, a value of the
right type outside the accepted range (or not among the accepted options) raises
:class:`ValueError`. ``bool`` is never accepted as a number, even though Python makes it
an ``int``; NumPy integer and floating scalars are accepted. Messages name the
parameter, the value received and what is accepted.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Collection
from typing import TypeVar

__all__ = ["check_bool", "check_int", "check_option", "check_real"]

_T = TypeVar("_T")

_BRACKETS = {
    "both": ("[", "]"),
    "left": ("[", ")"),
    "right": ("(", "]"),
    "neither": ("(", ")"),
}


def _is_bool(value: object) -> bool:
    # NumPy's bool scalar (numpy.bool_) is not a bool subclass; recognised without
    # importing NumPy.
    kind = type(value)
    return isinstance(value, bool) or (
        kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_")
    )


def check_int(value: object, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """Check an integer argument and return it as a Python ``int``.

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name, for the error message.
    minimum : int, default=1
        Smallest accepted value.
    maximum : int or None, default=None
        Largest accepted value; None for no upper bound.

    Returns
    -------
    int
        ``value`` as a Python ``int`` (NumPy integers are converted).

    Raises
    ------
    TypeError
        If ``value`` is not an integer (``bool`` and floats such as ``4.0`` included).
    ValueError
        If ``value`` is outside ``[minimum, maximum]``.

    Examples
    --------
    >>> check_int(3, "depth")
    3
    >>> check_int(0, "depth")
    Traceback (most recent call last):
    ...
    ValueError: depth must be an int >= 1, got 0.
    """
    accepted = f"an int >= {minimum}" if maximum is None else f"an int in [{minimum}, {maximum}]"
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {accepted}, got {type(value).__name__}: {value!r}.")
    value = operator.index(value)
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {accepted}, got {value}.")
    return value


def check_real(
    value: object,
    name: str,
    low: float | None = None,
    high: float | None = None,
    closed: str = "both",
) -> float:
    """Check a real-valued argument and return it as a Python ``float``.

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name, for the error message.
    low, high : float or None, default=None
        Bounds of the accepted interval; None for no bound on that side.
    closed : {"both", "left", "right", "neither"}, default="both"
        Which given bounds belong to the interval. A missing bound is always open:
        infinity is accepted only as a closed bound. NaN is never accepted.

    Returns
    -------
    float
        ``value`` as a Python ``float``.

    Raises
    ------
    TypeError
        If ``value`` is not a real number (``bool`` included).
    ValueError
        If ``value`` is NaN or outside the interval.

    Examples
    --------
    >>> check_real(0.5, "dropout", 0, 1, closed="left")
    0.5
    >>> check_real(1.0, "dropout", 0, 1, closed="left")
    Traceback (most recent call last):
    ...
    ValueError: dropout must be a real number in [0, 1), got 1.0.
    """
    if closed not in _BRACKETS:
        raise ValueError(f"closed must be one of {tuple(_BRACKETS)}, got {closed!r}.")
    left, right = _BRACKETS[closed]
    if low is None:
        left = "("
    if high is None:
        right = ")"
    interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
    accepted = f"a real number in {interval}"
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {accepted}, got {type(value).__name__}: {value!r}.")
    number = float(value)
    lower = -math.inf if low is None else low
    upper = math.inf if high is None else high
    above = lower <= number if left == "[" else lower < number
    below = number <= upper if right == "]" else number < upper
    if not (above and below):  # also catches NaN, which compares False
        raise ValueError(f"{name} must be {accepted}, got {value!r}.")
    return number


def check_option(value: _T, name: str, options: Collection[_T]) -> _T:
    """Check that an argument is one of a few accepted values.

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name, for the error message.
    options : collection
        The accepted values, all of one type (usually strings).

    Returns
    -------
    object
        ``value``, unchanged.

    Raises
    ------
    TypeError
        If ``value`` is not of the options' type (e.g. not a string).
    ValueError
        If ``value`` has the right type but is not among ``options``.

    Examples
    --------
    >>> check_option("gru", "rnn", ("lstm", "gru"))
    'gru'
    >>> check_option("rnn", "rnn", ("lstm", "gru"))
    Traceback (most recent call last):
    ...
    ValueError: rnn must be one of ('lstm', 'gru'), got 'rnn'.
    """
    options = tuple(options)
    types = tuple({type(option) for option in options})
    if not isinstance(value, types):
        raise TypeError(f"{name} must be one of {options}, got {type(value).__name__}: {value!r}.")
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}.")
    return value


def check_bool(value: object, name: str) -> bool:
    """Check a switch: ``True`` or ``False`` (NumPy booleans included).

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name, for the error message.

    Returns
    -------
    bool
        ``value`` as a Python ``bool``.

    Raises
    ------
    TypeError
        If ``value`` is not a boolean (``0``, ``1`` and ``"yes"`` included).

    Examples
    --------
    >>> check_bool(True, "skip")
    True
    >>> check_bool(1, "skip")
    Traceback (most recent call last):
    ...
    TypeError: skip must be a bool (True or False), got int: 1.
    """
    if not _is_bool(value):
        raise TypeError(
            f"{name} must be a bool (True or False), got {type(value).__name__}: {value!r}."
        )
    return bool(value)
