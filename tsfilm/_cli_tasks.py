"""The task commands of ``tsfilm``: ``impute``, ``classify train``, ``classify predict`` and
``evaluate``.

Each command checks its paths, flags and data before any training starts; a problem is a
:class:`~tsfilm.cli.CommandError` that :func:`tsfilm.cli.main` reports as one line. Progress
bars go to stderr, and so do the summary lines when the data goes to standard output
(``-o -``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tsfilm import registry
from tsfilm._cli_tables import STDOUT, Table, check_table_path, read_table, write_table
from tsfilm.cli import (
    _POSITIVE,
    _SEED,
    CommandError,
    _check_input,
    _check_model_output,
    _check_output,
    _number,
    _parameter_message,
    _save,
)

__all__ = ["CLASSIFY_SIZES", "IMPUTE_SIZES", "add_commands"]

#: ``--size`` of ``tsfilm impute``: hyper-parameters of the imputer (those it has).
IMPUTE_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {
        "depth": 2,
        "width": 0.0625,
        "max_filters": 64,
        "block_length": 8,
        "window_length": 64,
    },
    "small": {"depth": 3, "width": 0.125, "max_filters": 256, "block_length": 16},
    "large": {"depth": 4, "width": 0.5, "max_filters": 512, "block_length": 16},
}
#: ``--size`` of ``tsfilm classify train``: hyper-parameters of the classifier (those it has).
CLASSIFY_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"embedding_dim": 16, "n_filters": 16, "n_layers": 2},
    "small": {},  # the classes' defaults
    "large": {"embedding_dim": 128, "n_filters": 256},
}
#: Fewest observed values ``tsfilm impute`` fits an imputer on.
MIN_OBSERVED = 10
#: Series or samples per call in prediction, one progress-bar step each.
_CHUNK = 256

#: Flags that set training parameters: flag(s), parameter, type, help.
_FIT_OPTIONS: list[tuple[tuple[str, ...], str, Callable[[str], Any], str]] = [
    (("--epochs",), "max_epochs", _number(1), "largest number of epochs (default: the model's)"),
    (("--max-time",), "max_time", _POSITIVE, "training budget in seconds"),
    (("--batch-size",), "batch_size", _number(1), "(default: the model's)"),
    (("--learning-rate",), "learning_rate", _POSITIVE, "(default: the model's)"),
    (("--seed", "--random-state"), "random_state", _SEED, "(default 0)"),
]
_FIT_FLAGS = {parameter: flags[0] for flags, parameter, *_ in _FIT_OPTIONS}
_CLASSIFY_FLAGS = {**_FIT_FLAGS, "max_length": "--max-length"}
_MEMORY_HINT = "--batch-size or --size"


# ---------------------------------------------------------------------- shared helpers
def _marker(text: str) -> float:
    """An argparse ``type``: the missing-value marker, ``nan`` or a finite number."""
    if text.strip().lower() in ("nan", "na", ""):
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected nan or a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be nan or a finite number, got {text!r}")
    return value


def _fraction(text: str) -> float:
    """An argparse ``type``: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1), got {text!r}")
    return value


def _say(args: argparse.Namespace, message: str) -> None:
    """A summary line: on stdout, or on stderr when stdout carries the data."""
    to_stderr = getattr(args, "output", None) == STDOUT or getattr(args, "json", False)
    print(message, file=sys.stderr if to_stderr else sys.stdout)


def _warn(args: argparse.Namespace, message: str) -> None:
    print(f"tsfilm {args.command_name}: warning: {message}", file=sys.stderr)


def _progress(total: int, desc: str, unit: str, quiet: bool):
    """A progress bar on stderr, shown once the work has taken a second."""
    from tqdm import tqdm

    return tqdm(
        total=total, desc=desc, unit=unit, disable=quiet, delay=1.0, file=sys.stderr, leave=False
    )


def _same_file(a: Path | None, b: Path | None) -> bool:
    return bool(a and b and a != STDOUT and b != STDOUT and a.exists() and b.exists()) and (
        os.path.samefile(a, b)
    )


def _refuse_same(output: Path, flag: str, others: dict[str, Path | None]) -> None:
    """Refuse an output that is one of the command's other files."""
    for name, other in others.items():
        if _same_file(output, other):
            raise CommandError(f"{flag} {output} is the {name} file; give another name.", 2)


def _task_of(est: Any) -> list[str]:
    return [m.task for m in registry.list_models() if m.cls is type(est)]


def _model_name(est: Any) -> str:
    """The registered name of ``est``'s class (its class name if none)."""
    names = [m.name for m in registry.list_models() if m.cls is type(est)]
    return names[0] if names else type(est).__name__


def _load_model(path: Path, task: str, command: str, needs: str) -> Any:
    """The estimator in a model file, refused (status 2) unless it is for ``task``."""
    import tsfilm

    est = tsfilm.load(path)
    tasks = _task_of(est)
    if task not in tasks:
        raise CommandError(
            f"MODEL {path} holds a {type(est).__name__} ({' or '.join(tasks) or 'no task'}); "
            f"{command} needs {needs}.",
            2,
        )
    return est


def _takes_text(cls: type) -> bool:
    """Whether a classifier class reads texts (rather than numeric series)."""
    try:
        return bool(cls().__sklearn_tags__().input_tags.string)
    except Exception:  # a class that cannot be built without arguments
        return False


def _make_estimator(
    name: str, task: str, size: dict[str, Any], args: argparse.Namespace, flags: dict[str, str]
) -> Any:
    """A new estimator ``name`` of ``task`` with the command's size and flags, validated.

    Size parameters the class lacks are left out; a flag the class lacks is refused.
    """
    from tsfilm.validation import InvalidParameterError

    try:
        cls = registry.get_model(name, task)
    except ValueError as exc:
        raise CommandError(f"--model-name: {exc}", 2) from exc
    accepted = cls().get_params(deep=False)
    params = {k: v for k, v in size.items() if k in accepted}
    for parameter, flag in flags.items():
        value = getattr(args, parameter, None)
        if value is None:
            continue
        if parameter not in accepted:
            raise CommandError(f"{flag} does not apply to model {name!r} ({cls.__name__}).", 2)
        params[parameter] = value
    if "verbose" in accepted:
        params["verbose"] = 0 if args.quiet else 1
    est = cls(**params)
    try:
        est._validate_params()
    except InvalidParameterError as exc:
        raise CommandError(_parameter_message(exc, flags), 2) from exc
    return est


def _fit(args: argparse.Namespace, est: Any, *data: Any) -> tuple[bool, float]:
    """Fit ``est``; return whether Ctrl-C interrupted it (the model so far is kept) and the
    seconds it took. Other warnings are reported on stderr."""
    from tsfilm import TrainingInterruptedWarning

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TrainingInterruptedWarning)
        est.fit(*data)
    interrupted = False
    for w in caught:
        if issubclass(w.category, TrainingInterruptedWarning):
            interrupted = True
        else:
            _warn(args, str(w.message))
    return interrupted, time.perf_counter() - start


def _given(args: argparse.Namespace, names: Sequence[str]) -> list[str]:
    """The flags among ``names`` (destinations) that the command line set."""
    return [name for name in names if getattr(args, name, None) not in (None, False, [])]


def _flag(dest: str) -> str:
    return {"random_state": "--seed", "max_epochs": "--epochs"}.get(
        dest, "--" + dest.replace("_", "-")
    )


# ---------------------------------------------------------------------- series in tables
@dataclass
class _Panel:
    """Time series read from a table, and where each one lives in it.

    Series ``i`` is column ``columns[i]`` at rows ``rows[i]`` (in time order); ``values[i]``
    holds its numbers, NaN where a cell holds none.
    """

    table: Table
    names: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)

    def add(self, name: str, column: str, rows: np.ndarray, values: np.ndarray) -> None:
        self.names.append(name)
        self.columns.append(column)
        self.rows.append(rows)
        self.values.append(values)


def _layout_is_long(args: argparse.Namespace) -> bool:
    """Whether the imputation options describe a long table; their combination checked."""
    long = _given(args, ["id", "time", "value"])
    if not long:
        return False
    if args.index:
        raise CommandError(
            "--index is for wide tables; a long table takes --id, --time and --value.", 2
        )
    missing = [f"--{name}" for name in ("id", "value") if getattr(args, name) in (None, [])]
    if missing:
        raise CommandError(
            f"a long table needs {' and '.join(missing)} (with --id, --time and --value: "
            "one row per series and time step); leave them all out for a wide table.",
            2,
        )
    return True


def _read_panel(args: argparse.Namespace, path: Path) -> _Panel:
    """The series of a wide or long table (see ``tsfilm impute --help``)."""
    import pandas as pd

    table = read_table(path, "INPUT")
    frame = table.frame
    if len(frame) == 0:
        raise CommandError(f"{table.name} has no data rows.", 1)
    panel = _Panel(table)
    if not _layout_is_long(args):
        index = [table.require(column, "--index") for column in args.index or ()]
        columns = [c for c in frame.columns if c not in index]
        if not columns:
            raise CommandError(f"{table.name} has no column to fill besides --index.", 2)
        rows = np.arange(len(frame))
        for column in columns:
            hint = f"; if it labels the rows, keep it as it is with --index {column}"
            panel.add(str(column), column, rows, table.numbers(column, hint))
        return panel
    ident = table.require(args.id, "--id")
    values = [table.require(column, "--value") for column in args.value]
    when = table.require(args.time, "--time") if args.time else None
    roles = [ident, *values, *([when] if when else [])]
    if len(set(roles)) < len(roles):
        raise CommandError("--id, --time and --value must name different columns.", 2)
    empty = np.flatnonzero(table.missing(ident))
    if empty.size:
        raise CommandError(
            f"{table.name}: --id column {ident!r} is empty in row {empty[0] + 1}; every row "
            "needs the id of its series.",
            1,
        )
    codes, ids = pd.factorize(pd.Series(table.cells(ident)))
    if when is None:
        order = np.argsort(codes, kind="stable")
    else:
        times = _times(table, when)
        order = np.lexsort((times, codes))
        same = np.flatnonzero((np.diff(codes[order]) == 0) & (np.diff(times[order]) == 0))
        if same.size:
            a, b = order[same[0]], order[same[0] + 1]
            cell = table.cells(when)[a]
            raise CommandError(
                f"{table.name}: id {ids[codes[a]]!r} has two rows at {when} {cell!r} "
                f"(rows {min(a, b) + 1} and {max(a, b) + 1}); keep one row per id and time.",
                1,
            )
    groups = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)
    for column in values:
        numbers = table.numbers(column)
        for group in groups:
            name = str(ids[codes[group[0]]])
            panel.add(
                name if len(values) == 1 else f"{name} {column}", column, group, numbers[group]
            )
    return panel


def _times(table: Table, column: str) -> np.ndarray:
    """The ``--time`` column as numbers that sort in time order (numbers or dates)."""
    import pandas as pd

    empty = np.flatnonzero(table.missing(column))
    if empty.size:
        raise CommandError(
            f"{table.name}: --time column {column!r} is empty in row {empty[0] + 1}.", 1
        )
    series = table.frame[column]
    if not table.text and pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    text = pd.Series(table.cells(column)).str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    if not numbers.isna().any():
        return numbers.to_numpy(dtype=np.float64)
    dates = pd.to_datetime(text, errors="coerce", format="mixed")
    if dates.isna().any():
        # The first cell that fails the reading (numbers or dates) that fits most cells.
        bad = min(numbers.isna(), dates.isna(), key=lambda b: int(b.sum())).to_numpy()
        row = int(np.flatnonzero(bad)[0])
        raise CommandError(
            f"{table.name}: --time column {column!r} row {row + 1} holds "
            f"{table.cells(column)[row]!r}, neither a number nor a date.",
            1,
        )
    return dates.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def _missing_masks(panel: _Panel, marker: float, source: str) -> list[np.ndarray]:
    """Where each series misses a value, by ``marker``; NaN with a numeric marker refused."""
    if math.isnan(marker):
        return [np.isnan(v) for v in panel.values]
    for i, values in enumerate(panel.values):
        empty = np.flatnonzero(np.isnan(values))
        if empty.size:
            row = int(panel.rows[i][empty[0]])
            raise CommandError(
                f"{panel.table.name}: column {panel.columns[i]!r} row {row + 1} is empty, but "
                f"{source} marks the missing values with {marker:g}; write {marker:g} there, "
                "or use --missing-values nan to take empty cells as missing.",
                2,
            )
    return [v == marker for v in panel.values]


def _stacked(values: list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
    """Series as the imputer reads them: (n, 1, T), or a list of (1, T_i) arrays."""
    if len({len(v) for v in values}) == 1:
        return np.stack(values)[:, None, :]
    return [v[None] for v in values]


def _impute_series(
    est: Any, values: list[np.ndarray], quiet: bool, desc: str = "imputing"
) -> list[np.ndarray]:
    """``est.transform`` of ``values`` (with their markers), chunk by chunk, as 1-D arrays."""
    filled: list[np.ndarray] = []
    with _progress(len(values), desc, "series", quiet) as bar, warnings.catch_warnings():
        # Series without an observed value are reported by the command itself.
        warnings.filterwarnings("ignore", message=".*have no observed value.*fill_values_")
        for start in range(0, len(values), _CHUNK):
            part = est.transform(_stacked(values[start : start + _CHUNK]))
            filled.extend(np.asarray(p)[0] for p in part)
            bar.update(len(part))
    return filled


def _check_imputer_model(est: Any, args: argparse.Namespace) -> tuple[float, str]:
    """The marker to use with a saved imputer and how messages name it."""
    if args.missing_values is not None:
        est.set_params(missing_values=args.missing_values)
        return args.missing_values, f"--missing-values {args.missing_values:g}"
    marker = float(est.missing_values)
    return marker, f"the model's missing_values={marker:g}"


# ---------------------------------------------------------------------- impute
def _impute(args: argparse.Namespace) -> None:
    source, output, model, save = args.input, args.output, args.model, args.save
    _check_input(source, "INPUT")
    check_table_path(source, "INPUT")
    out_format = check_table_path(output, "-o/--output")
    if output != STDOUT:
        _check_output(output, "-o/--output", "filled.csv")
    # --seed is left out: it defaults to 0 and changes nothing with --model.
    given = [_flag(d) for d in (*_FIT_FLAGS, "size") if d != "random_state" and _given(args, [d])]
    if model is not None:
        _check_input(model, "--model")
        if given or save is not None:
            extra = ", ".join([*given, *(["--save"] if save is not None else [])])
            raise CommandError(
                f"{extra} set(s) the fitting of a new imputer; --model uses a saved one as it "
                "is. Leave out one or the other.",
                2,
            )
    if save is not None:
        _check_model_output(save, "--save")
    _refuse_same(output, "-o/--output", {"INPUT": source, "--model": model, "--save": save})
    if save is not None:
        _refuse_same(save, "--save", {"INPUT": source})
    est = None
    if model is None:
        size = IMPUTE_SIZES[args.size or "small"]
        est = _make_estimator("tfilm", "imputation", size, args, _FIT_FLAGS)
        marker = math.nan if args.missing_values is None else args.missing_values
        est.set_params(missing_values=marker)
        source_name = f"--missing-values {marker:g}"
    panel = _read_panel(args, source)
    if model is not None:
        est = _load_model(model, "imputation", "impute", "an imputation model")
        marker, source_name = _check_imputer_model(est, args)
    missing = _missing_masks(panel, marker, source_name)
    if panel.table.text and out_format == "parquet":  # numbers, not their text
        panel.table.to_numbers(list(dict.fromkeys(panel.columns)))
    n_missing = int(sum(m.sum() for m in missing))
    n_observed = int(sum(m.size for m in missing)) - n_missing
    interrupted, save_error = False, None
    if model is None and (n_missing or save is not None):
        if n_observed < MIN_OBSERVED:
            raise CommandError(
                f"{panel.table.name} has {n_observed} observed value(s); fitting an imputer "
                f"needs at least {MIN_OBSERVED}. Give more data, or a saved imputer with --model.",
                1,
            )
        _say(
            args,
            f"fitting {type(est).__name__} on {len(panel.values)} series: {n_observed} "
            f"observed and {n_missing} missing values",
        )
        interrupted, seconds = _fit(args, est, _stacked(panel.values))
        _say(args, f"trained {est.n_epochs_} epoch(s) in {seconds:.0f} s")
        if save is not None:
            try:
                _save(est, save)
                _say(args, f"model written to {save}")
            except CommandError as exc:  # saved elsewhere, or not at all: said at the end
                save_error = exc
    needs = [i for i, m in enumerate(missing) if m.any()]
    empty = [panel.names[i] for i in needs if missing[i].all()]
    if empty:
        listed = ", ".join(empty[:5]) + (", ..." if len(empty) > 5 else "")
        _warn(
            args,
            f"{len(empty)} series have no observed value ({listed}); they were filled with the "
            "mean of the imputer's observed training values.",
        )
    filled = _impute_series(est, [panel.values[i] for i in needs], args.quiet) if needs else []
    by_column: dict[str, tuple[list, list]] = {}
    for i, values in zip(needs, filled, strict=True):
        rows, new = by_column.setdefault(panel.columns[i], ([], []))
        rows.append(panel.rows[i][missing[i]])
        new.append(values[missing[i]])
    for column, (rows, new) in by_column.items():
        panel.table.fill(column, np.concatenate(rows), np.concatenate(new))
    write_table(panel.table.frame, output)
    where = "standard output" if output == STDOUT else output
    _say(
        args,
        f"filled {n_missing} missing value(s) in {len(needs)} of {len(panel.values)} series; "
        f"written to {where}",
    )
    if save_error is not None:
        raise save_error
    if interrupted:
        raise CommandError(
            f"training interrupted after {est.n_epochs_} epoch(s); the values were filled with "
            "the model trained so far.",
            130,
        )


# ---------------------------------------------------------------------- classification data
_TEXT_SUFFIXES = (".txt",)
_ARRAY_SUFFIXES = (".npy", ".npz")


@dataclass
class _Samples:
    """What a classifier reads: ``X`` (texts or series), the labels, the columns to keep."""

    X: Any
    labels: np.ndarray | None
    kept: Any  # DataFrame of the --id columns, or None
    n: int


def _labels(table: Table, column: str) -> np.ndarray:
    """The label column as str, refused (status 1) when a row has none."""
    empty = np.flatnonzero(table.missing(column))
    if empty.size:
        raise CommandError(
            f"{table.name}: label column {column!r} is empty in {empty.size} row(s) (first: "
            f"row {empty[0] + 1}); label every row or remove those rows.",
            1,
        )
    return np.array([cell.strip() for cell in table.cells(column)])


def _kept(table: Table, args: argparse.Namespace) -> Any:
    columns = [table.require(c, "--id") for c in args.id or ()]
    return table.frame[columns].reset_index(drop=True) if columns else None


def _read_texts(path: Path, args: argparse.Namespace, need_labels: bool) -> _Samples:
    """Texts from a table (``--text-column``) or a .txt file (one text per line)."""
    if path.suffix.lower() in _ARRAY_SUFFIXES:
        raise CommandError(
            f"DATA {path} holds numeric arrays but the model classifies texts; give a table "
            "with a text column, or a .txt file with one text per line.",
            2,
        )
    if path.suffix.lower() in _TEXT_SUFFIXES:
        if need_labels:
            raise CommandError(
                f"DATA {path} holds texts without labels; give a table with a "
                f"--label-column ({args.label_column!r}).",
                2,
            )
        if args.id:
            raise CommandError("--id names columns of a table; a .txt file has none.", 2)
        try:
            texts = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise CommandError(f"DATA {path} is not UTF-8 text.", 1) from exc
        return _Samples(texts, None, None, len(texts))
    check_table_path(path, "DATA")
    table = read_table(path, "DATA")
    hint = "; numeric series take --series" if args.command_name == "classify train" else ""
    column = table.require(args.text_column, "--text-column", hint)
    labels = (
        _labels(table, table.require(args.label_column, "--label-column")) if need_labels else None
    )
    texts = table.cells(column)
    return _Samples(texts, labels, _kept(table, args), len(texts))


def _read_arrays(path: Path, need_labels: bool) -> _Samples:
    """Series from a .npy file (X) or a .npz file (arrays X and y)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as exc:
        reason = " ".join(str(exc).split())
        raise CommandError(f"DATA {path} is not a NumPy file of numbers ({reason}).", 1) from exc
    if isinstance(loaded, np.ndarray):
        X, y = loaded, None
    else:
        with loaded:
            keys = list(loaded.keys())
            if "X" not in keys:
                raise CommandError(
                    f"DATA {path} has no array named 'X' (it has {', '.join(keys) or 'none'}); "
                    "save the series as X and the labels as y: np.savez(path, X=X, y=y).",
                    1,
                )
            X, y = loaded["X"], (loaded["y"] if "y" in keys else None)
    if need_labels and y is None:
        raise CommandError(
            f"DATA {path} holds no labels; save them with the series: np.savez(path, X=X, y=y).",
            2,
        )
    if X.dtype.kind not in "iuf" or X.ndim not in (2, 3):
        raise CommandError(
            f"DATA {path}: X must be numbers of shape (n_series, n_timesteps) or (n_series, "
            f"n_channels, n_timesteps); got {X.dtype} of shape {X.shape}.",
            1,
        )
    if not np.isfinite(X).all():
        raise CommandError(
            f"DATA {path}: X holds NaN or infinite values; classifiers need complete series "
            "(fill them with tsfilm impute first).",
            1,
        )
    if y is not None and len(y) != len(X):
        raise CommandError(f"DATA {path}: X has {len(X)} series but y has {len(y)} labels.", 1)
    X = X[:, None, :] if X.ndim == 2 else X
    return _Samples(X, y if need_labels else None, None, len(X))


def _read_series(path: Path, args: argparse.Namespace, need_labels: bool) -> _Samples:
    """Series from a table (one row per series) or a .npy/.npz file."""
    if path.suffix.lower() in _ARRAY_SUFFIXES:
        if args.id:
            raise CommandError("--id names columns of a table; a NumPy file has none.", 2)
        return _read_arrays(path, need_labels)
    if path.suffix.lower() in _TEXT_SUFFIXES:
        raise CommandError(
            f"DATA {path} is a text file but the model classifies numeric series; give a "
            "table with one series per row, or a .npy/.npz file.",
            2,
        )
    check_table_path(path, "DATA")
    table = read_table(path, "DATA")
    label = args.label_column
    if need_labels:
        table.require(label, "--label-column")
    labels = _labels(table, label) if need_labels else None
    kept = _kept(table, args)
    skip = {label, *(args.id or ())}
    columns = [c for c in table.frame.columns if c not in skip]
    if not columns:
        raise CommandError(f"{table.name} has no value columns besides the label and --id.", 1)
    if len(table.frame) == 0:
        raise CommandError(f"{table.name} has no data rows.", 1)
    hint = f"; if it identifies the rows, name it with --id {columns[0]}"
    matrix = np.stack(
        [table.numbers(c, hint if i == 0 else "") for i, c in enumerate(columns)], axis=1
    )
    series = []
    for row, values in enumerate(matrix):
        present = np.flatnonzero(~np.isnan(values))
        if present.size == 0:
            raise CommandError(f"{table.name}: row {row + 1} holds no value.", 1)
        length = int(present[-1]) + 1
        if present.size < length:  # a gap inside the series; empty cells at the end are fine
            gap = columns[int(np.flatnonzero(np.isnan(values[:length]))[0])]
            raise CommandError(
                f"{table.name}: row {row + 1} has no value in column {gap!r}, inside the "
                "series; classifiers need complete series (fill them with tsfilm impute "
                "first; empty cells at the end of a row make a shorter series).",
                1,
            )
        series.append(values[None, :length])
    X = np.stack(series) if len({s.shape[-1] for s in series}) == 1 else series
    return _Samples(X, labels, kept, len(series))


def _read_samples(path: Path, args: argparse.Namespace, text: bool, need_labels: bool) -> _Samples:
    samples = (_read_texts if text else _read_series)(path, args, need_labels)
    if samples.n == 0:
        raise CommandError(f"DATA {path} holds no samples.", 1)
    return samples


def _predict_proba(est: Any, samples: _Samples, quiet: bool) -> np.ndarray:
    """Class probabilities of every sample, chunk by chunk with a progress bar."""
    X, parts = samples.X, []
    with _progress(samples.n, "classifying", "samples", quiet) as bar:
        for start in range(0, samples.n, _CHUNK):
            parts.append(est.predict_proba(X[start : start + _CHUNK]))
            bar.update(len(parts[-1]))
    return np.concatenate(parts)


def _check_channels(est: Any, samples: _Samples, path: Path) -> None:
    expected = getattr(est, "n_channels_", None)
    first = samples.X[0]
    if expected is not None and first.shape[0] != expected:
        raise CommandError(
            f"DATA {path} holds series of {first.shape[0]} channel(s) but the model was "
            f"trained on {expected}; give a .npy/.npz file of shape (n_series, {expected}, "
            "n_timesteps).",
            2,
        )


# ---------------------------------------------------------------------- classify train
def _classify_train(args: argparse.Namespace) -> None:
    source, output = args.data, args.output
    _check_input(source, "DATA")
    series = args.series or source.suffix.lower() in _ARRAY_SUFFIXES
    if source.suffix.lower() not in (*_ARRAY_SUFFIXES, *_TEXT_SUFFIXES):
        check_table_path(source, "DATA")
    _check_model_output(output, "-o/--output")
    _refuse_same(output, "-o/--output", {"DATA": source})
    name = args.model_name or ("tfilm" if series else "tfilm_text")
    est = _make_estimator(name, "classification", CLASSIFY_SIZES[args.size], args, _CLASSIFY_FLAGS)
    if _takes_text(type(est)) == series:
        kind = "texts" if series else "numeric series"
        fix = "leave out --series" if series else "add --series"
        raise CommandError(
            f"--model-name {name!r} classifies {kind}; choose another model or {fix}.", 2
        )
    samples = _read_samples(source, args, text=not series, need_labels=True)
    classes, counts = np.unique(samples.labels, return_counts=True)
    if len(classes) < 2:
        raise CommandError(
            f"DATA {source}: every sample has the label {str(classes[0])!r}; a classifier needs "
            "at least two classes.",
            1,
        )
    shown = ", ".join(f"{c} ({n})" for c, n in zip(classes[:6], counts[:6], strict=True))
    more = ", ..." if len(classes) > 6 else ""
    _say(
        args,
        f"training {type(est).__name__} on {samples.n} samples of {len(classes)} "
        f"classes: {shown}{more}",
    )
    interrupted, seconds = _fit(args, est, samples.X, samples.labels)
    _save(est, output)
    if interrupted:
        message = f"training interrupted after {est.n_epochs_} epoch(s); model written to {output}."
        raise CommandError(message, 130)
    _say(args, f"trained {est.n_epochs_} epoch(s) in {seconds:.0f} s; model written to {output}")


# ---------------------------------------------------------------------- classify predict
def _classify_predict(args: argparse.Namespace) -> None:
    import pandas as pd

    model, source, output = args.model, args.data, args.output
    _check_input(model, "MODEL")
    _check_input(source, "DATA")
    check_table_path(output, "-o/--output")
    if output != STDOUT:
        _check_output(output, "-o/--output", "predictions.csv")
    _refuse_same(output, "-o/--output", {"MODEL": model, "DATA": source})
    est = _load_model(model, "classification", "classify predict", "a classification model")
    text = _takes_text(type(est))
    samples = _read_samples(source, args, text=text, need_labels=False)
    if not text:
        _check_channels(est, samples, source)
    proba = _predict_proba(est, samples, args.quiet)
    classes = np.asarray(est.classes_)
    out = pd.DataFrame({"prediction": classes[np.argmax(proba, axis=1)]})
    for k, c in enumerate(classes):
        out[f"proba_{c}"] = np.round(proba[:, k], 6)  # what a file reader needs
    if samples.kept is not None:
        out = pd.concat([samples.kept, out], axis=1)
    write_table(out, output)
    where = "standard output" if output == STDOUT else output
    _say(args, f"{samples.n} prediction(s) of {len(classes)} classes written to {where}")


# ---------------------------------------------------------------------- evaluate
#: Options of ``tsfilm evaluate`` that apply to one task only: destination -> task.
_EVALUATE_OPTIONS = {
    "text_column": "classification",
    "label_column": "classification",
    "id": ("classification", "imputation"),
    "index": "imputation",
    "time": "imputation",
    "value": "imputation",
    "missing_values": "imputation",
    "hide": "imputation",
    "random_state": "imputation",
    "resample": "super_resolution",
}


def _evaluate(args: argparse.Namespace) -> None:
    model = args.model
    _check_input(model, "MODEL")
    for path in args.data:
        _check_input(path, "DATA", "folder" if path.is_dir() else "file")
    import tsfilm

    est = tsfilm.load(model)
    tasks = _task_of(est)
    task = next(
        (t for t in ("classification", "imputation", "super_resolution") if t in tasks), None
    )
    if task is None:
        raise CommandError(f"MODEL {model} holds a {type(est).__name__}, of no known task.", 2)
    for dest, allowed in _EVALUATE_OPTIONS.items():
        allowed = (allowed,) if isinstance(allowed, str) else allowed
        if task not in allowed and _given(args, [dest]):
            raise CommandError(
                f"{_flag(dest)} applies to {' and '.join(allowed)} models; MODEL {model} holds "
                f"a {task.replace('_', '-')} model ({type(est).__name__}).",
                2,
            )
    if task != "super_resolution" and len(args.data) != 1:
        raise CommandError(f"give one DATA file for a {task} model; got {len(args.data)}.", 2)
    evaluate = {
        "classification": _evaluate_classifier,
        "imputation": _evaluate_imputer,
        "super_resolution": _evaluate_super_resolver,
    }[task]
    result = {"model": str(model), "class": type(est).__name__, "task": task}
    result |= evaluate(args, est)
    if args.json:
        print(json.dumps(_finite(result), indent=2))
        return
    print(_format_result(_model_name(est), result))


def _finite(value: Any) -> Any:
    """JSON-safe: NaN and infinity (a perfect SNR) become None."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _format_result(name: str, result: dict[str, Any]) -> str:
    """The metrics as a table: one row per method, one column per metric, and n.

    Examples
    --------
    >>> result = {"n": 8, "metrics": {"snr_db": 22.55, "lsd": 3.22},
    ...           "reference": {"name": "spline", "metrics": {"snr_db": 22.27, "lsd": 3.82}}}
    >>> print(_format_result("tfilm", result))
    method  snr_db   lsd     n
    tfilm   22.5500  3.2200  8
    spline  22.2700  3.8200  8
    """
    metrics = list(result["metrics"])
    rows = [("method", *metrics, "n"), (name, *_numbers(result["metrics"]), str(result["n"]))]
    if "reference" in result:
        reference = result["reference"]
        rows.append((reference["name"], *_numbers(reference["metrics"]), str(result["n"])))
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _numbers(metrics: dict[str, float]) -> list[str]:
    """Four decimals, or four significant digits for very small or large values."""
    return [f"{v:.4f}" if v == 0 or 1e-3 <= abs(v) < 1e5 else f"{v:.4g}" for v in metrics.values()]


def _evaluate_classifier(args: argparse.Namespace, est: Any) -> dict[str, Any]:
    from sklearn.metrics import f1_score

    source = args.data[0]
    args.text_column = args.text_column or "text"
    args.label_column = args.label_column or "label"
    text = _takes_text(type(est))
    samples = _read_samples(source, args, text=text, need_labels=True)
    if not text:
        _check_channels(est, samples, source)
    classes = np.asarray(est.classes_)
    names = [str(c) for c in classes]
    lookup = {n: k for k, n in enumerate(names)}
    truth = [str(label) for label in samples.labels]
    unknown = sorted({t for t in truth if t not in lookup})
    if unknown:
        raise CommandError(
            f"DATA {source} has label(s) {', '.join(map(repr, unknown[:5]))} that the model "
            f"does not know; it knows {', '.join(map(repr, names))}.",
            1,
        )
    codes = np.array([lookup[t] for t in truth])
    proba = _predict_proba(est, samples, args.quiet)
    predicted = np.argmax(proba, axis=1)
    eps = np.finfo(np.float64).eps
    log_loss = float(-np.mean(np.log(np.clip(proba[np.arange(len(codes)), codes], eps, 1))))
    metrics = {
        "accuracy": float(np.mean(predicted == codes)),
        "macro_f1": float(f1_score(codes, predicted, average="macro")),
        "log_loss": log_loss,
    }
    return {"n": samples.n, "metrics": metrics}


def _evaluate_imputer(args: argparse.Namespace, est: Any) -> dict[str, Any]:
    from tsfilm.preprocessing import hide_at_random

    source = args.data[0]
    check_table_path(source, "DATA")
    if args.id is not None:  # evaluate's --id is a list, for the columns classifiers skip
        if len(args.id) > 1:
            raise CommandError("a long table has one --id column.", 2)
        args.id = args.id[0]
    panel = _read_panel(args, source)
    marker, source_name = _check_imputer_model(est, args)
    missing = _missing_masks(panel, marker, source_name)
    lengths = np.cumsum([len(v) for v in panel.values])[:-1]
    flat = np.concatenate(panel.values)
    rate = 0.2 if args.hide is None else args.hide
    seed = 0 if args.random_state is None else args.random_state
    hidden_flat, hidden = hide_at_random(flat, rate, random_state=seed, missing_values=marker)
    n_observed = int((~np.concatenate(missing)).sum())
    if not hidden.any():
        raise CommandError(
            f"{panel.table.name} has {n_observed} observed value(s); --hide {rate:g} hides none "
            "of them. Give more data or a larger --hide.",
            1,
        )
    parts = np.split(hidden_flat, lengths)
    gaps = np.split(hidden | np.concatenate(missing), lengths)
    needs = [i for i, g in enumerate(gaps) if g.any()]
    filled = dict(
        zip(needs, _impute_series(est, [parts[i] for i in needs], args.quiet), strict=True)
    )
    truth = flat[hidden]
    model = np.concatenate([filled[i] if i in filled else parts[i] for i in range(len(parts))])
    reference = np.concatenate(_linear(parts, gaps))
    return {
        "n": int(hidden.sum()),
        "n_observed": n_observed,
        "metrics": _errors(truth, model[hidden]),
        "reference": {"name": "linear", "metrics": _errors(truth, reference[hidden])},
    }


def _errors(truth: np.ndarray, estimate: np.ndarray) -> dict[str, float]:
    error = estimate - truth
    return {"mae": float(np.mean(np.abs(error))), "rmse": float(np.sqrt(np.mean(error**2)))}


def _linear(values: list[np.ndarray], gaps: list[np.ndarray]) -> list[np.ndarray]:
    """Linear interpolation between the neighbouring known values of each series (the
    nearest one at the ends; the mean of every known value for a series with none)."""
    known = np.concatenate([v[~g] for v, g in zip(values, gaps, strict=True)])
    mean = float(known.mean()) if known.size else 0.0
    out = []
    for v, g in zip(values, gaps, strict=True):
        positions = np.arange(len(v))
        if g.all():
            out.append(np.full(len(v), mean))
        else:
            out.append(np.interp(positions, positions[~g], v[~g]))
    return out


def _audio_files(paths: Sequence[Path]) -> list[Path]:
    """The files given, and the audio files under the folders given, in name order."""
    from tsfilm.io.audio import _soundfile

    extensions = {f".{e.lower()}" for e in _soundfile().available_formats()}
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in extensions)
            if not found:
                raise CommandError(f"DATA folder {path} holds no audio file.", 1)
            files.extend(found)
        else:
            files.append(path)
    return files


def _evaluate_super_resolver(args: argparse.Namespace, est: Any) -> dict[str, Any]:
    from tsfilm.io.audio import _soundfile, read_audio
    from tsfilm.metrics import lsd, snr
    from tsfilm.preprocessing import degrade, min_length_for_lowpass, spline_upsample

    soundfile = _soundfile()
    ratio, lowpass = int(est.ratio_), bool(getattr(est, "lowpass", True))
    rate = getattr(est, "sample_rate", None)
    shortest = max(2 * ratio, min_length_for_lowpass(ratio) if lowpass else 0)
    scores: dict[str, list[float]] = {
        "snr_db": [],
        "lsd": [],
        "spline_snr_db": [],
        "spline_lsd": [],
    }
    files = _audio_files(args.data)
    seconds = 0.0
    with _progress(len(files), "evaluating", "files", args.quiet) as bar:
        for path in files:
            try:
                audio, file_rate = read_audio(path, rate=rate if args.resample else None)
            except soundfile.SoundFileError as exc:
                reason = (getattr(exc, "error_string", None) or str(exc)).rstrip(".")
                message = f"is not an audio file that libsndfile can read ({reason})"
                raise CommandError(f"DATA {path} {message}.", 1) from exc
            if rate not in (None, file_rate):
                raise CommandError(
                    f"DATA {path} is at {file_rate} Hz but the model makes {rate} Hz; pass "
                    "--resample.",
                    2,
                )
            if audio.shape[-1] < shortest:
                raise CommandError(
                    f"DATA {path} has {audio.shape[-1]} samples; evaluating needs at least "
                    f"{shortest} to degrade by {ratio}.",
                    1,
                )
            if est.n_channels_ == 1:
                series = audio[:, None, :]  # every channel on its own
            elif audio.shape[0] == est.n_channels_:
                series = audio[None]
            else:
                raise CommandError(
                    f"DATA {path} has {audio.shape[0]} channels but the model takes "
                    f"{est.n_channels_}.",
                    1,
                )
            n = audio.shape[-1]
            low = degrade(series, ratio, lowpass=lowpass)
            predicted = np.asarray(est.predict(low))[..., :n]
            spline = spline_upsample(low, ratio, length=n)
            scores["snr_db"].extend(snr(series, predicted, average=False))
            scores["lsd"].extend(lsd(series, predicted, average=False))
            scores["spline_snr_db"].extend(snr(series, spline, average=False))
            scores["spline_lsd"].extend(lsd(series, spline, average=False))
            seconds += n / file_rate
            bar.update(1)
    mean = {k: float(np.mean(v)) for k, v in scores.items()}
    return {
        "n": len(scores["snr_db"]),
        "files": len(files),
        "seconds": seconds,
        "metrics": {"snr_db": mean["snr_db"], "lsd": mean["lsd"]},
        "reference": {
            "name": "spline",
            "metrics": {"snr_db": mean["spline_snr_db"], "lsd": mean["spline_lsd"]},
        },
    }


# ---------------------------------------------------------------------- parsers
def _add_fit_options(parser: argparse.ArgumentParser, sizes: dict[str, dict]) -> None:
    group = parser.add_argument_group("training")
    choices = ", ".join(sizes)
    group.add_argument(
        "--size", choices=list(sizes), help=f"network size: {choices} (default small)"
    )
    for flags, dest, kind, text in _FIT_OPTIONS:
        metavar = flags[0][2:].upper().replace("-", "_")
        group.add_argument(*flags, dest=dest, metavar=metavar, type=kind, help=text)


def _add_layout_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "table layout",
        "wide (default): one column per series, rows are time steps; --index columns are "
        "kept as they are. Long: one row per series and time step, with --id and --value "
        "(and --time to order the rows).",
    )
    group.add_argument(
        "--index",
        action="append",
        metavar="COLUMN",
        help="a column that labels the rows of a wide table (repeatable)",
    )
    group.add_argument("--id", metavar="COLUMN", help="long table: the column naming the series")
    group.add_argument(
        "--time", metavar="COLUMN", help="long table: the time column (numbers or dates)"
    )
    group.add_argument(
        "--value",
        action="append",
        metavar="COLUMN",
        help="long table: a column of values (repeatable)",
    )
    group.add_argument(
        "--missing-values",
        type=_marker,
        metavar="MARKER",
        help="what marks a missing value: nan (empty cells, the default) or a number such as 0",
    )


def add_commands(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``impute``, ``classify`` and ``evaluate`` to the ``tsfilm`` sub-commands."""
    impute = sub.add_parser(
        "impute",
        parents=parents,
        help="fill the missing values of a table of time series",
        description="Fill the missing cells of a table of time series with a TFiLMImputer, "
        "fitted on the table's own series or loaded with --model. Only missing cells change; "
        "the output has the input's rows, columns and order.",
    )
    impute.add_argument("input", type=Path, help="table: .csv, .tsv or .parquet")
    impute.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help="table to write (.csv, .tsv, .parquet; - for standard output)",
    )
    _add_layout_options(impute)
    models = impute.add_argument_group("model")
    models.add_argument("--model", type=Path, metavar="FILE", help="use this saved imputer")
    models.add_argument("--save", type=Path, metavar="FILE", help="keep the fitted imputer")
    _add_fit_options(impute, IMPUTE_SIZES)
    impute.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    impute.set_defaults(
        func=_impute,
        command_name="impute",
        flags=_FIT_FLAGS,
        memory_hint=_MEMORY_HINT,
        random_state=0,
    )

    classify = sub.add_parser(
        "classify", parents=parents, help="train or apply a classifier of texts or series"
    )
    actions = classify.add_subparsers(dest="action", required=True, metavar="{train,predict}")
    train = actions.add_parser(
        "train",
        parents=parents,
        help="train a classifier on labelled texts or series",
        description="Train a classifier and write a model file. Texts: a table with a text "
        "and a label column. Series (--series): a table with one series per row (a label "
        "column, --id columns, the rest values; empty cells at the end of a row make a "
        "shorter series) or a .npz file with arrays X and y.",
    )
    train.add_argument("data", type=Path, help="table (.csv, .tsv, .parquet) or .npz")
    train.add_argument("-o", "--output", type=Path, required=True, help="model file to write")
    train.add_argument("--series", action="store_true", help="numeric series instead of texts")
    _add_sample_options(train)
    train.add_argument(
        "--model-name",
        metavar="NAME",
        help="registered classifier (default "
        "tfilm_text for texts, tfilm for series; see tsfilm models)",
    )
    _add_fit_options(train, CLASSIFY_SIZES)
    train.set_defaults(size="small")
    train.add_argument(
        "--max-length",
        type=_number(1),
        metavar="TOKENS",
        help="tokens read per text (default: the model's, 256)",
    )
    train.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    train.set_defaults(
        func=_classify_train,
        command_name="classify train",
        flags=_CLASSIFY_FLAGS,
        memory_hint=_MEMORY_HINT,
        random_state=0,
    )

    predict = actions.add_parser(
        "predict",
        parents=parents,
        help="predict the classes of texts or series with a model file",
        description="Write the predicted class and the probability of every class, one row "
        "per sample in input order. Texts: a table with a text column, or a .txt file with "
        "one text per line. Series: a table with one series per row, or a .npy/.npz file.",
    )
    predict.add_argument("model", type=Path, help="a classification model file")
    predict.add_argument("data", type=Path, help="table, .txt, .npy or .npz")
    predict.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help="table to write (.csv, .tsv, .parquet; - for standard output)",
    )
    _add_sample_options(predict)
    predict.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    predict.set_defaults(func=_classify_predict, command_name="classify predict")

    evaluate = sub.add_parser(
        "evaluate",
        parents=parents,
        help="score a model file on labelled data",
        description="Score a saved model on data with known answers. Classifiers: accuracy, "
        "macro F1 and log loss on a labelled table or .npz. Imputers: MAE and RMSE on "
        "observed values hidden at random (--hide), against linear interpolation. "
        "Super-resolvers: SNR (dB) and LSD of audio files degraded by the model's ratio, "
        "against the cubic spline.",
    )
    evaluate.add_argument("model", type=Path, help="a model file")
    evaluate.add_argument(
        "data",
        type=Path,
        nargs="+",
        help="labelled table or .npz; table with gaps; audio files or folders",
    )
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of a table")
    group = evaluate.add_argument_group("classifiers")
    group.add_argument("--text-column", metavar="COLUMN", help="(default text)")
    group.add_argument("--label-column", metavar="COLUMN", help="(default label)")
    group.add_argument(
        "--id",
        metavar="COLUMN",
        action="append",
        help="a table of series: a column that is not a value (repeatable); for imputers, "
        "the series column of a long table",
    )
    layout = evaluate.add_argument_group("imputers (the table as tsfilm impute reads it)")
    layout.add_argument("--index", action="append", metavar="COLUMN", help="wide table")
    layout.add_argument("--time", metavar="COLUMN", help="long table")
    layout.add_argument("--value", action="append", metavar="COLUMN", help="long table")
    layout.add_argument(
        "--missing-values", type=_marker, metavar="MARKER", help="(default: the model's)"
    )
    layout.add_argument(
        "--hide",
        type=_fraction,
        metavar="SHARE",
        help="share of the observed values hidden and scored (default 0.2)",
    )
    layout.add_argument(
        "--seed",
        "--random-state",
        dest="random_state",
        type=_SEED,
        metavar="SEED",
        help="which values are hidden (default 0)",
    )
    audio = evaluate.add_argument_group("super-resolvers")
    audio.add_argument("--resample", action="store_true", help="resample files to the model's rate")
    evaluate.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    evaluate.set_defaults(func=_evaluate, command_name="evaluate")


def _add_sample_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--text-column", default="text", metavar="COLUMN", help="column of the texts (default text)"
    )
    parser.add_argument(
        "--label-column",
        default="label",
        metavar="COLUMN",
        help="column of the labels (default label)",
    )
    parser.add_argument(
        "--id",
        action="append",
        metavar="COLUMN",
        help="a column that is not a value: kept in the predictions (repeatable)",
    )
