"""Tests for tsfilm.preprocessing.patching: random patches, chunk spans, overlap-add."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsfilm.preprocessing import chunk_spans, overlap_add, random_patches

# ------------------------------------------------------------------ random_patches


@pytest.mark.parametrize(
    ("shape", "expected"),
    [((4, 2, 30), (7, 2, 5)), ((4, 30), (7, 5)), ((30,), (7, 5))],
)
def test_random_patches_shape_keeps_the_callers_rank(rng, shape, expected):
    assert random_patches(rng.standard_normal(shape), 5, 7, random_state=0).shape == expected


def test_random_patches_are_the_slices_at_the_returned_starts(rng):
    X = rng.standard_normal((3, 2, 20))
    patches, series, starts = random_patches(X, 6, 50, random_state=1, return_starts=True)
    assert series.dtype == starts.dtype == np.int64
    for patch, i, start in zip(patches, series, starts, strict=True):
        np.testing.assert_array_equal(patch, X[i, :, start : start + 6])
    assert starts.min() >= 0 and starts.max() <= 20 - 6


def test_random_patches_from_series_of_different_lengths(rng):
    X = [rng.standard_normal((2, 9)), rng.standard_normal((2, 30))]
    patches, series, starts = random_patches(X, 8, 40, random_state=0, return_starts=True)
    assert patches.shape == (40, 2, 8)
    for patch, i, start in zip(patches, series, starts, strict=True):
        np.testing.assert_array_equal(patch, X[i][:, start : start + 8])
    one_channel = random_patches([np.arange(9.0), np.arange(30.0)], 8, 3, random_state=0)
    assert one_channel.shape == (3, 8)


def test_random_patches_are_uniform_over_all_possible_patches():
    # Series of lengths 5 and 10 hold 2 and 7 patches of length 4: 9 in all.
    X = [np.zeros(5), np.zeros(10)]
    _, series, starts = random_patches(X, 4, 9000, random_state=0, return_starts=True)
    counts = np.bincount(np.where(series == 0, starts, 2 + starts), minlength=9)
    assert counts.sum() == 9000
    # Each count is Binomial(9000, 1/9): mean 1000, standard deviation about 30.
    assert np.all(np.abs(counts - 1000) < 150)


def test_random_patches_random_state_types(rng):
    X = rng.standard_normal((3, 40))
    np.testing.assert_array_equal(
        random_patches(X, 5, 4, random_state=3), random_patches(X, 5, 4, random_state=3)
    )
    generator = random_patches(X, 5, 4, random_state=np.random.default_rng(3))
    np.testing.assert_array_equal(generator, random_patches(X, 5, 4, random_state=3))
    legacy = random_patches(X, 5, 4, random_state=np.random.RandomState(3))
    assert legacy.shape == (4, 5)
    with pytest.raises(TypeError, match="random_state must be"):
        random_patches(X, 5, 4, random_state="seed")


def test_random_patches_copies_nan_keeps_float32_and_leaves_input_alone(rng):
    X = rng.standard_normal((2, 1, 12)).astype(np.float32)
    X[:, :, 3] = np.nan
    before = X.copy()
    patches = random_patches(X, 12, 2, random_state=0)
    assert patches.dtype == np.float32
    assert np.isnan(patches[:, :, 3]).all()
    patches[...] = 0
    np.testing.assert_array_equal(X, before)


def test_random_patches_zero_patches(rng):
    assert random_patches(rng.standard_normal((2, 3, 10)), 4, 0).shape == (0, 3, 4)


def test_random_patches_errors(rng):
    with pytest.raises(ValueError, match=r"longer than the shortest series \(3 time steps\)"):
        random_patches([np.zeros(10), np.zeros(3)], 4, 2)
    with pytest.raises(ValueError, match=r"shortest series \(10 time steps\)"):
        random_patches(np.zeros((2, 10)), 11, 2)
    with pytest.raises(ValueError, match="patch_length must be an integer >= 1"):
        random_patches(np.zeros((2, 10)), 0, 2)
    with pytest.raises(TypeError, match="n_patches must be an integer"):
        random_patches(np.zeros((2, 10)), 2, 2.5)
    with pytest.raises(ValueError, match="same number of channels"):
        random_patches([np.zeros((2, 10)), np.zeros((3, 10))], 4, 2)
    with pytest.raises(ValueError, match="got \\(1, 1, 1, 10\\)"):
        random_patches(np.zeros((1, 1, 1, 10)), 4, 2)


# --------------------------------------------------------------------- chunk_spans


def test_chunk_spans_examples():
    assert chunk_spans(10, 4, 1) == [(0, 4), (3, 7), (6, 10)]
    assert chunk_spans(11, 4, 1) == [(0, 4), (3, 7), (6, 10), (7, 11)]
    assert chunk_spans(8, 4, 0) == [(0, 4), (4, 8)]
    assert chunk_spans(4, 4, 2) == [(0, 4)]
    assert chunk_spans(3, 4, 2) == [(0, 3)]


@settings(max_examples=25, deadline=None)
@given(length=st.integers(1, 300), chunk_length=st.integers(1, 40), data=st.data())
def test_chunk_spans_properties(length, chunk_length, data):
    overlap = data.draw(st.integers(0, chunk_length - 1))
    spans = chunk_spans(length, chunk_length, overlap)
    assert spans[0][0] == 0 and spans[-1][1] == length
    assert all(stop - start == min(chunk_length, length) for start, stop in spans)
    for (start, stop), (next_start, next_stop) in itertools.pairwise(spans):
        assert start < next_start and stop < next_stop
        assert stop - next_start >= overlap
    # Only the shifted last chunk may overlap by more than asked.
    for (_, stop), (next_start, _) in itertools.pairwise(spans[:-1]):
        assert stop - next_start == overlap


def test_chunk_spans_errors():
    with pytest.raises(ValueError, match="overlap must be smaller than chunk_length"):
        chunk_spans(10, 4, 4)
    with pytest.raises(ValueError, match="length must be an integer >= 1"):
        chunk_spans(0, 4, 1)
    with pytest.raises(TypeError, match="chunk_length must be an integer"):
        chunk_spans(10, 4.0, 1)


# --------------------------------------------------------------------- overlap_add


@settings(max_examples=25, deadline=None)
@given(
    length=st.integers(1, 200),
    chunk_length=st.integers(1, 50),
    leading=st.sampled_from([(), (2,), (2, 3)]),
    data=st.data(),
)
def test_overlap_add_of_slices_is_the_signal(length, chunk_length, leading, data):
    overlap = data.draw(st.integers(0, chunk_length - 1))
    x = np.random.default_rng(length).standard_normal((*leading, length))
    spans = chunk_spans(length, chunk_length, overlap)
    chunks = (x[..., start:stop] for start, stop in spans)  # lazily, one at a time
    out = overlap_add(chunks, spans, length, overlap)
    assert out.shape == x.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, x, rtol=1e-12, atol=1e-12)


def test_overlap_add_float32(rng):
    x = rng.standard_normal((2, 50)).astype(np.float32)
    spans = chunk_spans(50, 16, 6)
    out = overlap_add([x[..., a:b] for a, b in spans], spans, 50, 6)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x, rtol=1e-6, atol=1e-6)


def test_overlap_add_cross_fades_linearly():
    spans = [(0, 6), (3, 9)]  # three shared samples
    out = overlap_add([np.zeros(6), np.full(3 + 3, 4.0)], spans, 9, 3)
    # Weights of the second chunk in the overlap: 1/4, 2/4, 3/4.
    np.testing.assert_allclose(out, [0, 0, 0, 1, 2, 3, 4, 4, 4])


def test_overlap_add_does_not_modify_chunks(rng):
    x = rng.standard_normal(20)
    spans = chunk_spans(20, 8, 3)
    chunks = [x[a:b].copy() for a, b in spans]
    before = [c.copy() for c in chunks]
    overlap_add(chunks, spans, 20, 3)
    for chunk, original in zip(chunks, before, strict=True):
        np.testing.assert_array_equal(chunk, original)


def test_overlap_add_errors():
    spans = chunk_spans(10, 4, 1)  # [(0, 4), (3, 7), (6, 10)]
    good = [np.zeros(4)] * 3
    with pytest.raises(ValueError, match="Got 2 chunks for 3 spans"):
        overlap_add(iter(good[:2]), spans, 10, 1)
    with pytest.raises(ValueError, match="more chunks than spans"):
        overlap_add([*good, np.zeros(4)], spans, 10, 1)
    with pytest.raises(ValueError, match=r"chunk 1 has shape \(5,\)"):
        overlap_add([np.zeros(4), np.zeros(5), np.zeros(4)], spans, 10, 1)
    with pytest.raises(ValueError, match=r"chunk 1 has shape \(2, 4\)"):
        overlap_add([np.zeros(4), np.zeros((2, 4)), np.zeros(4)], spans, 10, 1)
    with pytest.raises(ValueError, match=r"must cover \[0, 12\)"):
        overlap_add(good, spans, 12, 1)
    with pytest.raises(ValueError, match="fewer than overlap=2"):
        overlap_add(good, spans, 10, 2)
    with pytest.raises(ValueError, match="a negative overlap is a gap"):
        overlap_add(good, [(0, 4), (5, 9), (6, 10)], 10, 0)
    with pytest.raises(ValueError, match="strictly increasing"):
        overlap_add(good, [(0, 4), (0, 7), (6, 10)], 10, 1)
    with pytest.raises(TypeError, match="integer pairs"):
        overlap_add(good, [(0, 4.0)], 4, 0)
