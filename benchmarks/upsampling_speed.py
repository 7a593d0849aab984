"""Up-sampling speed and peak memory for a long recording (10 minutes at 16 kHz by default).

Every measurement runs in a fresh Python process, which loads the model, builds the
low-rate input, warms up on one second of audio, up-samples the whole signal once with
``est.upsample`` and reports its own peak resident memory (``resource.getrusage``'s
``ru_maxrss``) next to its resident memory just before the call; so the figures include
torch itself, and the difference is what up-sampling the long signal adds. Speed is
seconds of audio produced per second of wall-clock time.

The TFiLM network runs on overlapping chunks of ``chunk_length`` samples
(``4 * patch_length`` by default), so memory should not grow with the length of the
recording; ``--chunk-lengths`` measures other chunk sizes.

Example::

    python benchmarks/upsampling_speed.py --model models/tfilm.tsfilm --threads 1 2

Without ``--model`` a TFiLMSuperResolver of ``--size`` is fitted for one epoch on noise
(speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000


def _rss_mb() -> float:
    """Current resident memory of this process in MB (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _model(args: argparse.Namespace):
    import tsfilm

    if args.model is not None:
        if args.model.name == "spline":
            from tsfilm.registry import make_model

            return make_model("spline", task="super_resolution").fit(
                np.zeros((1, 64), np.float32), np.zeros((1, 64 * args.ratio), np.float32)
            )
        return tsfilm.load(args.model)
    from tsfilm.cli import SIZES

    noise = np.random.default_rng(0).normal(size=(4, 8192)).astype(np.float32) * 0.1
    return tsfilm.TFiLMSuperResolver(
        ratio=args.ratio,
        patch_length=2048,
        max_epochs=1,
        random_state=0,
        sample_rate=SAMPLE_RATE,
        **SIZES[args.size],
    ).fit(noise)


def child(args: argparse.Namespace) -> dict:
    """One measurement, in this process."""
    import torch

    torch.set_num_threads(args.threads[0])
    est = _model(args)
    if args.chunk_lengths[0] is not None:
        est.set_params(chunk_length=args.chunk_lengths[0])
    ratio = est.ratio_
    n_low = round(args.minutes * 60 * SAMPLE_RATE / ratio)
    t = np.arange(n_low) / (SAMPLE_RATE / ratio)
    rng = np.random.default_rng(0)
    # Speech-like enough for timing: a wandering harmonic tone plus a little noise.
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / (SAMPLE_RATE / ratio)
    x = (0.3 * np.sin(phase) + 0.1 * np.sin(3 * phase) + 0.01 * rng.normal(size=n_low)).astype(
        np.float32
    )
    est.upsample(x[: SAMPLE_RATE // ratio])  # warm-up: one second
    before = _rss_mb()
    start = time.perf_counter()
    out = est.upsample(x)
    seconds = time.perf_counter() - start
    assert out.shape == (n_low * ratio,) and np.all(np.isfinite(out))
    return {
        "model": args.model.name if args.model is not None else f"tfilm ({args.size}, untrained)",
        "threads": args.threads[0],
        "chunk_length": getattr(est, "chunk_length", None),
        "audio_seconds": n_low * ratio / SAMPLE_RATE,
        "seconds": seconds,
        "audio_per_second": n_low * ratio / SAMPLE_RATE / seconds,
        "rss_before_mb": before,
        "peak_rss_mb": _peak_rss_mb(),
        "params": sum(p.numel() for p in est.module_.parameters())
        if hasattr(est, "module_")
        else 0,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="model file, or 'spline'")
    parser.add_argument("--size", default="tiny", help="without --model: tsfilm.cli.SIZES key")
    parser.add_argument("--ratio", type=int, default=4, help="without --model")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the recording")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--chunk-lengths",
        type=lambda v: None if v == "default" else int(v),
        nargs="+",
        default=[None],
        help="chunk lengths of predict ('default' = 4 * patch_length)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    rows = []
    for threads in args.threads:
        for chunk in args.chunk_lengths:
            command = [sys.executable, __file__, "--child", "--threads", str(threads)]
            command += ["--minutes", str(args.minutes), "--size", args.size]
            command += ["--ratio", str(args.ratio), "--chunk-lengths", str(chunk or "default")]
            if args.model is not None:
                command += ["--model", str(args.model)]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return done.returncode
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(
                f"{r['model']}, {threads} thread(s), chunk {r['chunk_length']}: "
                f"{r['audio_per_second']:.1f} s of audio per s, peak RSS {r['peak_rss_mb']:.0f} MB",
                flush=True,
            )
    print()
    print(
        "| model | threads | chunk | audio (s) | wall (s) | audio s / s | RSS before (MB) "
        "| peak RSS (MB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['model']} | {r['threads']} | {r['chunk_length'] or 'default'} | "
            f"{r['audio_seconds']:.0f} | {r['seconds']:.1f} | {r['audio_per_second']:.1f} | "
            f"{r['rss_before_mb']:.0f} | {r['peak_rss_mb']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
