"""Time-series classification on UCR/UEA sets: TFiLM, SmallCNN and LSTM against sktime.

Uses the data sets that ship inside sktime (no download): GunPoint, ArrowHead,
ItalyPowerDemand, OSULeaf, BasicMotions (6 channels) and JapaneseVowels (12 channels,
unequal lengths), each with its standard train/test split. tsfilm's classifiers train
with one torch thread for a fixed number of epochs (no validation split: the training
sets have 36 to 270 series) and keep the weights of the epoch with the lowest training
loss. The outside references
are sktime's MiniRocket (``RocketClassifier(rocket_transform="minirocket")``) and
1-nearest-neighbour with dynamic time warping.

JapaneseVowels has series of 7 to 29 steps: tsfilm's classifiers take them as a list
(padded and masked inside); the sktime references get them padded at the end with each
series' last value, to the longest length.

Prints a markdown table of test accuracy and fit seconds per data set and model, and
writes it as CSV with ``--out``. Needs sktime (and numba for MiniRocket and DTW)::

    pip install "sktime==1.2.*" numba

Example (about 12 minutes on two shared CPU cores)::

    python benchmarks/series_classification.py --epochs 100 --out series_classification.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from tsfilm.registry import make_model

DATASETS = (
    "gunpoint",
    "arrow_head",
    "italy_power_demand",
    "osuleaf",
    "basic_motions",
    "japanese_vowels",
)
TSFILM_MODELS = ("tfilm", "smallcnn", "lstm")
SKTIME_MODELS = ("minirocket", "knn_dtw")
_INSTALL = 'pip install "sktime==1.2.*" numba'


def load(name: str):
    """Train and test parts: (X_train, y_train, X_test, y_test); X a 3-D array or a list."""
    from sktime import datasets

    loader = getattr(datasets, f"load_{name}")
    parts = []
    for split in ("train", "test"):
        if name == "japanese_vowels":
            frame, y = loader(split=split, return_type="nested_univ")
            X = [
                np.stack([np.asarray(frame.iloc[i, c], dtype=float) for c in range(frame.shape[1])])
                for i in range(len(frame))
            ]
        else:
            X, y = loader(split=split, return_type="numpy3D")
        parts += [X, np.asarray(y)]
    return tuple(parts)


def padded(X) -> np.ndarray:
    """A 3-D array: series of a list padded at the end with their last value."""
    if isinstance(X, np.ndarray):
        return X
    length = max(x.shape[-1] for x in X)
    return np.stack([np.pad(x, ((0, 0), (0, length - x.shape[-1])), mode="edge") for x in X])


def build(name: str, args: argparse.Namespace):
    engine = {
        "max_epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "validation_fraction": 0.0,
        "patience": None,
        "n_threads": args.threads,
        "random_state": args.seed,
    }
    if name == "tfilm":
        return make_model("tfilm", task="classification", n_filters=args.filters, **engine)
    if name == "smallcnn":
        return make_model("smallcnn", task="classification", n_filters=args.filters, **engine)
    if name == "lstm":
        return make_model("lstm", task="classification", hidden_size=args.hidden, **engine)
    if name == "minirocket":
        from sktime.classification.kernel_based import RocketClassifier

        return RocketClassifier(rocket_transform="minirocket", random_state=args.seed)
    from sktime.classification.distance_based import KNeighborsTimeSeriesClassifier

    return KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw")


def evaluate(model_name: str, data, args) -> dict:
    X_train, y_train, X_test, y_test = data
    model = build(model_name, args)
    if model_name in SKTIME_MODELS:
        X_train, X_test = padded(X_train), padded(X_test)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    accuracy = float(np.mean(np.asarray(model.predict(X_test)) == y_test))
    predict_seconds = time.perf_counter() - start
    module = getattr(model, "module_", None)
    n_params = sum(p.numel() for p in module.parameters()) if module is not None else None
    return {
        "model": model_name,
        "accuracy": accuracy,
        "seconds": seconds,
        "predict_seconds": predict_seconds,
        "parameters": n_params,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"subset of {DATASETS}")
    parser.add_argument(
        "--models",
        default=",".join(TSFILM_MODELS + SKTIME_MODELS),
        help=f"subset of {TSFILM_MODELS + SKTIME_MODELS}",
    )
    parser.add_argument("--epochs", type=int, default=100, help="epochs of tsfilm's networks")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--filters", type=int, default=64, help="n_filters of tfilm, smallcnn")
    parser.add_argument("--hidden", type=int, default=64, help="hidden_size of lstm")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: these small networks gain little from more, and a shared "
        "CPU slows multi-threaded torch down badly)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="CSV file for the table")
    args = parser.parse_args(argv)
    for option, allowed in (("datasets", DATASETS), ("models", TSFILM_MODELS + SKTIME_MODELS)):
        unknown = set(getattr(args, option).split(",")) - set(allowed)
        if unknown:
            parser.error(f"unknown {option} {sorted(unknown)}; choose from {allowed}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import sktime  # noqa: F401
    except ModuleNotFoundError:
        print(f"This benchmark reads the data sets shipped with sktime. Install it: {_INSTALL}")
        return 0
    models = args.models.split(",")
    rows = []
    for dataset in args.datasets.split(","):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sktime's deprecation notices
            data = load(dataset)
        X_train, y_train, X_test, _ = data
        lengths = sorted({x.shape[-1] for x in X_train})
        print(
            f"{dataset}: {len(X_train)} train / {len(X_test)} test series, "
            f"{X_train[0].shape[0]} channel(s), length {lengths[0]}"
            + (f"-{lengths[-1]}" if len(lengths) > 1 else "")
            + f", {len(np.unique(y_train))} classes",
            flush=True,
        )
        for model_name in models:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                row = {"dataset": dataset, **evaluate(model_name, data, args)}
            rows.append(row)
            print(
                f"  {model_name}: accuracy {row['accuracy']:.4f}, fit {row['seconds']:.1f} s, "
                f"predict {row['predict_seconds']:.1f} s",
                flush=True,
            )

    print()
    print("| dataset | " + " | ".join(models) + " |")
    print("|---|" + "---:|" * len(models))
    for dataset in args.datasets.split(","):
        cells = []
        for model_name in models:
            row = next(r for r in rows if r["dataset"] == dataset and r["model"] == model_name)
            cells.append(
                f"{row['accuracy']:.3f} ({row['seconds']:.0f}+{row['predict_seconds']:.0f} s)"
            )
        print(f"| {dataset} | " + " | ".join(cells) + " |")
    means = [np.mean([r["accuracy"] for r in rows if r["model"] == m]) for m in models]
    print("| mean accuracy | " + " | ".join(f"{m:.3f}" for m in means) + " |")
    print("(accuracy on the test split; fit + predict seconds in brackets)")
    for model_name in models:
        counts = {r["parameters"] for r in rows if r["model"] == model_name} - {None}
        if counts:
            print(f"{model_name}: {min(counts):,}-{max(counts):,} parameters")
    if args.out is not None:
        with args.out.open("w", newline="") as handle:
            writer = csv.DictWriter(
                handle,
                fieldnames=[
                    "dataset",
                    "model",
                    "accuracy",
                    "seconds",
                    "predict_seconds",
                    "parameters",
                ],
            )
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
