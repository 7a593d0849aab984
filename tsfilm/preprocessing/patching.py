"""Cut long signals into chunks and stitch the chunked predictions back together."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Sequence

import numpy as np

from tsfilm.preprocessing._checks import check_series
from tsfilm.validation import int_at_least, validate_params

__all__ = ["chunk_spans", "overlap_add"]


@validate_params(
    {"length": [int_at_least(1)], "chunk_length": [int_at_least(1)], "overlap": [int_at_least(0)]},
    prefer_skip_nested_validation=True,
)
def chunk_spans(length: int, chunk_length: int, overlap: int) -> list[tuple[int, int]]:
    """Plan overlapping chunks ``[start, stop)`` that cover ``[0, length)``.

    Chunks start at ``0, step, 2 * step, ...`` with ``step = chunk_length - overlap``
    and all have ``chunk_length`` samples (for networks that need a fixed input
    length): the last one is shifted back to end at ``length``, overlapping its
    predecessor by ``overlap`` or more. A signal no longer than ``chunk_length`` is one
    chunk ``(0, length)``.

    Parameters
    ----------
    length : int
        Length of the signal, >= 1.
    chunk_length : int
        Length of each chunk, >= 1.
    overlap : int
        Samples shared by consecutive chunks, ``0 <= overlap < chunk_length``.

    Returns
    -------
    list of (int, int)
        ``(start, stop)`` pairs with strictly increasing starts and stops; the first
        starts at 0 and the last stops at ``length``.

    See Also
    --------
    overlap_add : Blend the chunks' outputs back into one signal.

    Examples
    --------
    >>> chunk_spans(10, 4, 1)
    [(0, 4), (3, 7), (6, 10)]
    >>> chunk_spans(11, 4, 1)  # the last chunk is shifted back to end at 11
    [(0, 4), (3, 7), (6, 10), (7, 11)]
    >>> chunk_spans(3, 4, 1)
    [(0, 3)]
    """
    length, chunk_length, overlap = int(length), int(chunk_length), int(overlap)
    if overlap >= chunk_length:
        raise ValueError(
            f"overlap must be smaller than chunk_length; got overlap={overlap} and "
            f"chunk_length={chunk_length}."
        )
    if length <= chunk_length:
        return [(0, length)]
    step = chunk_length - overlap
    spans = []
    start = 0
    while start + chunk_length < length:
        spans.append((start, start + chunk_length))
        start += step
    spans.append((length - chunk_length, length))
    return spans


def _check_spans(spans: object, length: int, overlap: int) -> list[tuple[int, int]]:
    try:
        checked = [(operator.index(a), operator.index(b)) for a, b in spans]
    except (TypeError, ValueError):
        raise TypeError(
            "spans must be a sequence of (start, stop) integer pairs, as returned by chunk_spans."
        ) from None
    if not checked:
        raise ValueError("spans is empty; use chunk_spans(length, chunk_length, overlap).")
    if checked[0][0] != 0 or checked[-1][1] != length:
        raise ValueError(
            f"spans must cover [0, {length}): they run from {checked[0][0]} to "
            f"{checked[-1][1]}. Build them with chunk_spans(length, ...)."
        )
    for (start, stop), (next_start, next_stop) in itertools.pairwise(checked):
        if not (start < stop and start < next_start and stop < next_stop):
            raise ValueError(
                "spans must be non-empty with strictly increasing starts and stops; got "
                f"({start}, {stop}) followed by ({next_start}, {next_stop})."
            )
        if stop - next_start < overlap:
            raise ValueError(
                f"Consecutive spans ({start}, {stop}) and ({next_start}, {next_stop}) "
                f"overlap by {stop - next_start} samples, fewer than overlap={overlap} "
                "(a negative overlap is a gap)."
            )
    if checked[-1][0] >= checked[-1][1]:
        raise ValueError(f"span {checked[-1]} is empty.")
    return checked


def _chunk_weight(spans: list[tuple[int, int]], k: int) -> np.ndarray:
    """Chunk ``k``'s weights, (j + 1) / (m + 1) across an overlap of m: two sum to 1."""
    start, stop = spans[k]
    size = stop - start
    fade_in = spans[k - 1][1] - start if k > 0 else 0
    fade_out = stop - spans[k + 1][0] if k + 1 < len(spans) else 0
    position = np.arange(size, dtype=np.float64)
    rising = (position + 1) / (fade_in + 1) if fade_in else np.ones(size)
    falling = (size - position) / (fade_out + 1) if fade_out else np.ones(size)
    return np.minimum(np.minimum(rising, falling), 1.0)


def _blend(spans: list[tuple[int, int]], k: int) -> np.ndarray:
    """Chunk ``k``'s weights divided by the sum of every weight on its span.

    Only the chunks that overlap chunk ``k`` are visited, so memory follows the chunk,
    not the signal.
    """
    start, stop = spans[k]
    first = k
    while first > 0 and spans[first - 1][1] > start:
        first -= 1
    total = np.zeros(stop - start)
    j = first
    while j < len(spans) and spans[j][0] < stop:
        lo, hi = spans[j]
        a, b = max(lo, start), min(hi, stop)
        total[a - start : b - start] += _chunk_weight(spans, j)[a - lo : b - lo]
        j += 1
    return _chunk_weight(spans, k) / total


@validate_params(
    {
        "chunks": "no_validation",  # an iterable, possibly lazy: checked chunk by chunk
        "spans": ["array-like"],
        "length": [int_at_least(1)],
        "overlap": [int_at_least(0)],
    },
    prefer_skip_nested_validation=True,
)
def overlap_add(
    chunks: Iterable[object],
    spans: Sequence[tuple[int, int]],
    length: int,
    overlap: int,
) -> np.ndarray:
    """Blend overlapping chunks back into one signal with linear cross-fades.

    Chunk ``k`` covers ``[spans[k][0], spans[k][1])``. Across the overlap of two
    neighbouring chunks the first fades out and the second fades in linearly; the
    weights of every sample are normalised to sum to 1, so chunks that are slices of
    one signal give that signal back up to rounding. Chunks are consumed one at a
    time and the weights are computed chunk by chunk, so a generator keeps memory at the
    output plus a few chunks, whatever the length.

    Parameters
    ----------
    chunks : iterable of array-like of shape (stop - start,), (n_series, stop - start) \
or (n_series, n_channels, stop - start)
        One chunk per span, in the order of ``spans``; all with the same leading
        shape. NaN is allowed, infinity is not. May be a generator.
    spans : sequence of (int, int)
        ``(start, stop)`` pairs, usually ``chunk_spans(length, chunk_length, overlap)``:
        strictly increasing starts and stops, first start 0, last stop ``length``.
    length : int
        Length of the output signal.
    overlap : int
        The overlap the spans were planned with; consecutive spans must share at least
        this many samples (the cross-fade uses the actual overlap).

    Returns
    -------
    ndarray of shape (..., length)
        The blended signal; float32 if the first chunk is float32, else float64.

    Raises
    ------
    ValueError
        If the spans do not cover ``[0, length)`` as described, or the chunks do not
        match the spans in number or shape.

    See Also
    --------
    chunk_spans : Plan the spans.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(10.0)
    >>> spans = chunk_spans(10, 4, 2)
    >>> chunks = (x[start:stop] for start, stop in spans)
    >>> bool(np.allclose(overlap_add(chunks, spans, 10, 2), x))
    True
    """
    length, overlap = int(length), int(overlap)
    spans = _check_spans(spans, length, overlap)
    output = None
    n_chunks = 0
    for chunk in chunks:
        if n_chunks >= len(spans):
            raise ValueError(f"Got more chunks than spans ({len(spans)}).")
        start, stop = spans[n_chunks]
        chunk = check_series(chunk, f"chunk {n_chunks}", allow_nan=True)
        if output is None:
            output = np.zeros((*chunk.shape[:-1], length), dtype=chunk.dtype)
        if chunk.shape != (*output.shape[:-1], stop - start):
            raise ValueError(
                f"chunk {n_chunks} has shape {chunk.shape}; its span ({start}, {stop}) "
                f"and the first chunk need shape {(*output.shape[:-1], stop - start)}."
            )
        output[..., start:stop] += chunk * _blend(spans, n_chunks).astype(output.dtype)
        n_chunks += 1
    if n_chunks != len(spans):
        raise ValueError(f"Got {n_chunks} chunks for {len(spans)} spans; pass one chunk per span.")
    return output
