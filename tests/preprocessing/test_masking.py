"""hide_at_random and missing_mask: counts, uniformity, markers, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.utils._param_validation import InvalidParameterError

from tsfilm.preprocessing import hide_at_random, missing_mask


def test_hides_the_rounded_share_of_observed_entries(rng):
    X = rng.normal(size=(10, 50))
    X[X > 1.5] = np.nan
    n_observed = int((~np.isnan(X)).sum())
    X_hidden, hidden = hide_at_random(X, 0.3, random_state=0)
    assert hidden.sum() == round(0.3 * n_observed)
    assert not np.isnan(X[hidden]).any()  # only observed entries are hidden
    assert np.isnan(X_hidden[hidden]).all()
    np.testing.assert_array_equal(X_hidden[~hidden], X[~hidden])
    assert np.isnan(X_hidden).sum() == np.isnan(X).sum() + hidden.sum()


def test_input_not_modified_and_dtype_kept(rng):
    X = rng.normal(size=(3, 2, 20)).astype(np.float32)
    before = X.copy()
    X_hidden, hidden = hide_at_random(X, 0.5, random_state=1)
    np.testing.assert_array_equal(X, before)
    assert X_hidden.dtype == np.float32 and X_hidden.shape == X.shape
    assert hidden.dtype == bool and hidden.shape == X.shape


def test_same_seed_same_entries_and_generators_accepted(rng):
    X = rng.normal(size=(4, 30))
    a = hide_at_random(X, 0.2, random_state=5)[1]
    b = hide_at_random(X, 0.2, random_state=5)[1]
    c = hide_at_random(X, 0.2, random_state=6)[1]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    for state in (np.random.default_rng(0), np.random.RandomState(0)):
        assert hide_at_random(X, 0.2, random_state=state)[1].sum() == 24


def test_choice_is_uniform_over_observed_entries():
    X = np.ones((1, 20))
    counts = sum(hide_at_random(X, 0.25, random_state=s)[1][0].astype(int) for s in range(2000))
    # Each entry is hidden with probability 0.25: 500 of 2000 draws, sd about 19.
    assert counts.min() > 420 and counts.max() < 580


def test_zero_coded_missing_values():
    X = np.array([[0.0, 1.0, 2.0, 0.0, 3.0, 4.0]])
    X_hidden, hidden = hide_at_random(X, 0.5, random_state=0, missing_values=0)
    assert hidden.sum() == 2 and not hidden[0, [0, 3]].any()
    assert (X_hidden[hidden] == 0).all()
    np.testing.assert_array_equal(missing_mask(X_hidden, 0), (X == 0) | hidden)


def test_rate_edges(rng):
    X = rng.normal(size=(2, 10))
    assert not hide_at_random(X, 0.0, random_state=0)[1].any()
    assert hide_at_random(X, 1.0, random_state=0)[1].all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rate": 1.5}, r"'rate' parameter .* a float in the range \[0\.0, 1\.0\]\. Got 1\.5"),
        ({"rate": "0.1"}, r"'rate' parameter of hide_at_random .* Got '0\.1' instead"),
        ({"rate": True}, r"'rate' parameter of hide_at_random .* Got True instead"),
        ({"rate": 0.1, "random_state": "seed"}, "'random_state' parameter of hide_at_random"),
        ({"rate": 0.1, "random_state": -1}, "'random_state' parameter of hide_at_random"),
        ({"rate": 0.1, "missing_values": None}, "'missing_values' parameter of hide_at_random"),
        ({"rate": 0.1, "missing_values": np.inf}, r"'missing_values' .* or numpy\.nan\. Got inf"),
        ({"rate": 0.1, "missing_values": False}, "'missing_values' parameter of hide_at_random"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        hide_at_random(np.ones((2, 4)), **kwargs)


def test_numpy_scalars_are_accepted(rng):
    X = rng.normal(size=(2, 10))
    expected = hide_at_random(X, 0.5, random_state=3)[1]
    hidden = hide_at_random(X, np.float32(0.5), random_state=np.int64(3))[1]
    np.testing.assert_array_equal(hidden, expected)


def test_missing_mask_names_the_marker():
    with pytest.raises(InvalidParameterError, match="'missing_values' parameter of missing_mask"):
        missing_mask(np.zeros(3), missing_values="NA")
    with pytest.raises(InvalidParameterError, match="'missing_values' parameter of missing_mask"):
        missing_mask(np.zeros(3), missing_values=-np.inf)
    assert missing_mask(np.array([0.0, 1.0]), missing_values=np.int64(0)).tolist() == [True, False]


def test_bad_values_are_refused():
    with pytest.raises(ValueError, match="Input X contains infinity"):
        hide_at_random(np.array([[1.0, np.inf]]), 0.5)
    with pytest.raises(ValueError, match="contains NaN but missing_values=0"):
        hide_at_random(np.array([[1.0, np.nan]]), 0.5, missing_values=0)
    with pytest.raises(ValueError, match="could not convert string to float"):
        hide_at_random(np.array([["a", "b"]]), 0.5)
    with pytest.raises(ValueError, match="X must be 2-D or 3-D; got 4 dimensions"):
        hide_at_random(np.ones((1, 1, 1, 4)), 0.5)
    with pytest.raises(InvalidParameterError, match="'X' parameter of hide_at_random"):
        hide_at_random(1.0, 0.5)


@pytest.mark.parametrize("shape", [(12,), (3, 12), (2, 3, 12)])
def test_keeps_the_callers_layout(rng, shape):
    X_hidden, hidden = hide_at_random(rng.normal(size=shape), 0.5, random_state=0)
    assert X_hidden.shape == hidden.shape == shape
    assert hidden.sum() == np.prod(shape) // 2


def test_missing_mask_on_integers_with_nan_marker():
    assert not missing_mask(np.arange(4)).any()


@settings(max_examples=25, deadline=None)
@given(
    X=arrays(
        np.float64,
        st.tuples(st.integers(1, 4), st.integers(1, 12)),
        elements=st.one_of(st.just(np.nan), st.floats(-100, 100)),
    ),
    rate=st.floats(0, 1),
    seed=st.integers(0, 2**16),
)
def test_property_hidden_entries_were_observed_and_count_is_exact(X, rate, seed):
    X_hidden, hidden = hide_at_random(X, rate, random_state=seed)
    observed = ~np.isnan(X)
    assert not (hidden & ~observed).any()
    assert hidden.sum() == int(np.rint(rate * observed.sum()))
    np.testing.assert_array_equal(np.isnan(X_hidden), ~observed | hidden)
    np.testing.assert_array_equal(X_hidden[~np.isnan(X_hidden)], X[observed & ~hidden])
