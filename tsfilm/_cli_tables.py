"""Tables for the ``tsfilm`` task commands: CSV, TSV and Parquet in and out.

A CSV or TSV file is read as text, every cell as the string written in the file, so that a
command writes back every cell it does not fill exactly as it was (``007`` stays ``007``,
``1.50`` stays ``1.50``); numbers are parsed only from the columns a command reads. Parquet
keeps its column types. Every problem is a :class:`~tsfilm.cli.CommandError` that names
the file, the column and the row (rows are counted from 1, the header not counted).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tsfilm.cli import CommandError

__all__ = ["NA_TOKENS", "STDOUT", "Table", "check_table_path", "read_table", "write_table"]

#: The path that stands for standard output.
STDOUT = Path("-")
#: Cells that mean "no value" in a CSV or TSV file (pandas' usual markers).
NA_TOKENS = frozenset(
    {"", "NA", "N/A", "n/a", "NaN", "nan", "NAN", "-NaN", "-nan", "null", "NULL", "None"}
    | {"<NA>", "#N/A", "#NA"}
)
_FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zip": "zip"}
_PARQUET_ENGINES = ("pyarrow", "fastparquet")


def _format(path: Path) -> tuple[str, str | None] | None:
    """``(format, compression)`` from the file name; None when it names no table format."""
    if path == STDOUT:
        return "csv", None
    suffixes = [s.lower() for s in path.suffixes]
    compression = _COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes.pop()
    kind = _FORMATS.get(suffixes[-1]) if suffixes else None
    if kind is None or (kind == "parquet" and compression):
        return None
    return kind, compression


def check_table_path(path: Path, flag: str) -> str:
    """The format of a table file (``"csv"``, ``"tsv"`` or ``"parquet"``), checked.

    Raises a CommandError (status 2) for a name without a known extension, or for Parquet
    when neither pyarrow nor fastparquet is installed.
    """
    found = _format(path)
    if found is None:
        raise CommandError(
            f"{flag} {path}: unknown table format; use .csv, .tsv (optionally compressed: "
            ".csv.gz, ...) or .parquet.",
            2,
        )
    if found[0] == "parquet" and not any(map(importlib.util.find_spec, _PARQUET_ENGINES)):
        raise CommandError(
            f"{flag} {path}: Parquet needs pyarrow or fastparquet, and neither is installed; "
            "pip install pyarrow (or use .csv).",
            2,
        )
    return found[0]


@dataclass
class Table:
    """A table read from a file.

    Attributes
    ----------
    frame : pandas.DataFrame
        The rows, in file order, with a default index. From CSV and TSV every cell is the
        ``str`` written in the file; from Parquet the columns keep their types.
    name : str
        How messages name the file, such as ``"INPUT sales.csv"``.
    text : bool
        Whether the cells are the file's text (CSV and TSV).

    Examples
    --------
    Only the filled cell changes; every other cell keeps its text:

    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = path.write_text("day,a\\nmon,007\\ntue,\\nwed,1.50\\n")
    >>> table = read_table(path, "INPUT")
    >>> table.numbers("a")
    array([7. , nan, 1.5])
    >>> table.fill("a", np.array([1]), np.array([4.25]))
    >>> write_table(table.frame, path)
    >>> print(path.read_text(), end="")
    day,a
    mon,007
    tue,4.25
    wed,1.50
    """

    frame: Any
    name: str
    text: bool

    def require(self, column: str, flag: str, hint: str = "") -> str:
        """``column``, refused (status 2) when the table has no such column; ``hint`` ends
        the message."""
        if column not in self.frame.columns:
            n = len(self.frame.columns)
            names = ", ".join(map(repr, self.frame.columns[:8]))
            more = f" and {n - 8} more" if n > 8 else ""
            raise CommandError(
                f"{flag} {column!r}: {self.name} has no such column; its columns are "
                f"{names}{more}{hint}.",
                2,
            )
        return column

    def cells(self, column: str) -> list[str]:
        """The cells of ``column`` as text (missing Parquet values as "")."""
        series = self.frame[column]
        if self.text:
            return series.tolist()
        return ["" if _is_na(v) else str(v) for v in series.tolist()]

    def missing(self, column: str) -> np.ndarray:
        """Where ``column`` holds no value: an NA marker in text, null in Parquet."""
        series = self.frame[column]
        if self.text:
            return series.str.strip().isin(NA_TOKENS).to_numpy(dtype=bool)
        return series.isna().to_numpy(dtype=bool)

    def numbers(self, column: str, hint: str = "") -> np.ndarray:
        """The values of ``column`` as float64, NaN where a cell holds no value.

        Raises a CommandError (status 1) naming the first cell that is not a finite
        number; ``hint`` ends the message.
        """
        import pandas as pd

        series = self.frame[column]
        missing = self.missing(column)
        if not self.text and pd.api.types.is_bool_dtype(series.dtype):
            values = np.full(len(series), np.nan)
        elif not self.text and pd.api.types.is_numeric_dtype(series.dtype):
            values = series.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        else:
            text = (
                series.astype(object)
                .where(~missing, None)
                .map(lambda v: v.strip() if isinstance(v, str) else v)
            )
            values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, copy=True)
        bad = np.flatnonzero(~np.isfinite(values) & ~missing)
        if bad.size:
            row = int(bad[0])
            cell = self.cells(column)[row]
            kind = "an infinite value" if np.isinf(values[row]) else "not a number"
            raise CommandError(
                f"{self.name}: column {column!r} is not numeric: row {row + 1} holds "
                f"{cell!r}, {kind}{hint}.",
                1,
            )
        values[missing] = np.nan
        return values

    def to_numbers(self, columns: list[str]) -> None:
        """Turn ``columns`` into float64 columns (for Parquet output of a text table)."""
        numbers = {column: self.numbers(column) for column in columns}
        for column, values in numbers.items():
            self.frame[column] = values
        self.text = False

    def fill(self, column: str, rows: np.ndarray, values: np.ndarray) -> None:
        """Write ``values`` into ``column`` at ``rows``; every other cell stays as it was."""
        import pandas as pd

        series = self.frame[column]
        if self.text:
            cells = series.to_numpy(dtype=object, copy=True)
            cells[rows] = [_format_number(v) for v in values]
            self.frame[column] = cells
            return
        dtype = series.dtype
        if not (isinstance(dtype, np.dtype) and dtype.kind == "f"):
            dtype = np.dtype(np.float64)
        column_values = self.numbers(column).astype(dtype)
        column_values[rows] = values
        self.frame[column] = pd.Series(column_values, index=self.frame.index)


def _is_na(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value) == "<NA>"


def _format_number(value: float) -> str:
    """A filled value as text: the shortest that reads back as the same float32 (the
    networks' precision), ``12`` rather than ``12.0``."""
    number = np.float32(value) if abs(value) < np.finfo(np.float32).max else np.float64(value)
    return np.format_float_positional(number, unique=True, trim="-")


def read_table(path: Path, flag: str) -> Table:
    """Read a CSV, TSV or Parquet file (format from its name, checked by the caller).

    A CSV or TSV file must have a header row of distinct column names.
    """
    import pandas as pd

    kind, compression = _format(path) or ("csv", None)
    name = f"{flag} {path}"
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
            if frame.columns.duplicated().any():
                raise CommandError(f"{name} has duplicated column names; rename them.", 1)
            return Table(frame.reset_index(drop=True), name, text=False)
        raw = pd.read_csv(
            path,
            sep="\t" if kind == "tsv" else ",",
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            compression=compression,
        )
    except (pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        reason = "is empty" if isinstance(exc, pd.errors.EmptyDataError) else "is not UTF-8 text"
        raise CommandError(f"{name} {reason}; give a table with a header row.", 1) from exc
    except (pd.errors.ParserError, ValueError, EOFError, OSError) as exc:
        if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
            raise
        what = "Parquet" if kind == "parquet" else kind.upper()
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise CommandError(f"{name} is not a readable {what} file ({reason}).", 1) from exc
    header = raw.iloc[0].fillna("").tolist()
    seen: set[str] = set()
    for column in header:
        if column in seen:
            raise CommandError(f"{name} has two columns named {column!r}; rename one.", 1)
        seen.add(column)
    frame = raw.iloc[1:].fillna("").reset_index(drop=True)
    frame.columns = header
    return Table(frame, name, text=True)


def write_table(frame: Any, path: Path) -> None:
    """Write ``frame`` without its index, atomically (standard output for ``-``)."""
    from tsfilm.io._atomic import atomic_path

    if path == STDOUT:
        try:
            frame.to_csv(sys.stdout, index=False)
            sys.stdout.flush()
        except BrokenPipeError:  # the reader stopped early (| head): not an error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # so that Python's final flush is silent
            os.close(devnull)
        return
    kind, compression = _format(path) or ("csv", None)
    with atomic_path(path) as tmp:
        if kind == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            sep = "\t" if kind == "tsv" else ","
            frame.to_csv(tmp, sep=sep, index=False, compression=compression)
