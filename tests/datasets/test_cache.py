"""Tests for tsfilm.datasets._cache: location, keys, safe and atomic entries."""

from __future__ import annotations

import numpy as np
import platformdirs
import pytest

from tsfilm.datasets import _cache
from tsfilm.datasets._cache import cache_path, cache_root, read_cache, write_cache


def test_cache_root_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("TSFILM_CACHE_DIR", raising=False)
    default = cache_root()
    assert default.parts[-1] == "datasets"
    assert str(default.parent) == platformdirs.user_cache_dir("tsfilm")
    monkeypatch.setenv("TSFILM_CACHE_DIR", str(tmp_path / "env"))
    assert cache_root() == tmp_path / "env" / "datasets"
    assert cache_root(tmp_path / "explicit") == tmp_path / "explicit"


def test_key_covers_name_params_and_format_version(tmp_path, monkeypatch):
    base = cache_path("speech", {"rate": 16000, "files": ["a"]}, tmp_path)
    assert base.parent == tmp_path
    assert base == cache_path("speech", {"files": ["a"], "rate": 16000}, tmp_path)
    assert base != cache_path("speech", {"rate": 8000, "files": ["a"]}, tmp_path)
    assert base != cache_path("retail", {"rate": 16000, "files": ["a"]}, tmp_path)
    monkeypatch.setattr(_cache, "FORMAT_VERSION", _cache.FORMAT_VERSION + 1)
    assert base != cache_path("speech", {"rate": 16000, "files": ["a"]}, tmp_path)


def test_round_trip_of_numbers_strings_and_dates(tmp_path):
    arrays = {
        "x": np.arange(6, dtype=np.float32).reshape(2, 3),
        "names": np.array(["a", "ünïcode"]),
        "dates": np.array(["2011-12-08", "2011-12-09"], dtype="datetime64[D]"),
    }
    path = tmp_path / "sub" / "entry.npz"
    write_cache(path, arrays)
    assert sorted(p.name for p in path.parent.iterdir()) == ["entry.npz"]
    back = read_cache(path)
    assert back is not None and set(back) == set(arrays)
    for key, value in arrays.items():
        np.testing.assert_array_equal(back[key], value)
        assert back[key].dtype == value.dtype


def test_object_arrays_are_refused(tmp_path):
    with pytest.raises(ValueError, match="dtype object"):
        write_cache(tmp_path / "e.npz", {"bad": np.array([{"a": 1}], dtype=object)})
    assert list(tmp_path.iterdir()) == []


def test_missing_damaged_or_pickled_entries_read_as_misses(tmp_path):
    assert read_cache(tmp_path / "absent.npz") is None
    (tmp_path / "damaged.npz").write_bytes(b"PK\x03\x04 truncated")
    assert read_cache(tmp_path / "damaged.npz") is None
    # An entry that needs pickle (e.g. planted by someone else) is never unpickled.
    np.savez(tmp_path / "pickled.npz", x=np.array([object()], dtype=object))
    assert read_cache(tmp_path / "pickled.npz") is None


def test_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(_cache.np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        write_cache(tmp_path / "e.npz", {"x": np.zeros(3)})
    assert list(tmp_path.iterdir()) == []
