"""The ``tsfilm`` command line: ``train``, ``upsample``, ``impute``, ``classify``,
``evaluate``, ``models`` and ``demo``.

The super-resolution commands and the command-line machinery live here; the commands of the
other tasks are in :mod:`tsfilm._cli_tasks`. Errors are reported as one line on stderr;
``tsfilm --help`` lists the exit statuses.
"""

from __future__ import annotations

import argparse
import functools
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

from tsfilm import registry

__all__ = ["CommandError", "main"]

#: Network sizes offered on the command line (hyper-parameters of TFiLMSuperResolver).
SIZES: dict[str, dict] = {
    "tiny": {"depth": 3, "width": 0.125, "max_filters": 64, "block_length": 64},
    "small": {"depth": 4, "width": 0.25, "max_filters": 128, "block_length": 128},
    "paper": {"depth": 4, "width": 1.0, "max_filters": 512, "block_length": 128},
}

_EPILOG = """\
exit status:
  0    done
  1    the work failed: unreadable file, training diverged, out of memory, write failed
       (a command that trains then saves the model in the current or temporary folder)
  2    the command line cannot work, found before any work starts
  130  interrupted (a command that trains still saves the model trained so far)

Errors are one line on stderr, but a bug in tsfilm also prints its traceback.
--debug, before or after the command, lets every error through with its traceback."""


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
    >>> err = CommandError("--ratio must be at least 2", status=2)
    >>> err.status, str(err)
    (2, '--ratio must be at least 2')
    """

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _number(low: float, high: float = math.inf, integer: bool = True) -> Callable[[str], float]:
    """An argparse ``type``: an integer in ``[low, high]``, or a finite number above ``low``."""
    bounds = f">= {low}" if high == math.inf else f"in [{low}, {high}]"
    kind = "an integer" if integer else "a number"
    accepted = f"an integer {bounds}" if integer else f"a finite number > {low}"

    def parse(text: str) -> float:
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        if not (low <= value <= high if integer else math.isfinite(value) and value > low):
            raise argparse.ArgumentTypeError(f"must be {accepted}, got {text!r}")
        return value

    return parse


_SEED, _POSITIVE = _number(0, 2**32 - 1), _number(0, integer=False)
#: ``tsfilm train``'s options that set estimator parameters: flag, parameter, type, default, help.
_TRAIN_OPTIONS = [
    ("--ratio", "ratio", _number(2), 4, "up-sampling ratio (default 4)"),
    ("--epochs", "max_epochs", _number(1), 20, "(default 20)"),
    ("--max-time", "max_time", _POSITIVE, None, "training budget in seconds"),
    ("--batch-size", "batch_size", _number(1), 16, "(default 16)"),
    ("--learning-rate", "learning_rate", _POSITIVE, 3e-4, "(default 3e-4)"),
    ("--patch-length", "patch_length", _number(2), 8192, "(default 8192)"),
    ("--rate", "sample_rate", _number(1), 16000, "target sample rate in Hz (default 16000)"),
    ("--seed", "random_state", _SEED, 0, "(default 0)"),
]
_TRAIN_FLAGS = {parameter: flag for flag, parameter, *_ in _TRAIN_OPTIONS}


def _parameter_message(exc: Exception, flags: dict[str, str]) -> str:
    """scikit-learn's message about an invalid parameter, in terms of the command's flags."""
    pattern = r"The '(\w+)' parameter of \w+ must be (.*)\. Got (.*) instead\."
    match = re.fullmatch(pattern, str(exc), flags=re.S)
    if match and match[1] in flags:
        return f"{flags[match[1]]} must be {match[2]}; got {match[3]}."
    return str(exc)


def _check_input(path: Path, what: str, kind: str = "file") -> None:
    """Refuse an input path that is not an existing file (or folder)."""
    if not path.exists():
        raise CommandError(f"{what} {kind} {path} does not exist.", 2)
    if not (path.is_dir() if kind == "folder" else path.is_file()):
        problem = "is a folder" if path.is_dir() else f"is not a {kind}"
        raise CommandError(f"{what} {path} {problem}; give a {kind}.", 2)


def _check_output(path: Path, flag: str, example: str = "") -> None:
    """Refuse an output file like ``example`` (a folder if none) that cannot be written."""
    if example and path.is_dir():
        raise CommandError(f"{flag} {path} is a folder; give a file name such as {example}.", 2)
    if not example and path.exists() and not path.is_dir():
        raise CommandError(f"{flag} {path} is a file; give a folder.", 2)
    folder = path.parent if example else path
    if example and not folder.exists():
        raise CommandError(f"{flag} {path}: folder {folder} does not exist; mkdir -p {folder}.", 2)
    while not folder.exists():  # the demo creates its folder
        folder = folder.parent
    if not folder.is_dir():
        raise CommandError(f"{flag} {path}: {folder} is a file, not a folder.", 2)
    # Only creating a file tells: permission bits miss read-only mounts, ACLs and root.
    try:
        fd, probe = tempfile.mkstemp(prefix=".tsfilm-write-test-", dir=folder)
    except OSError as exc:
        reason = f"({exc.strerror or exc}); choose another location"
        raise CommandError(f"cannot write {flag} {path} {reason}.", 2) from exc
    os.close(fd)
    os.unlink(probe)


def _check_model_output(path: Path, flag: str) -> None:
    """Refuse a model file to write that cannot be written or is another kind of file."""
    from safetensors import safe_open

    from tsfilm.io.model_file import _METADATA_KEY

    _check_output(path, flag, "model.tsfilm")
    try:  # only a model file is overwritten
        with safe_open(str(path), framework="pt") as handle:
            overwritable = _METADATA_KEY in (handle.metadata() or {})
    except Exception:
        overwritable = not path.exists()
    if not overwritable:
        message = "exists and is not a tsfilm model file; remove it or give another name"
        raise CommandError(f"{flag} {path} {message}.", 2)


def _train(args: argparse.Namespace) -> None:
    from tsfilm import TFiLMSuperResolver, TrainingInterruptedWarning
    from tsfilm.datasets import SPEECH_VOICES, load_speech
    from tsfilm.preprocessing import min_length_for_lowpass
    from tsfilm.validation import InvalidParameterError

    source, output = args.source, args.output
    if source is None and args.voices is None:
        raise CommandError("give a folder of wav/flac files (tsfilm train FOLDER) or --voices.", 2)
    if source is not None:
        _check_input(source, "SOURCE", "folder")
    unknown = [] if source else [v for v in args.voices or () if v not in SPEECH_VOICES]
    if unknown:
        known = ", ".join(SPEECH_VOICES)
        raise CommandError(f"--voices: unknown voice(s) {', '.join(unknown)}; known: {known}.", 2)
    _check_model_output(output, "-o/--output")
    est = TFiLMSuperResolver(
        **{parameter: getattr(args, parameter) for parameter in _TRAIN_FLAGS},
        lowpass=not args.no_lowpass,
        verbose=0 if args.quiet else 1,
        **SIZES[args.size],
    )
    try:
        est._validate_params()
    except InvalidParameterError as exc:
        raise CommandError(_parameter_message(exc, _TRAIN_FLAGS), 2) from exc
    rate = est.sample_rate
    data = load_speech(args.voices or None, root=source, rate=rate, max_files=args.max_files)
    # The zero-phase low-pass filter pads both ends of a recording.
    shortest = max(2 * est.ratio, 0 if args.no_lowpass else min_length_for_lowpass(est.ratio))
    signals = [s for s in data.signals if s.shape[-1] >= shortest]
    if not signals:
        raise CommandError(
            f"none of the {len(data.signals)} recording(s) is at least {shortest} samples "
            f"({shortest / rate:.3f} s) long; give longer recordings or a smaller --ratio."
        )
    minutes = sum(s.shape[-1] for s in signals) / rate / 60
    print(f"training on {len(signals)} recordings, {minutes:.1f} min of audio at {rate} Hz")
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TrainingInterruptedWarning)
        est.fit(signals)  # at Ctrl-C it keeps the model trained so far, with that warning
    elapsed = time.perf_counter() - start
    others = [w for w in caught if not issubclass(w.category, TrainingInterruptedWarning)]
    for w in others:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    _save(est, output)
    if len(others) < len(caught):
        message = f"training interrupted after {est.n_epochs_} epoch(s); model written to {output}."
        raise CommandError(message, 130)
    print(f"trained {est.n_epochs_} epoch(s) in {elapsed:.0f} s; model written to {output}")


def _save(est, output: Path) -> None:
    """Save ``est`` to ``output``, else under a new name in the current or temporary folder."""
    from safetensors import SafetensorError

    try:
        return est.save(output)
    except (OSError, SafetensorError) as exc:
        failures = [f"{output} ({getattr(exc, 'strerror', None) or exc})"]
    stem, suffix = output.stem or "model", output.suffix or ".tsfilm"
    for where in (Path.cwd, tempfile.gettempdir):
        folder = name = None
        try:
            folder = where()  # the current folder may have been removed
            fd, name = tempfile.mkstemp(prefix=f"{stem}-", suffix=suffix, dir=folder)
            os.close(fd)
            est.save(name)
        except (OSError, SafetensorError) as exc:
            if name is not None:
                Path(name).unlink(missing_ok=True)
            reason = getattr(exc, "strerror", None) or exc
            failures.append(f"{name or folder or 'current folder'} ({reason})")
            continue
        raise CommandError(
            f"could not write the model to {failures[0]}; saved to {name} instead: move it."
        )
    raise CommandError(
        f"could not write the model to {failures[0]}, nor to a fallback location "
        f"({'; '.join(failures[1:])}); free some space or fix the permissions."
    )


def _upsample(args: argparse.Namespace) -> None:
    import tsfilm
    from tsfilm.estimators import SuperResolverMixin
    from tsfilm.io.audio import _soundfile, read_audio, write_audio

    model, source, output = args.model, args.input, args.output
    _check_input(model, "MODEL")
    _check_input(source, "INPUT")
    _check_output(output, "OUTPUT", "out.wav")
    for other, name in ((model, "MODEL"), (source, "INPUT")):
        if output.exists() and os.path.samefile(output, other):
            raise CommandError(f"OUTPUT {output} is the {name} file; give another output name.", 2)
    soundfile = _soundfile()
    if output.suffix[1:].lower() not in map(str.lower, soundfile.available_formats()):
        raise CommandError(f"OUTPUT {output}: unknown audio extension; use .wav or .flac.", 2)
    est = tsfilm.load(model)
    if not isinstance(est, SuperResolverMixin):
        tasks = [m.task for m in registry.list_models() if m.cls is type(est)]
        raise CommandError(
            f"MODEL {model} holds a {type(est).__name__} ({' or '.join(tasks) or 'no task'}); "
            "upsample needs a super-resolution model, such as one written by tsfilm train.",
            2,
        )
    high_rate = getattr(est, "sample_rate", None)  # None: the model does not know its rate
    low_rate = high_rate and high_rate // est.ratio_
    try:
        audio, rate = read_audio(source, rate=low_rate if args.resample else None)
    except soundfile.SoundFileError as exc:
        reason = (getattr(exc, "error_string", None) or str(exc)).rstrip(".")
        message = f"is not an audio file that libsndfile can read ({reason})"
        raise CommandError(f"INPUT {source} {message}.") from exc
    if audio.shape[-1] == 0:
        raise CommandError(f"INPUT {source} holds no samples; give a non-empty recording.")
    if low_rate not in (None, rate):
        message = f"{source} is at {rate} Hz but the model expects {low_rate} Hz; pass --resample."
        raise CommandError(message, 2)
    start = time.perf_counter()
    if est.n_channels_ == 1:  # every channel of the file is one series
        out = np.asarray(est.predict(audio[:, None, :]))[:, 0, :]
    elif audio.shape[0] == est.n_channels_:
        out = est.upsample(audio)
    else:
        message = f"has {audio.shape[0]} channels but the model takes {est.n_channels_}"
        raise CommandError(f"INPUT {source} {message}.")
    speed = audio.shape[-1] / rate / max(time.perf_counter() - start, 1e-9)
    out_rate = high_rate or rate * est.ratio_
    write_audio(output, out, out_rate)
    seconds = f"{out.shape[-1] / out_rate:.2f} s at {out_rate} Hz"
    print(f"{output}: {out.shape[0]} channel(s), {seconds} ({speed:.1f} s of audio per s)")


def _demo(args: argparse.Namespace) -> None:
    from tsfilm.demo import run_demo

    _check_output(args.out, "--out")
    run_demo(args.out, quick=args.quick, seed=args.seed)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tsfilm",
        description="Temporal FiLM networks for time series.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    debug_help = "show the full traceback of any error"
    parser.add_argument("--debug", action="store_true", help=debug_help)
    # The sub-commands' --debug defaults to SUPPRESS, not to undo one given before them.
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)
    sub = parser.add_subparsers(dest="command", required=True)
    command = functools.partial(sub.add_parser, parents=[debug])

    train = command("train", help="train a super-resolution model on audio")
    train.add_argument("source", nargs="?", type=Path, help="folder of wav/flac files")
    voices_help = "use these Debian speech-prompt voices instead (all installed ones if none named)"
    train.add_argument("--voices", nargs="*", metavar="VOICE", help=voices_help)
    train.add_argument("-o", "--output", type=Path, default=Path("model.tsfilm"), help="model file")
    train.add_argument("--no-lowpass", action="store_true", help="subsample without low-pass")
    train.add_argument("--size", choices=sorted(SIZES), default="small", help="(default small)")
    for flag, dest, kind, default, text in _TRAIN_OPTIONS:
        metavar = flag[2:].upper().replace("-", "_")
        train.add_argument(flag, dest=dest, metavar=metavar, type=kind, default=default, help=text)
    train.add_argument("--max-files", type=_number(1), help="per voice or folder")
    train.add_argument("-q", "--quiet", action="store_true")
    memory = "--batch-size, --patch-length or --size"
    train.set_defaults(func=_train, flags=_TRAIN_FLAGS, memory_hint=memory)

    up = command("upsample", help="up-sample an audio file with a model file")
    up.add_argument("model", type=Path, help="a super-resolution model file")
    up.add_argument("input", type=Path, help="low-rate audio file")
    up.add_argument("output", type=Path, help="audio file to write (.wav, .flac, ...)")
    up.add_argument("--resample", action="store_true", help="resample input to the model's rate")
    up.set_defaults(func=_upsample)

    from tsfilm import _cli_tasks

    _cli_tasks.add_commands(sub, [debug])

    demo = command("demo", help="train and evaluate on real data; write a report")
    demo.add_argument("--out", type=Path, default=Path("tsfilm-demo"), help="report folder")
    demo.add_argument("--quick", action="store_true", help="about 2 minutes instead of about 10")
    demo.add_argument("--seed", type=_SEED, default=0)
    demo.set_defaults(func=_demo)

    models = command("models", help="list registered models")
    models.add_argument("--task", choices=registry.TASKS)
    models.set_defaults(func=lambda args: print(registry.format_models(args.task)))
    return parser


def _is_instance(exc: BaseException, module: str, name: str) -> bool:
    """Whether ``exc`` is a ``module.name``, without importing ``module``."""
    return module in sys.modules and isinstance(exc, getattr(sys.modules[module], name))


def _diagnose(
    exc: BaseException, flags: dict[str, str] | None = None, memory_hint: str = "input length"
) -> tuple[str, int] | None:
    """The message and exit status of an expected failure; None for a bug.

    ``flags`` maps estimator parameters to the command's flags, ``memory_hint`` names what
    to reduce when memory runs out.
    """
    from tsfilm.estimators import TrainingDivergedError

    if isinstance(exc, CommandError):
        return str(exc), exc.status
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted.", 130
    if isinstance(exc, MemoryError) or _is_instance(exc, "torch", "OutOfMemoryError"):
        return f"out of memory ({str(exc) or type(exc).__name__}); reduce the {memory_hint}.", 1
    if isinstance(exc, TrainingDivergedError):
        return str(exc).replace("learning_rate", "--learning-rate"), 1
    if _is_instance(exc, "soundfile", "SoundFileError"):
        return f"cannot read audio: {str(exc).rstrip('.')}; remove or replace that file.", 1
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror}.", 1
    if isinstance(exc, (ValueError, TypeError, OSError, ImportError)):
        return _parameter_message(exc, flags or {}) or type(exc).__name__, 1
    return None


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
        On any error, after a one-line message on stderr, with the exit status that
        ``tsfilm --help`` lists. With ``--debug`` the exception propagates instead.

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
        args.func(args)
        return 0
    except (Exception, KeyboardInterrupt) as exc:
        if args.debug:
            raise
        diagnosis = _diagnose(
            exc, getattr(args, "flags", None), getattr(args, "memory_hint", "input length")
        )
        if diagnosis is None:
            traceback.print_exc()
            bug = f"unexpected {type(exc).__name__}; this is a bug in tsfilm: please report it"
            diagnosis = f"{bug} with the traceback above (--debug lets it through).", 1
        message, status = diagnosis
        command = getattr(args, "command_name", args.command)  # "classify train"
        print(f"tsfilm {command}: error: {' '.join(message.split())}", file=sys.stderr)
        raise SystemExit(status) from None


if __name__ == "__main__":  # pragma: no cover
    # `python -m tsfilm.cli`: run the imported module, whose CommandError the commands raise.
    from tsfilm.cli import main as _main

    sys.exit(_main())
