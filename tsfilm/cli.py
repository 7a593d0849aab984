"""The ``tsfilm`` command line.

Sub-commands
------------
``tsfilm train``     train a super-resolution model on a folder of audio (or the speech prompts)
``tsfilm upsample``  up-sample a wav file with a model file
``tsfilm models``    list the registered models per task
``tsfilm demo``      train and evaluate on real data, write a report with figures
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tsfilm.registry import TASKS

__all__ = ["main"]

#: Network sizes offered on the command line (hyper-parameters of TFiLMSuperResolver).
SIZES: dict[str, dict] = {
    "tiny": {"depth": 3, "width": 0.125, "max_filters": 64, "block_length": 64},
    "small": {"depth": 4, "width": 0.25, "max_filters": 128, "block_length": 128},
    "paper": {"depth": 4, "width": 1.0, "max_filters": 512, "block_length": 128},
}


def _train(args: argparse.Namespace) -> int:
    from tsfilm import TFiLMSuperResolver
    from tsfilm.datasets import load_speech
    from tsfilm.preprocessing import min_length_for_lowpass

    if args.source is None and not args.voices:
        raise SystemExit("tsfilm train: give a folder of wav/flac files or --voices.")
    data = load_speech(
        voices=args.voices or None,
        root=args.source,
        rate=args.rate,
        max_files=args.max_files,
    )
    # Low-pass decimation needs a minimum length (the zero-phase filter pads both ends).
    shortest = max(2 * args.ratio, min_length_for_lowpass(args.ratio) if not args.no_lowpass else 0)
    signals = [s for s in data.signals if s.shape[-1] >= shortest]
    if not signals:
        raise SystemExit("tsfilm train: no audio long enough was found.")
    seconds = sum(s.shape[-1] for s in signals) / data.rate
    print(
        f"training on {len(signals)} recordings, {seconds / 60:.1f} min of audio at {data.rate} Hz"
    )
    est = TFiLMSuperResolver(
        ratio=args.ratio,
        lowpass=not args.no_lowpass,
        patch_length=args.patch_length,
        max_epochs=args.epochs,
        max_time=args.max_time,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        sample_rate=data.rate,
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
        **SIZES[args.size],
    )
    start = time.perf_counter()
    est.fit(signals)
    est.save(args.output)
    print(
        f"trained {est.n_epochs_} epoch(s) in {time.perf_counter() - start:.0f} s; "
        f"model written to {args.output}"
    )
    return 0


def _upsample(args: argparse.Namespace) -> int:
    import tsfilm
    from tsfilm.io.audio import read_audio, write_audio

    est = tsfilm.load(args.model)
    # Models whose class has no sample_rate parameter do not know the rate of their data.
    high_rate = getattr(est, "sample_rate", None)
    audio, rate = read_audio(args.input)
    if high_rate is not None:
        low_rate = high_rate // est.ratio_
        if rate != low_rate:
            if not args.resample:
                raise SystemExit(
                    f"tsfilm upsample: {args.input} is at {rate} Hz but the model expects "
                    f"{low_rate} Hz input ({high_rate} Hz / {est.ratio_}); pass --resample "
                    "to resample it first."
                )
            audio, rate = read_audio(args.input, rate=low_rate)
        out_rate = high_rate
    else:
        out_rate = rate * est.ratio_
    start = time.perf_counter()
    # Every channel of the file is one series for a mono model.
    if est.n_channels_ == 1:
        out = np.asarray(est.predict(audio[:, None, :]))[:, 0, :]
    else:
        out = est.upsample(audio)
    elapsed = time.perf_counter() - start
    write_audio(args.output, out, out_rate)
    print(
        f"{args.output}: {out.shape[0]} channel(s), {out.shape[-1] / out_rate:.2f} s at "
        f"{out_rate} Hz ({audio.shape[-1] / rate / max(elapsed, 1e-9):.1f} s of audio per s)"
    )
    return 0


def _models(args: argparse.Namespace) -> int:
    from tsfilm import registry

    print(registry.format_models(args.task))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from tsfilm.demo import run_demo

    run_demo(args.out, quick=args.quick, seed=args.seed)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tsfilm", description="Temporal FiLM networks for time series."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a super-resolution model on audio")
    train.add_argument("source", nargs="?", type=Path, help="folder of wav/flac files")
    train.add_argument("--voices", nargs="*", help="use these Debian speech-prompt voices instead")
    train.add_argument("-o", "--output", type=Path, default=Path("model.tsfilm"))
    train.add_argument("--ratio", type=int, default=4, help="up-sampling ratio (default 4)")
    train.add_argument(
        "--no-lowpass", action="store_true", help="subsample without low-pass filter"
    )
    train.add_argument("--size", choices=sorted(SIZES), default="small")
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument(
        "--max-time", type=float, default=None, help="training budget in seconds (default: none)"
    )
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--learning-rate", type=float, default=3e-4)
    train.add_argument("--patch-length", type=int, default=8192)
    train.add_argument("--rate", type=int, default=16000, help="target sample rate (Hz)")
    train.add_argument("--max-files", type=int, default=None, help="per voice or folder")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("-q", "--quiet", action="store_true")
    train.set_defaults(func=_train)

    up = sub.add_parser("upsample", help="up-sample a wav file with a model file")
    up.add_argument("model", type=Path)
    up.add_argument("input", type=Path)
    up.add_argument("output", type=Path)
    up.add_argument("--resample", action="store_true", help="resample input to the model's rate")
    up.set_defaults(func=_upsample)

    demo = sub.add_parser("demo", help="train and evaluate on real data; write a report")
    demo.add_argument("--out", type=Path, default=Path("tsfilm-demo"), help="report folder")
    demo.add_argument("--quick", action="store_true", help="about 2 minutes instead of about 10")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)

    models = sub.add_parser("models", help="list registered models")
    models.add_argument("--task", default=None, choices=TASKS)
    models.set_defaults(func=_models)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tsfilm`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        The exit status.
    """
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError) as exc:
        # Bad files and data are the user's to fix: say what is wrong, without a traceback.
        raise SystemExit(f"tsfilm {args.command}: {exc}") from exc


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
