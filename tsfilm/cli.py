"""The ``tsfilm`` command line.

Sub-commands
------------
``tsfilm train``     train a super-resolution model on a folder of audio (or the speech prompts)
``tsfilm upsample``  up-sample an audio file with a model file
``tsfilm models``    list the registered models per task
``tsfilm demo``      train and evaluate on real data, write a report with figures

Errors
------
A mistake is reported as one line on stderr, ``tsfilm <command>: error: <what is wrong
and how to fix it>``, without a traceback. The exit status tells what kind of problem it
was:

``0``
    Success.
``1``
    The work failed: a file's contents cannot be read (not audio, not a model file),
    training diverged, memory ran out, a file could not be written.
``2``
    The command line cannot work, found before any work starts: argparse's own errors,
    numbers out of range, a missing input, an output folder that does not exist or cannot
    be written, a model of the wrong kind, an input at the wrong rate without
    ``--resample``.
``130``
    Interrupted with Ctrl-C. An interrupted ``tsfilm train`` still saves the model
    trained so far.

``tsfilm train`` never loses a trained model: the output location is checked before
training, and when writing it still fails afterwards (disk full, permissions changed)
the model is saved in the current folder or the temporary folder instead, and the
message says where (exit status 1).

Only the expected kinds of failure get the one-line treatment: ``ValueError`` and
``TypeError`` (bad values, including scikit-learn's ``InvalidParameterError``),
``OSError`` (files), libsndfile's errors (unreadable audio),
:class:`tsfilm.TrainingDivergedError`, ``MemoryError`` and torch's out-of-memory error,
and ``ImportError`` (a missing optional dependency). Any other exception is a bug in
tsfilm: its traceback is printed, followed by a line asking to report it, with exit
status 1. The global flag ``--debug`` (before or after the sub-command) lets every
exception through with its full traceback.

Examples
--------
>>> from tsfilm.cli import main
>>> main(["models", "--task", "super_resolution"])  # doctest: +ELLIPSIS
task ...tfilm ...TFiLMSuperResolver ...
0
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from tsfilm.registry import TASKS

__all__ = ["CommandError", "UsageError", "main"]

#: Network sizes offered on the command line (hyper-parameters of TFiLMSuperResolver).
SIZES: dict[str, dict] = {
    "tiny": {"depth": 3, "width": 0.125, "max_filters": 64, "block_length": 64},
    "small": {"depth": 4, "width": 0.25, "max_filters": 128, "block_length": 128},
    "paper": {"depth": 4, "width": 1.0, "max_filters": 512, "block_length": 128},
}

#: ``tsfilm train``'s options, by the name of the estimator parameter they set.
_TRAIN_FLAGS = {
    "ratio": "--ratio",
    "max_epochs": "--epochs",
    "max_time": "--max-time",
    "batch_size": "--batch-size",
    "learning_rate": "--learning-rate",
    "patch_length": "--patch-length",
    "sample_rate": "--rate",
    "random_state": "--seed",
}

_EXIT_INTERRUPTED = 130
_LARGEST_SEED = 2**32 - 1


class CommandError(Exception):
    """A problem the user can fix, reported by :func:`main` as one line without traceback.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    status : int, default=1
        The exit status: 1 when the work failed, 2 when the command line cannot work.

    Examples
    --------
    >>> err = CommandError("no audio long enough was found")
    >>> err.status, str(err)
    (1, 'no audio long enough was found')
    """

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class UsageError(CommandError):
    """The command line cannot work (exit status 2, as argparse's errors).

    Examples
    --------
    >>> UsageError("--ratio must be at least 2").status
    2
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, status=2)


# ---------------------------------------------------------------------- argument types
def _int_at_least(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an integer in ``[minimum, maximum]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            accepted = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
            raise argparse.ArgumentTypeError(f"must be an integer {accepted}, got {text!r}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its "invalid ... value" message
    return parse


def _positive_float(text: str) -> float:
    """An argparse ``type``: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


# ---------------------------------------------------------------------- path checks
def _probe_folder(folder: Path, what: str) -> None:
    """Raise :class:`UsageError` unless a file can be created in ``folder``.

    Creating (and removing) a file is the only reliable test: permission bits do not
    tell about read-only mounts, ACLs or the super-user.
    """
    try:
        fd, probe = tempfile.mkstemp(prefix=".tsfilm-write-test-", dir=folder)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"cannot write {what} in folder {folder} ({reason}); choose another location."
        ) from exc
    os.close(fd)
    os.unlink(probe)


def _check_output_file(path: Path, flag: str, example: str) -> None:
    """Refuse, before any work, an output path that could not be written."""
    if path.is_dir():
        raise UsageError(f"{flag} {path} is a folder; give a file name, such as {path / example}.")
    parent = path.parent
    if not parent.exists():
        raise UsageError(
            f"{flag} {path}: folder {parent} does not exist; create it first "
            f"(mkdir -p {parent}) or choose another location."
        )
    if not parent.is_dir():
        raise UsageError(f"{flag} {path}: {parent} is a file, not a folder.")
    _probe_folder(parent, f"{flag} {path.name}")


def _check_input_file(path: Path, what: str) -> None:
    if path.is_dir():
        raise UsageError(f"{what} {path} is a folder; give a file.")
    if not path.exists():
        raise UsageError(f"{what} {path} does not exist.")
    if not path.is_file():
        raise UsageError(f"{what} {path} is not a regular file.")


def _is_model_file(path: Path) -> bool:
    """Whether ``path`` looks like a tsfilm model file (read from its header only)."""
    from safetensors import SafetensorError, safe_open

    from tsfilm.io.model_file import _METADATA_KEY

    try:
        with safe_open(str(path), framework="pt") as handle:
            return _METADATA_KEY in (handle.metadata() or {})
    except (SafetensorError, OSError, ValueError):
        return False


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


# ---------------------------------------------------------------------- train
def _parameter_message(exc: Exception, flags: dict[str, str]) -> str:
    """scikit-learn's message about an invalid parameter, in terms of the command's flags."""
    text = str(exc)
    match = re.fullmatch(
        r"The '(\w+)' parameter of \w+ must be (.*)\. Got (.*) instead\.", text, flags=re.S
    )
    if match and match.group(1) in flags:
        return f"{flags[match.group(1)]} must be {match.group(2)}; got {match.group(3)}."
    return text


def _fallback_save(est, output: Path) -> tuple[Path | None, list[str]]:
    """Save ``est`` in the current or the temporary folder; return the path and failures."""
    from safetensors import SafetensorError

    failures = []
    tried: set[Path] = set()
    for where in (Path.cwd, lambda: Path(tempfile.gettempdir())):
        folder = None
        try:
            folder = where()  # the current folder may itself have been removed
            resolved = folder.resolve()
            if resolved in tried or resolved == output.parent.resolve():
                continue
            tried.add(resolved)
            # A fresh name that no other file has: nothing is ever overwritten.
            fd, name = tempfile.mkstemp(
                prefix=f"{output.stem or 'model'}-", suffix=output.suffix or ".tsfilm", dir=folder
            )
            os.close(fd)
        except OSError as exc:
            failures.append(f"{folder or 'current folder'}: {exc.strerror or exc}")
            continue
        try:
            est.save(name)
        except (OSError, SafetensorError) as exc:
            Path(name).unlink(missing_ok=True)
            failures.append(f"{name}: {getattr(exc, 'strerror', None) or exc}")
            continue
        return Path(name), failures
    return None, failures


def _train(args: argparse.Namespace) -> int:
    from safetensors import SafetensorError

    from tsfilm import TFiLMSuperResolver
    from tsfilm.datasets import load_speech
    from tsfilm.preprocessing import min_length_for_lowpass
    from tsfilm.validation import InvalidParameterError

    # Everything that can be checked is checked before the data are read.
    if args.source is None and args.voices is None:
        raise UsageError(
            "give a folder of wav/flac files (tsfilm train FOLDER) or --voices "
            "for the Debian speech prompts."
        )
    if args.source is not None:
        if not args.source.exists():
            raise UsageError(f"SOURCE folder {args.source} does not exist.")
        if not args.source.is_dir():
            raise UsageError(
                f"SOURCE {args.source} is not a folder; give the folder of wav/flac files."
            )
    elif args.voices:
        from tsfilm.datasets.speech import SPEECH_VOICES

        unknown = [v for v in args.voices if v not in SPEECH_VOICES]
        if unknown:
            raise UsageError(
                f"--voices: unknown voice(s) {', '.join(unknown)}; choose among "
                f"{', '.join(SPEECH_VOICES)}."
            )
    output: Path = args.output
    _check_output_file(output, "-o/--output", "model.tsfilm")
    if output.is_file() and not _is_model_file(output):
        raise UsageError(
            f"-o/--output {output} exists and is not a tsfilm model file; refusing to "
            "overwrite it. Give another name, or remove the file first."
        )
    est = TFiLMSuperResolver(
        ratio=args.ratio,
        lowpass=not args.no_lowpass,
        patch_length=args.patch_length,
        max_epochs=args.epochs,
        max_time=args.max_time,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        sample_rate=args.rate,
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
        **SIZES[args.size],
    )
    try:
        est._validate_params()
    except InvalidParameterError as exc:
        raise UsageError(_parameter_message(exc, _TRAIN_FLAGS)) from exc

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
        raise CommandError(
            f"none of the {len(data.signals)} recording(s) is at least {shortest} samples "
            f"({shortest / data.rate:.3f} s at {data.rate} Hz) long; give longer recordings "
            "or a smaller --ratio."
        )
    seconds = sum(s.shape[-1] for s in signals) / data.rate
    print(
        f"training on {len(signals)} recordings, {seconds / 60:.1f} min of audio at {data.rate} Hz"
    )
    start = time.perf_counter()
    interrupted = _fit_noting_interruption(est, signals)
    elapsed = time.perf_counter() - start
    # From here on the trained model must not be lost, whatever happens to the output.
    try:
        est.save(output)
    except (OSError, SafetensorError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        fallback, failures = _fallback_save(est, output)
        if fallback is None:
            raise CommandError(
                f"could not write the model to {output} ({reason}), nor to a fallback "
                f"location ({'; '.join(failures) or 'none left to try'}); free some space "
                "or fix the permissions and train again."
            ) from exc
        raise CommandError(
            f"could not write the model to {output} ({reason}); it was saved to {fallback} "
            "instead: move it where you want it."
        ) from exc
    if interrupted:
        raise CommandError(
            f"training interrupted after {est.n_epochs_} epoch(s); the model trained so far "
            f"was written to {output}.",
            status=_EXIT_INTERRUPTED,
        )
    print(f"trained {est.n_epochs_} epoch(s) in {elapsed:.0f} s; model written to {output}")
    return 0


def _fit_noting_interruption(est, signals) -> bool:
    """Fit ``est``; return whether Ctrl-C stopped the training early.

    The engine ends training at a ``KeyboardInterrupt`` and keeps the model trained so
    far, with a :class:`~tsfilm.TrainingInterruptedWarning`; that warning is how the
    interruption is told apart from a normal end. Every other warning is shown as usual.
    """
    from tsfilm import TrainingInterruptedWarning

    with warnings.catch_warnings(record=True) as caught:
        est.fit(signals)
    interrupted = False
    for w in caught:
        if issubclass(w.category, TrainingInterruptedWarning):
            interrupted = True
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return interrupted


# ---------------------------------------------------------------------- upsample
def _audio_formats() -> set[str]:
    from tsfilm.io.audio import _soundfile

    return {f.lower() for f in _soundfile().available_formats()}


def _upsample(args: argparse.Namespace) -> int:
    import tsfilm
    from tsfilm.estimators import SuperResolverMixin
    from tsfilm.io.audio import read_audio, write_audio

    _check_input_file(args.model, "MODEL")
    _check_input_file(args.input, "INPUT")
    _check_output_file(args.output, "OUTPUT", "out.wav")
    for other, name in ((args.model, "MODEL"), (args.input, "INPUT")):
        if _same_file(args.output, other):
            raise UsageError(
                f"OUTPUT {args.output} is the {name} file; writing it would destroy it. "
                "Give another output name."
            )
    formats = _audio_formats()
    if args.output.suffix.lstrip(".").lower() not in formats:
        raise UsageError(
            f"OUTPUT {args.output}: cannot tell the audio format from its extension; "
            f"end the name with .wav or .flac (or one of "
            f"{', '.join('.' + f for f in sorted(formats - {'wav', 'flac'}))})."
        )

    est = tsfilm.load(args.model)
    if not isinstance(est, SuperResolverMixin):
        from tsfilm.registry import list_models

        kinds = [m.task for m in list_models() if m.cls is type(est)]
        kind = f"for {kinds[0].replace('_', ' ')}" if kinds else "not a super-resolver"
        raise UsageError(
            f"MODEL {args.model} holds a {type(est).__name__} ({kind}); upsample needs a "
            "super-resolution model, such as one written by tsfilm train."
        )
    # Models whose class has no sample_rate parameter do not know the rate of their data.
    high_rate = getattr(est, "sample_rate", None)
    audio, rate = _read_input(read_audio, args.input)
    if audio.shape[-1] == 0:
        raise CommandError(f"INPUT {args.input} holds no samples; give a non-empty recording.")
    if high_rate is not None:
        low_rate = high_rate // est.ratio_
        if rate != low_rate:
            if not args.resample:
                raise UsageError(
                    f"{args.input} is at {rate} Hz but the model expects "
                    f"{low_rate} Hz input ({high_rate} Hz / {est.ratio_}); pass --resample "
                    "to resample it first."
                )
            audio, rate = _read_input(read_audio, args.input, rate=low_rate)
        out_rate = high_rate
    else:
        out_rate = rate * est.ratio_
    start = time.perf_counter()
    # Every channel of the file is one series for a mono model.
    if est.n_channels_ == 1:
        out = np.asarray(est.predict(audio[:, None, :]))[:, 0, :]
    else:
        if audio.shape[0] != est.n_channels_:
            raise CommandError(
                f"INPUT {args.input} has {audio.shape[0]} channel(s) but the model was "
                f"trained on {est.n_channels_}; give a file with {est.n_channels_} channels."
            )
        out = est.upsample(audio)
    elapsed = time.perf_counter() - start
    write_audio(args.output, out, out_rate)
    print(
        f"{args.output}: {out.shape[0]} channel(s), {out.shape[-1] / out_rate:.2f} s at "
        f"{out_rate} Hz ({audio.shape[-1] / rate / max(elapsed, 1e-9):.1f} s of audio per s)"
    )
    return 0


def _read_input(read_audio: Callable, path: Path, **kwargs) -> tuple[np.ndarray, int]:
    """``read_audio``, with libsndfile's failures turned into a message naming the file."""
    try:
        return read_audio(path, **kwargs)
    except Exception as exc:
        if not _is_soundfile_error(exc):
            raise
        reason = (getattr(exc, "error_string", None) or str(exc)).rstrip(".")
        raise CommandError(
            f"INPUT {path} is not an audio file that libsndfile can read ({reason}); "
            "give a wav, flac or ogg file."
        ) from exc


# ---------------------------------------------------------------------- models, demo
def _models(args: argparse.Namespace) -> int:
    from tsfilm import registry

    print(registry.format_models(args.task))
    return 0


def _demo(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder for the report.")
    existing = out
    while not existing.exists():  # the demo creates the missing folders
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"--out {out}: {existing} is a file, not a folder.")
    _probe_folder(existing, "the report")

    from tsfilm.demo import run_demo

    run_demo(out, quick=args.quick, seed=args.seed)
    return 0


# ---------------------------------------------------------------------- parser
def _parser() -> argparse.ArgumentParser:
    # --debug is accepted before and after the sub-command; SUPPRESS keeps a sub-command
    # from resetting a --debug given before it.
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback of any error",
    )
    parser = argparse.ArgumentParser(
        prog="tsfilm",
        description="Temporal FiLM networks for time series.",
        epilog="Exit status: 0 done; 1 the work failed (unreadable file, training diverged, "
        "write failed); 2 the command line cannot work (found before any work); 130 "
        "interrupted (tsfilm train still saves the model trained so far). Errors are one "
        "line; --debug shows the traceback.",
    )
    # Its own action: the sub-commands share the parent's, whose default must stay SUPPRESS.
    parser.add_argument("--debug", action="store_true", help="show the full traceback of any error")
    sub = parser.add_subparsers(dest="command", required=True)

    positive = _int_at_least(1)
    train = sub.add_parser("train", help="train a super-resolution model on audio", parents=[debug])
    train.add_argument("source", nargs="?", type=Path, help="folder of wav/flac files")
    train.add_argument(
        "--voices",
        nargs="*",
        metavar="VOICE",
        help="use these Debian speech-prompt voices instead (all installed ones if none named)",
    )
    train.add_argument(
        "-o", "--output", type=Path, default=Path("model.tsfilm"), help="model file to write"
    )
    train.add_argument(
        "--ratio", type=_int_at_least(2), default=4, help="up-sampling ratio (default 4)"
    )
    train.add_argument(
        "--no-lowpass", action="store_true", help="subsample without low-pass filter"
    )
    train.add_argument("--size", choices=sorted(SIZES), default="small")
    train.add_argument("--epochs", type=positive, default=20)
    train.add_argument(
        "--max-time",
        type=_positive_float,
        default=None,
        help="training budget in seconds (default: none)",
    )
    train.add_argument("--batch-size", type=positive, default=16)
    train.add_argument("--learning-rate", type=_positive_float, default=3e-4)
    train.add_argument("--patch-length", type=_int_at_least(2), default=8192)
    train.add_argument("--rate", type=positive, default=16000, help="target sample rate (Hz)")
    train.add_argument("--max-files", type=positive, default=None, help="per voice or folder")
    train.add_argument("--seed", type=_int_at_least(0, _LARGEST_SEED), default=0)
    train.add_argument("-q", "--quiet", action="store_true")
    train.set_defaults(func=_train)

    up = sub.add_parser(
        "upsample", help="up-sample an audio file with a model file", parents=[debug]
    )
    up.add_argument("model", type=Path, help="a super-resolution model file")
    up.add_argument("input", type=Path, help="low-rate audio file")
    up.add_argument("output", type=Path, help="audio file to write (.wav, .flac, ...)")
    up.add_argument("--resample", action="store_true", help="resample input to the model's rate")
    up.set_defaults(func=_upsample)

    demo = sub.add_parser(
        "demo", help="train and evaluate on real data; write a report", parents=[debug]
    )
    demo.add_argument("--out", type=Path, default=Path("tsfilm-demo"), help="report folder")
    demo.add_argument("--quick", action="store_true", help="about 2 minutes instead of about 10")
    demo.add_argument("--seed", type=_int_at_least(0, _LARGEST_SEED), default=0)
    demo.set_defaults(func=_demo)

    models = sub.add_parser("models", help="list registered models", parents=[debug])
    models.add_argument("--task", default=None, choices=TASKS)
    models.set_defaults(func=_models)
    return parser


# ---------------------------------------------------------------------- errors
def _is_soundfile_error(exc: BaseException) -> bool:
    soundfile = sys.modules.get("soundfile")  # not imported: not its error
    return soundfile is not None and isinstance(exc, soundfile.SoundFileError)


def _is_out_of_memory(exc: BaseException) -> bool:
    torch = sys.modules.get("torch")
    return isinstance(exc, MemoryError) or (
        torch is not None and isinstance(exc, torch.OutOfMemoryError)
    )


def _diagnose(exc: BaseException, command: str) -> tuple[str, int] | None:
    """The message and exit status of an expected failure; None for a bug."""
    from tsfilm.estimators import TrainingDivergedError

    if isinstance(exc, CommandError):
        return str(exc), exc.status
    if _is_out_of_memory(exc):
        advice = (
            "try a smaller --batch-size, --patch-length or --size"
            if command == "train"
            else "try a shorter recording or a smaller model"
        )
        return f"out of memory ({exc or type(exc).__name__}); {advice}.", 1
    if isinstance(exc, TrainingDivergedError):
        return _parameter_message(exc, _TRAIN_FLAGS).replace("learning_rate", "--learning-rate"), 1
    if _is_soundfile_error(exc):
        return f"cannot read audio: {str(exc).rstrip('.')}; remove or replace that file.", 1
    if isinstance(exc, OSError):
        if exc.strerror and exc.filename is not None:
            return f"{exc.filename}: {exc.strerror}.", 1
        return str(exc) or type(exc).__name__, 1
    if isinstance(exc, (ValueError, TypeError)):
        flags = _TRAIN_FLAGS if command == "train" else {}
        return _parameter_message(exc, flags), 1
    if isinstance(exc, ImportError):
        return str(exc), 1
    return None


def _say(command: str, message: str) -> None:
    line = " ".join(message.split())  # one line, whatever the exception's message holds
    print(f"tsfilm {command}: error: {line}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tsfilm`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        0, the exit status of a successful command.

    Raises
    ------
    SystemExit
        On any error, after the message is printed on stderr: with status 2 for a command
        line that cannot work (argparse's errors included), 1 when the work failed, 130
        when interrupted. With ``--debug`` the original exception propagates instead.

    Examples
    --------
    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     try:
    ...         main(["train", "--epochs", "0"])
    ...     except SystemExit as exc:
    ...         print(exc.code)
    2
    >>> err.getvalue().splitlines()[-1]
    "tsfilm train: error: argument --epochs: must be an integer >= 1, got '0'"
    """
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if args.debug:
            raise
        _say(args.command, "interrupted.")
        raise SystemExit(_EXIT_INTERRUPTED) from None
    except Exception as exc:
        if args.debug:
            raise
        diagnosis = _diagnose(exc, args.command)
        if diagnosis is None:
            # Not a mistake of the user's: a bug in tsfilm. Its traceback is what a report needs.
            traceback.print_exc()
            _say(
                args.command,
                f"unexpected {type(exc).__name__}; this is a bug in tsfilm: please report it "
                "with the traceback above (run again with --debug to let the exception through).",
            )
            raise SystemExit(1) from None
        message, status = diagnosis
        _say(args.command, message)
        raise SystemExit(status) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
