"""Imputing panels larger than memory: ``transform_to`` from and into arrays on disk.

``transform_to(X, out, chunk_size=k)`` must write exactly what ``transform(X)`` returns,
for every ``k``: the series of each call of the network are chosen so that its batches
are those of one call on every series. Memory must not grow with the number of series.
"""

from __future__ import annotations

import hashlib
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from tsfilm import TFiLMImputer
from tsfilm.estimators.imputation import CHUNK_SIZE

#: One thread: the exact comparisons must not meet a change of torch's thread count.
TINY = {**TFiLMImputer.get_test_params()[0], "n_threads": 1}


def _panel(n: int, length: int = 64, channels: int | None = None, seed: int = 0) -> np.ndarray:
    """Sines with a fifth of the values missing (NaN), float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    shape = (n, 1) if channels is None else (n, channels, 1)
    X = (np.sin(2 * np.pi * rng.uniform(1, 4, shape) * t) + 2).astype(np.float32)
    X[rng.random(X.shape) < 0.2] = np.nan
    return X


@pytest.fixture(scope="module")
def imputer() -> TFiLMImputer:
    return TFiLMImputer(**TINY).fit(_panel(16))


def _disk(tmp_path, name: str, X: np.ndarray, mode: str = "r") -> np.memmap:
    path = tmp_path / f"{name}.npy"
    np.save(path, X)
    return np.load(path, mmap_mode=mode)


def _empty(tmp_path, name: str, like: np.ndarray, dtype=None) -> np.memmap:
    return np.lib.format.open_memmap(
        tmp_path / f"{name}.npy", mode="w+", dtype=dtype or like.dtype, shape=like.shape
    )


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 40])
def test_memmap_to_memmap_equals_transform_exactly(imputer, tmp_path, chunk_size):
    X = _panel(37, seed=1)
    X[5] = 1.5  # a series with nothing missing is copied
    X_disk = _disk(tmp_path, "X", X)
    before = _digest(tmp_path / "X.npy")
    out = _empty(tmp_path, "out", X)
    assert imputer.transform_to(X_disk, out, chunk_size=chunk_size) is out
    expected = imputer.transform(X)
    np.testing.assert_array_equal(np.asarray(out), expected)
    observed = ~np.isnan(X)
    assert np.array_equal(out[observed], X[observed])
    assert _digest(tmp_path / "X.npy") == before


def test_transform_of_a_memmap_equals_transform_in_memory(imputer, tmp_path):
    X = _panel(30, seed=2)
    out = imputer.transform(_disk(tmp_path, "X", X))
    assert type(out) is np.ndarray and out.dtype == np.float32
    np.testing.assert_array_equal(out, imputer.transform(X))


def test_chunks_give_the_batches_of_one_call(tmp_path):
    # More series than one chunk of transform: the result must not depend on where
    # the chunks end, so one series alone gives the same numbers as among the others.
    imputer = TFiLMImputer(**{**TINY, "batch_size": 5}).fit(_panel(16))
    X = _panel(CHUNK_SIZE + 13, length=48, channels=1, seed=3)  # 3-D: any length
    whole = imputer.transform(X)
    out = _empty(tmp_path, "out", X)
    imputer.transform_to(_disk(tmp_path, "X", X), out, chunk_size=11)
    np.testing.assert_array_equal(np.asarray(out), whole)


def test_float64_multichannel_with_an_empty_channel_warns_once(imputer, tmp_path):
    X = _panel(9, channels=2, seed=4).astype(np.float64)
    imputer3d = TFiLMImputer(**TINY).fit(_panel(8, channels=2))
    X[2, 1] = np.nan  # channel 1 of series 2 has no observed value
    X[6, 0] = np.nan
    out = _empty(tmp_path, "out", X)
    with pytest.warns(UserWarning, match="^2 series channel") as record:
        imputer3d.transform_to(_disk(tmp_path, "X", X), out, chunk_size=2)
    assert len([w for w in record if "no observed value" in str(w.message)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = imputer3d.transform(X)
    np.testing.assert_array_equal(np.asarray(out), expected)
    np.testing.assert_allclose(out[2, 1], imputer3d.fill_values_[1])


def test_fills_in_place_when_out_is_x(imputer, tmp_path):
    X = _panel(12, seed=5)
    X_disk = _disk(tmp_path, "X", X, mode="r+")
    imputer.transform_to(X_disk, X_disk, chunk_size=5)
    np.testing.assert_array_equal(np.load(tmp_path / "X.npy"), imputer.transform(X))


def test_zarr_to_zarr(imputer, tmp_path):
    zarr = pytest.importorskip("zarr")
    X = _panel(23, seed=6)
    source = zarr.open_array(
        str(tmp_path / "X.zarr"), mode="w", shape=X.shape, chunks=(4, 64), dtype="f4"
    )
    source[:] = X
    target = zarr.open_array(
        str(tmp_path / "out.zarr"), mode="w", shape=X.shape, chunks=(4, 64), dtype="f4"
    )
    imputer.transform_to(source, target, chunk_size=6)
    np.testing.assert_array_equal(target[:], imputer.transform(X))
    np.testing.assert_array_equal(source[:], X)  # not modified, NaN included


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(n=st.integers(1, 25), chunk_size=st.integers(1, 30), seed=st.integers(0, 50))
def test_any_chunk_size_gives_transform(imputer, n, chunk_size, seed):
    X = _panel(n, seed=seed)
    out = np.full_like(X, -1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a short series may have no observed value
        imputer.transform_to(X, out, chunk_size=chunk_size)
        expected = imputer.transform(X)
    np.testing.assert_array_equal(out, expected)


def test_memory_does_not_grow_with_the_number_of_series():
    # One window per series (window_length = length): the fast path of prediction.
    imputer = TFiLMImputer(**{**TINY, "window_length": 64, "batch_size": 64}).fit(_panel(16))

    def peak(n: int) -> int:
        X = _panel(n, seed=7)
        out = np.empty_like(X)
        tracemalloc.start()
        try:
            imputer.transform_to(X, out, chunk_size=64)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(256), peak(2048)  # input and output 64 KB and 512 KB
    assert large < 1.3 * small + 64 * 1024, (small, large)


# ---------------------------------------------------------------------- errors
def test_refuses_a_list_of_series(imputer):
    with pytest.raises(TypeError, match="Fill a list of series with transform"):
        imputer.transform_to([np.zeros(8), np.zeros(9)], np.zeros((2, 9)))


@pytest.mark.parametrize(
    ("shape", "dtype", "match"),
    [((5, 63), np.float32, "out has shape"), ((5, 64), np.float64, "needs float32")],
)
def test_refuses_an_out_of_another_shape_or_dtype(imputer, shape, dtype, match):
    with pytest.raises(ValueError, match=match):
        imputer.transform_to(_panel(5), np.zeros(shape, dtype), chunk_size=2)


def test_refuses_a_read_only_out(imputer, tmp_path):
    X = _panel(4)
    with pytest.raises(ValueError, match="read-only"):
        imputer.transform_to(X, _disk(tmp_path, "out", np.zeros_like(X)))


@pytest.mark.parametrize(("chunk_size", "error"), [(0, ValueError), (True, TypeError)])
def test_refuses_a_bad_chunk_size(imputer, chunk_size, error):
    X = _panel(4)
    with pytest.raises(error, match="chunk_size"):
        imputer.transform_to(X, np.empty_like(X), chunk_size=chunk_size)


def test_refuses_wrong_time_steps_channels_and_dimensions(imputer):
    with pytest.raises(ValueError, match="features"):
        imputer.transform_to(_panel(3, length=50), np.empty((3, 50), np.float32))
    X3 = _panel(3, channels=2)
    with pytest.raises(ValueError, match="2 channel"):
        imputer.transform_to(X3, np.empty_like(X3))
    with pytest.raises(ValueError, match=r"2-D .* or 3-D"):
        imputer.transform_to(np.zeros(5, np.float32), np.zeros(5, np.float32))


def test_infinity_in_a_later_chunk_raises_after_the_earlier_are_written(imputer):
    X = _panel(6)
    X[4, 3] = np.inf
    out = np.full_like(X, -1.0)
    with pytest.raises(ValueError, match="infinity"):
        imputer.transform_to(X, out, chunk_size=2)
    assert not np.isnan(out[:2]).any() and (out[4:] == -1).all()


def test_needs_a_fitted_imputer():
    with pytest.raises(NotFittedError):
        TFiLMImputer().transform_to(_panel(2), np.empty((2, 64), np.float32))
