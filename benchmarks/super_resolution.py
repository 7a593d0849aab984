"""Audio super-resolution on held-out speakers: spline, DNN, Conv and TFiLM (the main table).

Trains every model on the Debian speech prompts of some voices and tests on another voice
(the paper's multispeaker setting), with a wall-clock budget per model: the model trains
on all its data until ``max_time`` (the engine's budget, checked after every optimiser
step) is spent, so every model gets about the same time, which is the fair comparison on
a shared CPU; the table gives the seconds actually spent. Training
signals shorter than the patch length are left out, so every patch has the intended
length; every test signal is used, whatever its length.

Prints a markdown table (SNR and LSD on the test voice, averaged over files; training
seconds, epochs, parameters) and writes it as CSV.

Example (about 15 minutes on two CPU cores)::

    python benchmarks/super_resolution.py --ratio 4 --max-files 30 --minutes 3 \\
        --size tiny --out super_resolution.csv --save-dir models/
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

import numpy as np

from tsfilm.cli import SIZES as NETWORK_SIZES
from tsfilm.datasets import load_speech
from tsfilm.metrics import lsd, snr
from tsfilm.preprocessing import degrade, min_length_for_lowpass
from tsfilm.registry import make_model

#: Hyper-parameters of the DNN baseline for each ``--size`` (the U-Nets use tsfilm.cli.SIZES).
DNN_SIZES: dict[str, dict] = {
    "tiny": {"patch_length": 256, "hidden_sizes": (512, 512)},
    "small": {"patch_length": 256, "hidden_sizes": (1024, 1024)},
    "paper": {"patch_length": 8192, "hidden_sizes": (1365, 4096)},
}
MODELS = ("spline", "dnn", "conv", "tfilm")
SAMPLE_RATE = 16000


def build(name: str, args: argparse.Namespace):
    """A fresh estimator for one row of the table."""
    common = {"ratio": args.ratio, "lowpass": not args.no_lowpass}
    if name == "spline":
        return make_model("spline", task="super_resolution", **common)
    engine = {
        "max_epochs": 1,
        "warm_start": True,
        "validation_fraction": 0.0,
        "patience": None,
        "learning_rate": args.learning_rate,
        "n_threads": args.threads,
        "random_state": args.seed,
        "sample_rate": SAMPLE_RATE,
    }
    if name == "dnn":
        return make_model(
            "dnn",
            task="super_resolution",
            batch_size=64,
            **common,
            **engine,
            **DNN_SIZES[args.size],
        )
    return make_model(
        name,
        task="super_resolution",
        patch_length=args.patch_length,
        batch_size=args.batch_size,
        **common,
        **engine,
        **NETWORK_SIZES[args.size],
    )


def evaluate(est, X_low: list, y_high: list) -> tuple[float, float]:
    """Mean SNR (dB) and LSD over the test files."""
    predictions = est.predict(X_low)
    snrs, lsds = [], []
    for y, p in zip(y_high, predictions, strict=True):
        p = p[: y.shape[-1]]  # degrade's ceil adds up to ratio - 1 samples
        snrs.append(snr(y, p))
        lsds.append(lsd(y, p))
    return float(np.mean(snrs)), float(np.mean(lsds))


def parameter_count(est) -> int:
    module = getattr(est, "module_", None)
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def markdown(rows: list[dict]) -> str:
    lines = [
        "| model | SNR (dB) | LSD | train s | epochs | params |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['model']} | {r['snr_db']:.2f} | {r['lsd']:.2f} | {r['train_seconds']:.0f} | "
        f"{r['epochs']} | {r['params']:,} |"
        for r in rows
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratio", type=int, default=4)
    parser.add_argument(
        "--train-voices",
        nargs="+",
        default=["en_US_f_Allison", "fr_CA_f_June", "it_IT_m_Carlo"],
        help="es_MX_f_Allison is the en_US speaker: keep it out of a speaker split",
    )
    parser.add_argument("--test-voice", default="ru_RU_f_IvrvoiceRU")
    parser.add_argument("--max-files", type=int, default=30, help="per training voice")
    parser.add_argument("--max-test-files", type=int, default=100, help="of the test voice")
    parser.add_argument("--minutes", type=float, default=3.5, help="training budget per model")
    parser.add_argument("--size", choices=sorted(NETWORK_SIZES), default="tiny")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--patch-length", type=int, default=8192, help="for conv and tfilm")
    parser.add_argument("--batch-size", type=int, default=16, help="for conv and tfilm")
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--no-lowpass", action="store_true", help="subsample without filter")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/super_resolution.csv"))
    parser.add_argument("--save-dir", type=Path, default=None, help="write the trained models")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.test_voice in args.train_voices:
        raise SystemExit("--test-voice must not be one of --train-voices.")
    lowpass = not args.no_lowpass
    shortest = max(args.patch_length, min_length_for_lowpass(args.ratio) if lowpass else 1)
    train = [
        s
        for s in load_speech(args.train_voices, max_files=args.max_files).signals
        if s.shape[-1] >= shortest
    ]
    test = [
        s
        for s in load_speech(args.test_voice, max_files=args.max_test_files).signals
        if s.shape[-1] >= min_length_for_lowpass(args.ratio)
    ]
    X_train = [degrade(s, args.ratio, lowpass=lowpass) for s in train]
    X_test = [degrade(s, args.ratio, lowpass=lowpass) for s in test]
    minutes = sum(s.shape[-1] for s in train) / SAMPLE_RATE / 60
    test_minutes = sum(s.shape[-1] for s in test) / SAMPLE_RATE / 60
    print(
        f"train: {len(train)} files, {minutes:.1f} min ({', '.join(args.train_voices)}); "
        f"test: {len(test)} files, {test_minutes:.1f} min ({args.test_voice}); "
        f"ratio {args.ratio}, low-pass {'on' if lowpass else 'off'}, size {args.size}",
        flush=True,
    )
    if args.save_dir is not None:
        args.save_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.models:
        est = build(name, args)
        if name == "spline":
            start = time.perf_counter()
            est.fit(X_train, train)
            seconds, epochs = time.perf_counter() - start, 0
        else:
            start = time.perf_counter()
            est.set_params(
                max_time=60 * args.minutes, max_epochs=100_000, patience=None, validation_fraction=0
            )
            est.fit(X_train, train)
            seconds, epochs = time.perf_counter() - start, len(est.history_)
            if args.save_dir is not None:
                est.save(args.save_dir / f"{name}.tsfilm")
        snr_db, lsd_value = evaluate(est, X_test, test)
        rows.append(
            {
                "model": name,
                "snr_db": snr_db,
                "lsd": lsd_value,
                "train_seconds": seconds,
                "epochs": epochs,
                "params": parameter_count(est),
                "ratio": args.ratio,
                "lowpass": lowpass,
                "size": args.size,
                "train_minutes": round(minutes, 2),
                "test_files": len(test),
            }
        )
        print(
            f"{name}: SNR {snr_db:.2f} dB, LSD {lsd_value:.2f}, {epochs} epoch(s) in "
            f"{seconds:.0f} s",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print()
    print(markdown(rows))
    return 0 if all(math.isfinite(r["snr_db"]) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
