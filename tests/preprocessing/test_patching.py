"""Tests for tsfilm.preprocessing.patching: chunk spans and overlap-add."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils._param_validation import InvalidParameterError

from tsfilm.preprocessing import chunk_spans, overlap_add

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
    with pytest.raises(ValueError, match="overlap must be smaller than chunk_length") as info:
        chunk_spans(10, 4, 4)
    assert type(info.value) is ValueError
    assert chunk_spans(np.int64(10), np.int32(4), np.uint8(1)) == chunk_spans(10, 4, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 4, 1), r"'length' parameter of chunk_spans must be an int in the range \[1, inf\)"),
        ((10, 4.0, 1), r"'chunk_length' parameter of chunk_spans .* Got 4\.0 instead"),
        ((10, 4, -1), r"'overlap' parameter of chunk_spans .* \[0, inf\)\. Got -1 instead"),
        ((10, True, 0), r"'chunk_length' parameter of chunk_spans .* Got True instead"),
    ],
)
def test_chunk_spans_bad_parameters(args, message):
    with pytest.raises(InvalidParameterError, match=message):
        chunk_spans(*args)


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
    with pytest.raises(InvalidParameterError, match="'length' parameter of overlap_add"):
        overlap_add(good, spans, 10.0, 1)
    with pytest.raises(InvalidParameterError, match="'overlap' parameter of overlap_add"):
        overlap_add(good, spans, 10, -1)
    with pytest.raises(InvalidParameterError, match="'spans' parameter of overlap_add"):
        overlap_add(good, iter(spans), 10, 1)
    with pytest.raises(ValueError, match="Input chunk 1 contains infinity"):
        overlap_add([np.zeros(4), np.full(4, np.inf), np.zeros(4)], spans, 10, 1)
    with pytest.raises(ValueError, match="chunk 0 must be 2-D or 3-D; got 4 dimensions"):
        overlap_add([np.zeros((1, 1, 1, 4))] * 3, spans, 10, 1)


def test_overlap_add_carries_nan_through():
    spans = chunk_spans(10, 4, 1)
    out = overlap_add([np.full(4, np.nan), np.ones(4), np.ones(4)], spans, 10, 1)
    assert np.isnan(out[:4]).all() and (out[4:] == 1).all()


def test_overlap_add_memory_follows_the_chunk_not_the_signal():
    import tracemalloc

    length, chunk = 2_000_000, 4096
    spans = chunk_spans(length, chunk, chunk // 8)
    tracemalloc.start()
    out = overlap_add(
        (np.ones(stop - start, np.float32) for start, stop in spans), spans, length, 512
    )
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_allclose(out, 1.0, rtol=1e-6)
    assert peak - out.nbytes < 50 * chunk * 8  # a few chunk-sized buffers, no full-length one
