"""tsfilm.validation: the one signal validator and the shared parameter constraints."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils._param_validation import validate_parameter_constraints

from tsfilm.validation import (
    MISSING_VALUES,
    StrictInterval,
    check_signals,
    int_at_least,
)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.one_of(
        st.tuples(st.integers(1, 4), st.integers(1, 20)),
        st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 20)),
    ),
    dtype=st.sampled_from([np.float32, np.float64, np.int64]),
)
def test_dense_input_becomes_n_c_t_and_restores_its_layout(shape, dtype):
    X = np.arange(np.prod(shape)).reshape(shape).astype(dtype)
    before = X.copy()
    signals = check_signals(X)
    assert signals.arrays.ndim == 3 and signals.arrays.shape[0] == shape[0]
    assert signals.arrays.dtype == (np.float32 if dtype == np.float32 else np.float64)
    assert signals.layout == ("2d" if len(shape) == 2 else "3d")
    np.testing.assert_array_equal(signals.restore(signals.arrays), X)
    np.testing.assert_array_equal(X, before)  # never modified


def test_float_input_is_not_copied():
    X = np.zeros((3, 10), dtype=np.float32)
    assert np.shares_memory(check_signals(X).arrays, X)


@settings(max_examples=30, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 30), min_size=2, max_size=5, unique=True),
    channels=st.integers(0, 2),
)
def test_ragged_lists_keep_their_lengths(lengths, channels):
    X = [np.ones(n) if channels == 0 else np.ones((channels, n)) for n in lengths]
    signals = check_signals(X)
    assert signals.lengths.tolist() == lengths
    assert signals.layout == ("list1d" if channels == 0 else "list2d")
    restored = signals.restore(signals.arrays)
    assert [a.shape for a in restored] == [x.shape for x in X]


def test_dataframe_rows_are_series():
    frame = pd.DataFrame(np.ones((3, 5)))
    assert check_signals(frame).arrays.shape == (3, 1, 5)


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (np.zeros(5), ValueError, "got a 1-D array of shape"),
        (np.zeros((1, 1, 1, 4)), ValueError, "must be 2-D or 3-D"),
        (np.zeros((0, 4)), ValueError, "0 sample"),
        (np.array([[1.0, np.nan]]), ValueError, "NaN"),
        (np.array([[1.0, np.inf]]), ValueError, "infinity"),
        ("abc", TypeError, "got a string"),
        ([np.ones(3), np.ones((2, 4))], ValueError, "mixes 1-D and 2-D"),
        ([np.ones((1, 3)), np.ones((2, 4))], ValueError, "mixes series with"),
    ],
)
def test_bad_input_is_named(X, error, match):
    with pytest.raises(error, match=match):
        check_signals(X)


def test_nan_only_where_allowed_and_never_infinity():
    X = np.array([[1.0, np.nan, 3.0]])
    assert np.isnan(check_signals(X, allow_nan=True).arrays).sum() == 1
    with pytest.raises(ValueError, match="infinity"):
        check_signals(np.array([[1.0, np.inf]]), allow_nan=True)


def test_min_length_and_lists_refused_where_needed():
    with pytest.raises(ValueError, match="at least 4 are needed"):
        check_signals(np.ones((2, 3)), min_length=4)
    with pytest.raises(ValueError, match="needs equal lengths"):
        check_signals([np.ones(3), np.ones(4)], allow_list=False)


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_strict_intervals_refuse_bools(value):
    assert not int_at_least(0).is_satisfied_by(value)
    assert not StrictInterval(Real, 0, 1, closed="both").is_satisfied_by(value)


@pytest.mark.parametrize("value", [1, np.int64(3), np.uint8(2)])
def test_strict_intervals_accept_numpy_integers(value):
    assert int_at_least(1).is_satisfied_by(value)
    assert StrictInterval(Integral, 1, None, closed="left").is_satisfied_by(value)


@pytest.mark.parametrize("value", [np.nan, 0, np.float32(-1.5)])
def test_missing_values_marker(value):
    validate_parameter_constraints({"m": MISSING_VALUES}, {"m": value}, "f")  # no error


@pytest.mark.parametrize("value", [np.inf, -np.inf, "NA", None, True])
def test_missing_values_marker_refuses(value):
    with pytest.raises(ValueError, match="'m' parameter of f"):
        validate_parameter_constraints({"m": MISSING_VALUES}, {"m": value}, "f")
