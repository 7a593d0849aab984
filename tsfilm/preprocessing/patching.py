"""Cut signals into patches for training and stitch chunked predictions back together.

Networks train on short random patches (the paper uses 8192 samples) and, to keep memory
bounded, predict long signals chunk by chunk: :func:`chunk_spans` plans overlapping
chunks and :func:`overlap_add` blends the chunk outputs back with linear cross-fades.
The time axis is the last axis of every array.
"""

from __future__ import annotations

import itertools
import numbers
import operator
from collections.abc import Iterable, Sequence

import numpy as np

from tsfilm.preprocessing.resample import _float_signal

__all__ = ["chunk_spans", "overlap_add", "random_patches"]


def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    value = operator.index(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}.")
    return value


def _draw_integers(random_state: object, high: int, size: int) -> np.ndarray:
    """Draw ``size`` integers uniformly from ``[0, high)`` with any usual seed type.

    Accepts None, an int seed, a ``numpy.random.Generator`` or a legacy
    ``numpy.random.RandomState`` (what ``sklearn.utils.check_random_state`` returns).
    """
    if isinstance(random_state, np.random.RandomState):
        return random_state.randint(high, size=size, dtype=np.int64)
    if isinstance(random_state, bool) or not (
        random_state is None or isinstance(random_state, (numbers.Integral, np.random.Generator))
    ):
        raise TypeError(
            "random_state must be None, an int, a numpy.random.Generator or a "
            f"numpy.random.RandomState; got {random_state!r}."
        )
    return np.random.default_rng(random_state).integers(high, size=size, dtype=np.int64)


def _as_series(X: object) -> tuple[list[np.ndarray] | np.ndarray, bool]:
    """Return ``(series, ragged)``: a 3-D array, or a list of 2-D arrays when ragged.

    Every series is viewed as (n_channels, n_timesteps); the caller restores the
    caller's rank.
    """
    if isinstance(X, (list, tuple)):
        series = [_float_signal(x, f"X[{i}]", allow_nonfinite=True) for i, x in enumerate(X)]
        if not series:
            raise ValueError("X is an empty sequence; pass at least one series.")
        ndims = {s.ndim for s in series}
        if len(ndims) > 1 or ndims - {1, 2}:
            raise ValueError(
                "A sequence X must hold series of shape (n_timesteps,) or "
                "(n_channels, n_timesteps), all of the same rank; got ranks "
                f"{sorted(ndims)}."
            )
        series = [s.reshape(-1, s.shape[-1]) for s in series]
        channels = {s.shape[0] for s in series}
        if len(channels) > 1:
            raise ValueError(
                f"All series in X must have the same number of channels; got {sorted(channels)}."
            )
        dtypes = {s.dtype for s in series}
        dtype = np.float32 if dtypes == {np.dtype(np.float32)} else np.float64
        return [s.astype(dtype, copy=False) for s in series], True
    array = _float_signal(X, "X", allow_nonfinite=True)
    if array.ndim > 3:
        raise ValueError(
            "X must have shape (n_timesteps,), (n_series, n_timesteps) or "
            f"(n_series, n_channels, n_timesteps); got {array.shape}."
        )
    if array.ndim < 3:
        array = array.reshape(-1, 1, array.shape[-1])
    if array.shape[0] == 0:
        raise ValueError(f"X holds no series (shape {array.shape}).")
    return array, False


def random_patches(
    X: object,
    patch_length: int,
    n_patches: int,
    random_state: object = None,
    *,
    return_starts: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw random fixed-length patches from a collection of series.

    Every possible patch (every series and every start position at which a whole patch
    fits) is equally likely, and patches are drawn independently with replacement.
    For an array this is a uniform series and, independently, a uniform start. For a
    sequence of series of different lengths, a longer series holds more possible
    patches and is drawn more often, so every time step weighs about the same.

    Parameters
    ----------
    X : array-like of shape (n_timesteps,), (n_series, n_timesteps) or \
(n_series, n_channels, n_timesteps), or a sequence of arrays
        The series, time on the last axis; NaN is allowed (it is copied like any
        value). A list or tuple may hold series of different lengths, each of shape
        (n_timesteps_i,) or (n_channels, n_timesteps_i). Not modified.
    patch_length : int
        Number of time steps per patch, >= 1.
    n_patches : int
        Number of patches to draw, >= 0.
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState, \
default=None
        Source of randomness; an int makes the draw reproducible.
    return_starts : bool, default=False
        Also return where each patch came from.

    Returns
    -------
    patches : ndarray of shape (n_patches, n_channels, patch_length), or \
(n_patches, patch_length) when the series have no channel axis
        Copies of the drawn windows; float32 if the input is float32, else float64.
    series_index : ndarray of shape (n_patches,), dtype int64
        Returned only when ``return_starts`` is True: the series each patch comes from.
    starts : ndarray of shape (n_patches,), dtype int64
        Returned only when ``return_starts`` is True: ``patches[k]`` equals
        ``X[series_index[k]][..., starts[k]:starts[k] + patch_length]``.

    Raises
    ------
    TypeError
        If ``patch_length``, ``n_patches`` or ``random_state`` has the wrong type.
    ValueError
        If a series is shorter than ``patch_length`` (the message names the shortest
        length), or the input has an unsupported shape.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(20.0).reshape(2, 1, 10)
    >>> patches, series, starts = random_patches(X, 4, 3, random_state=0, return_starts=True)
    >>> patches.shape
    (3, 1, 4)
    >>> bool(np.array_equal(patches[0, 0], X[series[0], 0, starts[0]:starts[0] + 4]))
    True
    """
    patch_length = _check_int(patch_length, "patch_length", 1)
    n_patches = _check_int(n_patches, "n_patches", 0)
    series, ragged = _as_series(X)
    # Keep the caller's rank: a channel axis comes back only if the input had one.
    keep_channels = np.ndim(X[0]) == 2 if ragged else np.ndim(X) == 3
    lengths = np.array([s.shape[-1] for s in series], dtype=np.int64)
    shortest = int(lengths.min())
    if shortest < patch_length:
        raise ValueError(
            f"patch_length={patch_length} is longer than the shortest series "
            f"({shortest} time steps); use a shorter patch_length or drop short series."
        )

    # Draw a flat index over all (series, start) pairs so each possible patch is
    # equally likely, then map it back to its series and start.
    n_starts = lengths - patch_length + 1
    bounds = np.cumsum(n_starts)
    flat = _draw_integers(random_state, int(bounds[-1]), n_patches)
    series_index = np.searchsorted(bounds, flat, side="right").astype(np.int64)
    starts = flat - (bounds[series_index] - n_starts[series_index])

    if ragged:
        n_channels = series[0].shape[0]
        patches = np.empty((n_patches, n_channels, patch_length), dtype=series[0].dtype)
        for k, (i, start) in enumerate(zip(series_index, starts, strict=True)):
            patches[k] = series[i][:, start : start + patch_length]
    else:
        windows = np.lib.stride_tricks.sliding_window_view(series, patch_length, axis=-1)
        # Advanced indices around a slice put the patch axis first: (n_patches, C, L).
        patches = windows[series_index, :, starts]
    if not keep_channels:
        patches = patches[:, 0, :]
    patches = np.ascontiguousarray(patches)
    if return_starts:
        return patches, series_index, starts
    return patches


def chunk_spans(length: int, chunk_length: int, overlap: int) -> list[tuple[int, int]]:
    """Plan overlapping chunks ``[start, stop)`` that cover ``[0, length)``.

    Chunks start at ``0, step, 2 * step, ...`` with ``step = chunk_length - overlap``.
    Every chunk has exactly ``chunk_length`` samples, so a network that needs a fixed
    input length can process all of them: the last chunk is shifted back to end at
    ``length``, and therefore overlaps its predecessor by ``overlap`` samples or more.
    A signal no longer than ``chunk_length`` is one chunk ``(0, length)``, shorter than
    ``chunk_length`` when ``length < chunk_length``.

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

    Raises
    ------
    TypeError
        If an argument is not an integer.
    ValueError
        If an argument is out of range.

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
    length = _check_int(length, "length", 1)
    chunk_length = _check_int(chunk_length, "chunk_length", 1)
    overlap = _check_int(overlap, "overlap", 0)
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


def _chunk_weights(spans: list[tuple[int, int]]) -> list[np.ndarray]:
    """Linear fade-in / fade-out weight of each chunk, before normalisation.

    A chunk fades in across its overlap with the previous chunk and out across its
    overlap with the next, with values (j + 1) / (m + 1) for an overlap of m samples,
    so two chunks sharing m samples have weights that sum to 1 there and are never 0.
    """
    weights = []
    for k, (start, stop) in enumerate(spans):
        size = stop - start
        fade_in = spans[k - 1][1] - start if k > 0 else 0
        fade_out = stop - spans[k + 1][0] if k + 1 < len(spans) else 0
        position = np.arange(size, dtype=np.float64)
        rising = (position + 1) / (fade_in + 1) if fade_in else np.ones(size)
        falling = (size - position) / (fade_out + 1) if fade_out else np.ones(size)
        weights.append(np.minimum(np.minimum(rising, falling), 1.0))
    return weights


def overlap_add(
    chunks: Iterable[object],
    spans: Sequence[tuple[int, int]],
    length: int,
    overlap: int,
) -> np.ndarray:
    """Blend overlapping chunks back into one signal with linear cross-fades.

    Chunk ``k`` covers ``[spans[k][0], spans[k][1])``. Inside the overlap of two
    neighbouring chunks the first fades out and the second fades in linearly, across
    the whole overlap, with weights that sum to 1 at every sample; elsewhere a chunk
    has weight 1. If more than two chunks share a sample (``overlap`` above half the
    chunk length) the weights are normalised to sum to 1. Hence if every chunk is the
    matching slice of one signal, the result is that signal up to float rounding.

    Chunks are consumed one at a time and added into a single output buffer, so a
    generator that produces them lazily keeps memory at the output plus one chunk.

    Parameters
    ----------
    chunks : iterable of array-like of shape (..., stop - start)
        One chunk per span, in the order of ``spans``; all with the same leading
        shape. May be a generator.
    spans : sequence of (int, int)
        ``(start, stop)`` pairs, usually ``chunk_spans(length, chunk_length, overlap)``:
        strictly increasing starts and stops, first start 0, last stop ``length``.
    length : int
        Length of the output signal.
    overlap : int
        The overlap the spans were planned with; every pair of consecutive spans must
        share at least this many samples (the cross-fade uses the actual overlap,
        which is larger before a last chunk that :func:`chunk_spans` shifted back).

    Returns
    -------
    ndarray of shape (..., length)
        The blended signal; float32 if the first chunk is float32, else float64.

    Raises
    ------
    TypeError
        If ``spans`` is not a sequence of integer pairs or a chunk is not numeric.
    ValueError
        If the spans do not cover ``[0, length)`` as described, a chunk's shape does
        not match its span or the first chunk's leading shape, or the number of chunks
        differs from the number of spans.

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
    length = _check_int(length, "length", 1)
    overlap = _check_int(overlap, "overlap", 0)
    spans = _check_spans(spans, length, overlap)
    weights = _chunk_weights(spans)
    total = np.zeros(length)
    for (start, stop), weight in zip(spans, weights, strict=True):
        total[start:stop] += weight

    output = None
    n_chunks = 0
    for chunk in chunks:
        if n_chunks >= len(spans):
            raise ValueError(f"Got more chunks than spans ({len(spans)}).")
        start, stop = spans[n_chunks]
        chunk = _float_signal(chunk, f"chunk {n_chunks}", allow_nonfinite=True)
        if output is None:
            output = np.zeros((*chunk.shape[:-1], length), dtype=chunk.dtype)
        if chunk.shape != (*output.shape[:-1], stop - start):
            raise ValueError(
                f"chunk {n_chunks} has shape {chunk.shape}; its span ({start}, {stop}) "
                f"and the first chunk need shape {(*output.shape[:-1], stop - start)}."
            )
        blend = (weights[n_chunks] / total[start:stop]).astype(output.dtype)
        output[..., start:stop] += chunk * blend
        n_chunks += 1
    if n_chunks != len(spans):
        raise ValueError(f"Got {n_chunks} chunks for {len(spans)} spans; pass one chunk per span.")
    return output
