"""Causal streaming super-resolution: latency, real-time factor and quality.

Two tables.

Latency: a causal :class:`~tsfilm.TFiLMSuperResolver` of each ``--sizes`` (the sizes of
``tsfilm train --size``) up-samples speech from 8 kHz to 16 kHz (ratio 2) with
``est.stream()``, in chunks of ``--chunk-ms`` milliseconds of input, on one torch thread.
Each chunk's compute time is measured around ``stream.process`` (the whole user path:
interpolation, scaling, network), as wall-clock time and as the thread's CPU time (which
leaves out the time other processes take the core); the table gives the median, the 99th
percentile and the maximum per chunk and the real-time factor (seconds of audio per
second of compute), with one torch thread and one BLAS thread. The first 50 chunks warm
up and are not counted. Without
``--model`` the network is fitted for one epoch on noise: speed does not depend on the
weights.

Quality: a causal and an offline TFiLM of ``--quality-size`` train with the same budget
(``--minutes`` of wall-clock time each, or ``--epochs``) on the Debian speech prompts of
some voices and are tested on another voice (unseen speaker), at ratio 2 with the
low-pass filter. The table gives the mean SNR and LSD over the test files of the cubic
spline, the causal interpolations alone (both kinds of
:func:`tsfilm.streaming.causal_upsample`), the offline TFiLM and the causal TFiLM, and
the share of the offline model's SNR gain over the spline that the causal model keeps.
It also checks that streaming the first test file in 10 ms chunks gives the causal
model's ``predict``.

The targets the tables are compared with: at least 10x real time with 10 ms chunks on one
thread, a 99th percentile of compute per chunk below 2 ms, and a causal model that keeps
at least 80 % of the offline model's gain over the spline.

Example (about 10 minutes on two CPU cores)::

    python benchmarks/streaming.py --minutes 3 --out benchmarks/results/streaming.csv

``--quick`` runs everything small, in about a minute (for CI).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

import tsfilm
from tsfilm import TFiLMSuperResolver
from tsfilm.cli import SIZES
from tsfilm.datasets import load_speech
from tsfilm.estimators import unet_kwargs
from tsfilm.metrics import lsd, snr
from tsfilm.nn import TFiLMUNet
from tsfilm.preprocessing import degrade, min_length_for_lowpass, spline_upsample
from tsfilm.streaming import INTERPOLATION_TAPS, causal_upsample

RATE, RATIO = 16000, 2
LOW_RATE = RATE // RATIO
WARMUP_CHUNKS = 50
TARGET_RTF, TARGET_P99_MS, TARGET_KEPT = 10.0, 2.0, 0.8


def cpu_model() -> str:
    """The CPU's model name as ``lscpu`` prints it (or what the platform says)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or platform.machine()
    names = [line.split(":", 1)[1].strip() for line in out.splitlines() if "Model name" in line]
    return names[0] if names else platform.machine()


def speech(voices: list[str] | str, max_files: int, shortest: int) -> list[np.ndarray]:
    return [s for s in load_speech(voices, max_files=max_files).signals if s.shape[-1] >= shortest]


# ---------------------------------------------------------------------- latency
def timing_model(size: str, seed: int) -> TFiLMSuperResolver:
    """A causal model of ``size`` fitted for one epoch on noise."""
    noise = np.random.default_rng(seed).normal(size=(2, 4096)).astype(np.float32) * 0.1
    est = TFiLMSuperResolver(
        ratio=RATIO,
        causal=True,
        sample_rate=RATE,
        patch_length=2048,
        max_epochs=1,
        validation_fraction=0.0,
        random_state=seed,
        **SIZES[size],
    )
    return est.fit(noise)


def measure(est: TFiLMSuperResolver, audio: np.ndarray, chunk_ms: float) -> dict:
    """Per-chunk compute times of ``est.stream()`` over ``audio`` (low rate, float32)."""
    chunk = max(1, round(LOW_RATE * chunk_ms / 1000))
    stream = est.stream()
    wall, cpu = [], []
    for start in range(0, audio.size, chunk):
        piece = audio[start : start + chunk]
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        stream.process(piece)
        cpu.append(time.thread_time_ns() - c0)
        wall.append(time.perf_counter_ns() - w0)
    stream.flush()
    wall_ms, cpu_ms = np.array(wall[WARMUP_CHUNKS:]) / 1e6, np.array(cpu[WARMUP_CHUNKS:]) / 1e6
    seconds = wall_ms.size * chunk / LOW_RATE
    return {
        "chunk_ms": chunk_ms,
        "chunk_in": chunk,
        "chunk_out": chunk * RATIO,
        "chunks": wall_ms.size,
        "median_ms": float(np.median(wall_ms)),
        "p99_ms": float(np.percentile(wall_ms, 99)),
        "max_ms": float(wall_ms.max()),
        "rtf": seconds / (wall_ms.sum() / 1000),
        "cpu_median_ms": float(np.median(cpu_ms)),
        "cpu_p99_ms": float(np.percentile(cpu_ms, 99)),
        "cpu_rtf": seconds / (cpu_ms.sum() / 1000),
    }


def latency(args: argparse.Namespace) -> list[dict]:
    """One row per size (or ``--model``) and chunk length."""
    test = speech(args.test_voice, 40, 1)
    audio = degrade(np.concatenate(test), RATIO).astype(np.float32)
    needed = int(args.seconds * LOW_RATE) + WARMUP_CHUNKS * LOW_RATE // 10
    audio = np.resize(audio, needed)  # repeats the speech if it is shorter
    rows = []
    for size in [args.model.name] if args.model else args.sizes:
        est = tsfilm.load(args.model) if args.model else timing_model(size, args.seed)
        params = sum(p.numel() for p in est.module_.parameters())
        for chunk_ms in args.chunk_ms:
            rows.append({"size": size, "params": params, **measure(est, audio, chunk_ms)})
    return rows


def latency_table(rows: list[dict]) -> str:
    lines = [
        "| size | params | chunk | samples in/out | median ms | p99 ms | max ms | real time "
        "| CPU median ms | CPU p99 ms | CPU real time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['size']} | {r['params']:,} | {r['chunk_ms']:g} ms "
        f"| {r['chunk_in']}/{r['chunk_out']} "
        f"| {r['median_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.2f} | {r['rtf']:.1f}x "
        f"| {r['cpu_median_ms']:.2f} | {r['cpu_p99_ms']:.2f} | {r['cpu_rtf']:.1f}x |"
        for r in rows
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------- quality
class _LookaheadSuperResolver(TFiLMSuperResolver):
    """A causal super-resolver whose network looks ``lookahead_steps`` steps ahead
    (:class:`~tsfilm.nn.TFiLMUNet`'s ``lookahead``, which the estimator does not expose)."""

    lookahead_steps = 0

    def build_module(self) -> TFiLMUNet:
        kwargs = unet_kwargs(self, in_channels=self.n_channels_)
        return TFiLMUNet(**kwargs, causal=True, lookahead=self.lookahead_steps)


def train(causal: bool, X: list, y: list, args: argparse.Namespace, lookahead: int = 0) -> tuple:
    budget = (
        {"max_epochs": args.epochs}
        if args.epochs
        else {"max_epochs": 100_000, "max_time": 60 * args.minutes}
    )
    cls = TFiLMSuperResolver
    if lookahead:
        cls = type("LookaheadSuperResolver", (_LookaheadSuperResolver,), {})
        cls.lookahead_steps = lookahead
    est = cls(
        ratio=RATIO,
        causal=causal,
        sample_rate=RATE,
        patch_length=args.patch_length,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        validation_fraction=0.0,
        patience=None,
        n_threads=args.threads,
        random_state=args.seed,
        **budget,
        **SIZES[args.quality_size],
    )
    start = time.perf_counter()
    est.fit(X, y)
    return est, time.perf_counter() - start


def scores(predictions: list, y: list) -> tuple[float, float]:
    """Mean SNR (dB) and LSD of ``predictions`` against ``y``."""
    pairs = [(t, p[: t.shape[-1]]) for t, p in zip(y, predictions, strict=True)]
    return (
        float(np.mean([snr(t, p) for t, p in pairs])),
        float(np.mean([lsd(t, p) for t, p in pairs])),
    )


def stream_error(est: TFiLMSuperResolver, low: np.ndarray) -> float:
    """Largest difference between streaming ``low`` in 10 ms chunks and ``predict``,
    relative to the largest output sample."""
    stream, chunk = est.stream(), LOW_RATE // 100
    parts = [stream.process(low[i : i + chunk]) for i in range(0, low.size, chunk)]
    streamed = np.concatenate([*parts, stream.flush()])
    expected = est.predict(low[None])[0]
    return float(np.abs(streamed - expected).max() / np.abs(expected).max())


def quality(args: argparse.Namespace) -> tuple[list[dict], float]:
    shortest = max(args.patch_length, min_length_for_lowpass(RATIO))
    y_train = speech(args.train_voices, args.max_files, shortest)
    y_test = speech(args.test_voice, args.max_test_files, min_length_for_lowpass(RATIO))
    X_train = [degrade(s, RATIO) for s in y_train]
    X_test = [degrade(s, RATIO) for s in y_test]
    minutes = sum(s.size for s in y_train) / RATE / 60
    print(
        f"quality: train {len(y_train)} files, {minutes:.1f} min ({', '.join(args.train_voices)});"
        f" test {len(y_test)} files ({args.test_voice}); ratio {RATIO}, low-pass, size "
        f"{args.quality_size}",
        flush=True,
    )
    rows = []
    spline = [spline_upsample(x, RATIO, length=t.size) for x, t in zip(X_test, y_test, strict=True)]
    rows.append(
        {
            "model": "cubic spline (offline)",
            **dict(zip(("snr", "lsd"), scores(spline, y_test), strict=True)),
        }
    )
    for kind, (_, ahead) in INTERPOLATION_TAPS.items():  # the causal models' inputs
        interpolated = [
            causal_upsample(x, RATIO, length=t.size, kind=kind)
            for x, t in zip(X_test, y_test, strict=True)
        ]
        rows.append(
            {
                "model": f"causal interpolation, {kind} ({ahead} samples ahead)",
                **dict(zip(("snr", "lsd"), scores(interpolated, y_test), strict=True)),
            }
        )
    error = math.nan
    runs = [(False, 0), (True, 0)] + [(True, d) for d in args.lookaheads]
    for causal, lookahead in runs:
        est, seconds = train(causal, X_train, y_train, args, lookahead)
        snr_db, lsd_value = scores(est.predict(X_test), y_test)
        name = f"TFiLM {'causal' if causal else 'offline'}"
        if lookahead:
            name += f", network look-ahead {lookahead} ({1000 * lookahead / RATE:g} ms)"
        rows.append(
            {
                "model": name,
                "snr": snr_db,
                "lsd": lsd_value,
                "train_s": seconds,
                "epochs": est.n_epochs_,
            }
        )
        print(f"{rows[-1]['model']}: SNR {snr_db:.2f} dB in {est.n_epochs_} epoch(s)", flush=True)
        if causal and not lookahead:
            error = stream_error(est, X_test[0])
            if args.save_dir is not None:
                args.save_dir.mkdir(parents=True, exist_ok=True)
                est.save(args.save_dir / "causal.tsfilm")
    return rows, error


def quality_table(rows: list[dict]) -> tuple[str, float]:
    """The table, and the share of the offline gain that the causal model keeps."""
    spline = rows[0]["snr"]
    offline = next(r for r in rows if r["model"] == "TFiLM offline")["snr"]

    def kept(snr_db: float) -> float:
        return (snr_db - spline) / (offline - spline) if offline != spline else math.nan

    lines = [
        "| model | SNR (dB) | gain over spline (dB) | offline gain kept | LSD | train s | epochs |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        trained = f"{r['train_s']:.0f} | {r['epochs']}" if "epochs" in r else "- | -"
        share = f"{100 * kept(r['snr']):.0f} %" if r["model"].startswith("TFiLM causal") else ""
        lines.append(
            f"| {r['model']} | {r['snr']:.2f} | {r['snr'] - spline:+.2f} | {share} | "
            f"{r['lsd']:.2f} | {trained} |"
        )
    causal = next(r for r in rows if r["model"] == "TFiLM causal")["snr"]
    return "\n".join(lines), kept(causal)


# ---------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["tiny", "small"])
    parser.add_argument("--chunk-ms", nargs="+", type=float, default=[10.0, 20.0])
    parser.add_argument("--seconds", type=float, default=30.0, help="audio streamed per row")
    parser.add_argument("--model", type=Path, help="time this causal model file instead")
    parser.add_argument("--quality-size", choices=sorted(SIZES), default="tiny")
    parser.add_argument(
        "--train-voices", nargs="+", default=["en_US_f_Allison", "fr_CA_f_June", "it_IT_m_Carlo"]
    )
    parser.add_argument("--test-voice", default="ru_RU_f_IvrvoiceRU")
    parser.add_argument("--max-files", type=int, default=30, help="per training voice")
    parser.add_argument("--max-test-files", type=int, default=60)
    parser.add_argument("--minutes", type=float, default=3.0, help="training budget per model")
    parser.add_argument("--epochs", type=int, help="train this many epochs instead of --minutes")
    parser.add_argument("--patch-length", type=int, default=8192)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--lookaheads",
        nargs="*",
        type=int,
        default=[],
        help="also train causal models whose network looks this many 16 kHz samples ahead",
    )
    parser.add_argument("--no-quality", action="store_true", help="latency table only")
    parser.add_argument("--no-latency", action="store_true", help="quality table only")
    parser.add_argument("--save-dir", type=Path, help="write the trained causal model here")
    parser.add_argument("--out", type=Path, help="write every figure as CSV")
    parser.add_argument("--quick", action="store_true", help="small settings, about a minute")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.seconds, args.quality_size = ["tiny"], 2.0, "tiny"
        args.max_files, args.max_test_files, args.patch_length = 3, 4, 2048
        args.minutes, args.epochs = 0.1, None
    if args.test_voice in args.train_voices:
        parser.error("--test-voice must not be one of --train-voices.")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)  # training; the stream's products run on one BLAS thread itself
    return run(args)


def run(args: argparse.Namespace) -> int:
    print(
        f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs, load average "
        f"{os.getloadavg()[0]:.1f}; torch {torch.__version__}, 1 torch and 1 BLAS thread; "
        f"tsfilm {tsfilm.__version__}",
        flush=True,
    )
    records: list[dict] = []
    verdicts = []
    if not args.no_latency:
        rows = latency(args)
        print("\nlatency (8 kHz -> 16 kHz, one thread, per chunk)\n")
        print(latency_table(rows))
        records += [{"section": "latency", **r} for r in rows]
        for r in rows:
            if r["chunk_ms"] != 10.0:
                continue
            for clock, rtf, p99 in (
                ("wall", r["rtf"], r["p99_ms"]),
                ("CPU", r["cpu_rtf"], r["cpu_p99_ms"]),
            ):
                verdicts.append(
                    f"{r['size']} ({clock} clock): {rtf:.1f}x real time (target >= "
                    f"{TARGET_RTF:g}x: {'met' if rtf >= TARGET_RTF else 'missed'}), p99 "
                    f"{p99:.2f} ms (target < {TARGET_P99_MS:g} ms: "
                    f"{'met' if p99 < TARGET_P99_MS else 'missed'})"
                )
    if not args.no_quality:
        rows_q, error = quality(args)
        table, kept = quality_table(rows_q)
        print("\nquality (unseen speaker, 8 kHz -> 16 kHz)\n")
        print(table)
        print(f"\nstreamed vs predict, 10 ms chunks: largest difference {error:.2e} of the peak")
        verdicts.append(
            f"causal keeps {100 * kept:.0f} % of the offline gain over the spline (target >= "
            f"{100 * TARGET_KEPT:.0f} %: {'met' if kept >= TARGET_KEPT else 'missed'})"
        )
        records += [{"section": "quality", **r} for r in rows_q]
        records.append({"section": "quality", "model": "gain kept", "snr": kept})
        records.append({"section": "equivalence", "model": "stream vs predict", "snr": error})
    print("\ntargets: " + "; ".join(verdicts))
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        fields = list(dict.fromkeys(key for r in records for key in r))
        with args.out.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
