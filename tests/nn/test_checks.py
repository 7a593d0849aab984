"""Tests for tsfilm.nn._checks: one rule for argument errors in every torch module."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsfilm.nn._checks import check_bool, check_int, check_option, check_real

# Values that are never numbers, whatever the bounds.
NOT_NUMBERS = [True, False, np.bool_(True), "3", None, [3], 3j]


@given(value=st.integers(-1000, 1000), minimum=st.integers(-10, 10))
def test_check_int_accepts_exactly_the_integers_from_minimum(value, minimum):
    if value >= minimum:
        assert check_int(value, "n", minimum) == value
    else:
        with pytest.raises(ValueError, match=rf"n must be an int >= {minimum}, got {value}\."):
            check_int(value, "n", minimum)


@given(
    value=st.integers(-50, 50),
    bounds=st.tuples(st.integers(-20, 20), st.integers(-20, 20)).map(sorted),
)
def test_check_int_with_maximum(value, bounds):
    low, high = bounds
    if low <= value <= high:
        assert check_int(value, "n", low, high) == value
    else:
        with pytest.raises(ValueError, match=rf"n must be an int in \[{low}, {high}\]"):
            check_int(value, "n", low, high)


@pytest.mark.parametrize("kind", [np.int8, np.int32, np.int64, np.uint16])
def test_check_int_accepts_numpy_integers_and_returns_python_int(kind):
    out = check_int(kind(7), "n")
    assert out == 7 and type(out) is int


@pytest.mark.parametrize("value", [*NOT_NUMBERS, 3.0, np.float64(3.0)])
def test_check_int_wrong_type_is_type_error_naming_the_value(value):
    with pytest.raises(TypeError, match=rf"depth must be an int >= 1, got {type(value).__name__}"):
        check_int(value, "depth")


@given(
    value=st.floats(allow_nan=True, allow_infinity=True),
    low=st.one_of(st.none(), st.floats(-10, 10)),
    width=st.floats(0.5, 10),
    closed=st.sampled_from(["both", "left", "right", "neither"]),
    bounded_above=st.booleans(),
)
def test_check_real_matches_the_interval(value, low, width, closed, bounded_above):
    high = (0.0 if low is None else low) + width if bounded_above else None
    lower = -math.inf if low is None else low
    upper = math.inf if high is None else high
    above = value >= lower if closed in ("both", "left") and low is not None else value > lower
    below = value <= upper if closed in ("both", "right") and high is not None else value < upper
    if above and below:
        assert check_real(value, "rate", low, high, closed=closed) == value
    else:
        with pytest.raises(ValueError, match=r"rate must be a real number in [\[(]"):
            check_real(value, "rate", low, high, closed=closed)


def test_check_real_message_and_numpy_scalars():
    assert check_real(np.float32(0.25), "dropout", 0, 1, closed="left") == 0.25
    assert type(check_real(np.int64(2), "width", 0)) is float
    with pytest.raises(ValueError, match=r"^dropout must be a real number in \[0, 1\), got 1\.$"):
        check_real(1, "dropout", 0, 1, closed="left")
    with pytest.raises(ValueError, match=r"width must be a real number in \(0, inf\), got inf"):
        check_real(math.inf, "width", 0, None, closed="neither")


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_check_real_wrong_type_is_type_error(value):
    with pytest.raises(
        TypeError, match=rf"dropout must be a real number .*got {type(value).__name__}"
    ):
        check_real(value, "dropout", 0, 1)


def test_check_option():
    assert check_option("gru", "rnn", ("lstm", "gru")) == "gru"
    with pytest.raises(ValueError, match=r"rnn must be one of \('lstm', 'gru'\), got 'GRU'\."):
        check_option("GRU", "rnn", ("lstm", "gru"))
    with pytest.raises(TypeError, match=r"rnn must be one of \('lstm', 'gru'\), got int: 1\."):
        check_option(1, "rnn", ("lstm", "gru"))


@pytest.mark.parametrize("value", [True, False, np.bool_(False)])
def test_check_bool_accepts_booleans(value):
    out = check_bool(value, "skip")
    assert out == bool(value) and type(out) is bool


@pytest.mark.parametrize("value", [0, 1, 1.0, "True", None])
def test_check_bool_rejects_everything_else(value):
    expected = re.escape(
        f"skip must be a bool (True or False), got {type(value).__name__}: {value!r}."
    )
    with pytest.raises(TypeError, match=f"^{expected}$"):
        check_bool(value, "skip")
