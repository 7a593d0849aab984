"""The ``tsfilm`` command line: ``train``, ``upsample``, ``impute``, ``classify``,
``evaluate``, ``models`` and ``demo``.

The super-resolution commands and the command-line machinery live here; the commands of the
other tasks are in :mod:`tsfilm._cli_tasks`. Errors are reported as one line on stderr;
``tsfilm --help`` lists the exit statuses.
"""

from __future__ import annotations

import argparse
import contextlib
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
#: ``tiny`` and ``small`` use TFiLM blocks of 256 input samples (the estimator's default,
#: 32 blocks per 8192 samples as in the authors' code): as good as 64 or 128 in the
#: recipe ablation (docs/user_guide/benchmarks.rst), with a quarter or half of the RNN
#: steps: TFiLM/Conv training-step time, idle, 1 / 2 threads, tiny 1.28 / 1.50 to
#: 1.19 / 1.24, small 1.16 / 1.20 to 1.11 / 1.11 (``benchmarks/speed.py``).
SIZES: dict[str, dict] = {
    "tiny": {"depth": 3, "width": 0.125, "max_filters": 64, "block_length": 256},
    "small": {"depth": 4, "width": 0.25, "max_filters": 128, "block_length": 256},
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
        causal=args.causal,
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

    from tsfilm.estimators._distributed import is_main_process

    if not is_main_process():  # under torchrun, rank 0 writes the model
        return

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


#: Output longer than this many seconds shows its progress on stderr.
_PROGRESS_SECONDS = 30.0


def _note(message: str) -> None:
    """A line for the user on stderr (what ``upsample`` chose for them)."""
    print(f"tsfilm upsample: {message}", file=sys.stderr, flush=True)


def _model_source(args: argparse.Namespace, source: Path) -> tuple[Path, str | None]:
    """The model file to use and, for a pretrained one, its name.

    An explicit model (the MODEL argument or ``--model``: a pretrained name or a path)
    wins; otherwise the pretrained model for the input's rate and ``--ratio``.
    """
    from tsfilm import pretrained

    if args.model is not None and args.model_option is not None:
        raise CommandError("give the model once: as MODEL or as --model, not both.", 2)
    given = args.model_option if args.model is None else str(args.model)
    if given is not None:
        if given in pretrained.NAMES and not Path(given).exists():
            return _pretrained_path(given), given
        path = Path(given)
        _check_input(path, "MODEL")
        return path, None
    _check_input(source, "INPUT")
    rate = _audio_rate(source)
    try:
        name = pretrained.for_audio(rate, args.ratio)
    except ValueError as exc:
        raise CommandError(f"INPUT {source}: {exc} Or give a model with --model.", 2) from exc
    return _pretrained_path(name), name


def _pretrained_path(name: str) -> Path:
    from tsfilm import pretrained

    try:
        return pretrained.model_path(name)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from exc


def _audio_rate(source: Path) -> int:
    """The sample rate of an audio file, read from its header."""
    from tsfilm.io.audio import _soundfile

    soundfile = _soundfile()
    try:
        return int(soundfile.info(str(source)).samplerate)
    except (soundfile.SoundFileError, RuntimeError) as exc:
        reason = (getattr(exc, "error_string", None) or str(exc)).rstrip(".")
        message = f"is not an audio file that libsndfile can read ({reason})"
        raise CommandError(f"INPUT {source} {message}.") from exc


def _with_progress(est, n_series: int, n_high: int, seconds: float):
    """A context that reports on stderr how much of a long output the network has made.

    It wraps ``est.module_`` for the duration of ``predict``, counting the samples of the
    windows that go through it (as :meth:`forward_windows` cuts them); the output is
    unchanged. Short outputs and causal models are left alone.
    """
    import contextlib

    import torch

    from tsfilm.preprocessing import chunk_spans

    if seconds < _PROGRESS_SECONDS or getattr(est, "causal", False):
        return contextlib.nullcontext()
    chunk = int(est.chunk_length or 4 * est.patch_length)
    total = n_series * sum(b - a for a, b in chunk_spans(n_high, chunk, chunk // 8))

    class Progress(torch.nn.Module):
        def __init__(self, module: torch.nn.Module) -> None:
            super().__init__()
            self.module = module
            self.done, self.shown = 0, 0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.module(x)
            self.done += x.shape[0] * x.shape[-1]
            tenths = min(10, 10 * self.done // max(total, 1))
            if tenths > self.shown:
                self.shown = tenths
                _note(f"{10 * tenths}% of {seconds:.0f} s done")
            return y

    @contextlib.contextmanager
    def swapped():
        module = est.module_
        est.module_ = Progress(module)
        try:
            yield
        finally:
            est.module_ = module

    return swapped()


def _upsample(args: argparse.Namespace) -> None:
    import tsfilm
    from tsfilm.estimators import SuperResolverMixin
    from tsfilm.io.audio import _soundfile, read_audio, write_audio

    if args.stream:
        return _upsample_stream(args)
    if args.output is None:  # `upsample INPUT OUTPUT`: the two files came as MODEL and INPUT
        if args.input is None:
            raise CommandError("give INPUT and OUTPUT audio files, or --stream.", 2)
        args.model, args.input, args.output = None, args.model, args.input
    source, output = args.input, args.output
    _check_output(output, "OUTPUT", "out.wav")
    model, name = _model_source(args, source)
    _check_input(source, "INPUT")
    for other, label in ((model, "MODEL"), (source, "INPUT")):
        if output.exists() and os.path.samefile(output, other):
            raise CommandError(f"OUTPUT {output} is the {label} file; give another output name.", 2)
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
    if args.ratio is not None and args.ratio != est.ratio_:
        raise CommandError(
            f"--ratio {args.ratio} but MODEL {model} up-samples by {est.ratio_}; drop --ratio "
            "or choose another model.",
            2,
        )
    high_rate = getattr(est, "sample_rate", None)  # None: the model does not know its rate
    low_rate = high_rate and high_rate // est.ratio_
    chosen = args.model is None and args.model_option is None
    resample = args.resample or chosen
    if chosen:
        _note(f"using the pretrained model {name} ({low_rate} Hz -> {high_rate} Hz)")
    try:
        audio, rate = read_audio(source, rate=low_rate if resample else None)
    except soundfile.SoundFileError as exc:
        reason = (getattr(exc, "error_string", None) or str(exc)).rstrip(".")
        message = f"is not an audio file that libsndfile can read ({reason})"
        raise CommandError(f"INPUT {source} {message}.") from exc
    if audio.shape[-1] == 0:
        raise CommandError(f"INPUT {source} holds no samples; give a non-empty recording.")
    if low_rate not in (None, rate):
        message = f"{source} is at {rate} Hz but the model expects {low_rate} Hz; pass --resample."
        raise CommandError(message, 2)
    if chosen and _audio_rate(source) != rate:
        _note(f"resampled {source} from {_audio_rate(source)} Hz to {rate} Hz for the model")
    start = time.perf_counter()
    out_rate = high_rate or rate * est.ratio_
    n_high = audio.shape[-1] * est.ratio_
    n_series = audio.shape[0] if est.n_channels_ == 1 else 1
    with _with_progress(est, n_series, n_high, n_high / out_rate):
        if est.n_channels_ == 1:  # every channel of the file is one series
            out = np.asarray(est.predict(audio[:, None, :]))[:, 0, :]
        elif audio.shape[0] == est.n_channels_:
            out = est.upsample(audio)
        else:
            message = f"has {audio.shape[0]} channels but the model takes {est.n_channels_}"
            raise CommandError(f"INPUT {source} {message}.")
    speed = audio.shape[-1] / rate / max(time.perf_counter() - start, 1e-9)
    write_audio(output, out, out_rate)
    seconds = f"{out.shape[-1] / out_rate:.2f} s at {out_rate} Hz"
    print(f"{output}: {out.shape[0]} channel(s), {seconds} ({speed:.1f} s of audio per s)")


def _upsample_stream(args: argparse.Namespace) -> None:
    """``upsample --stream``: PCM from stdin to stdout with a causal model."""
    import tsfilm
    from tsfilm.estimators import SuperResolverMixin
    from tsfilm.streaming import upsample_stream

    if args.input is not None or args.output is not None:
        message = "--stream reads standard input and writes standard output; drop INPUT/OUTPUT."
        raise CommandError(message, 2)
    if args.model is None and args.model_option is None:
        from tsfilm import pretrained

        # The pretrained causal model for the input's rate (8 kHz when not given).
        try:
            name = pretrained.for_audio(args.input_rate or 8000, args.ratio, causal=True)
        except ValueError as exc:
            raise CommandError(f"{exc} Or give a causal model with --model.", 2) from exc
        model = _pretrained_path(name)
        _note(f"using the pretrained causal model {name}")
    else:
        model, _ = _model_source(args, None)
    est = tsfilm.load(model)
    if not (isinstance(est, SuperResolverMixin) and getattr(est, "causal", False)):
        raise CommandError(
            f"MODEL {model} is not a causal super-resolution model; --stream needs one "
            "trained with tsfilm train --causal.",
            2,
        )
    try:
        upsample_stream(
            est,
            sys.stdin.buffer,
            sys.stdout.buffer,
            input_format=args.input_format,
            rate=args.input_rate,
            channels=args.channels,
            chunk_ms=args.chunk_ms,
        )
    except BrokenPipeError:  # the reader (aplay) went away: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _demo(args: argparse.Namespace) -> None:
    from tsfilm.demo import run_demo

    _check_output(args.out, "--out")
    run_demo(args.out, quick=args.quick, seed=args.seed)


def _models(args: argparse.Namespace) -> None:
    if not args.pretrained:
        print(registry.format_models(args.task))
        return
    if args.task not in (None, "super_resolution"):
        raise CommandError(f"the pretrained models are for super_resolution, not {args.task}.", 2)
    print(_format_pretrained())


def _format_pretrained() -> str:
    """The table of ``tsfilm models --pretrained``: rates, size and test SNR vs the spline."""
    from tsfilm.pretrained import list_pretrained

    rows = [("name", "data", "rate (Hz)", "ratio", "size", "SNR dB", "spline SNR dB")]
    for m in list_pretrained().values():
        tfilm, spline = m.metrics.get("tfilm", {}), m.metrics.get("spline", {})
        rows.append(
            (
                m.name,
                m.data,
                f"{m.rate_in} -> {m.rate_out}",
                str(m.ratio),
                f"{m.size / 2**20:.1f} MiB",
                f"{tfilm['snr']:.2f}" if "snr" in tfilm else "-",
                f"{spline['snr']:.2f}" if "snr" in spline else "-",
            )
        )
    if len(rows) == 1:
        return "no pretrained models in this installation."
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


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
    causal_help = "a causal model, for tsfilm upsample --stream"
    train.add_argument("--causal", action="store_true", help=causal_help)
    train.add_argument("-q", "--quiet", action="store_true")
    memory = "--batch-size, --patch-length or --size"
    train.set_defaults(func=_train, flags=_TRAIN_FLAGS, memory_hint=memory)

    up = command(
        "upsample",
        help="up-sample an audio file (with a pretrained model unless one is given)",
        description="Up-sample INPUT to OUTPUT. Without a model, the pretrained model for "
        "the rate of INPUT and --ratio is used (speech-r2: 8 kHz -> 16 kHz, speech-r4: "
        "4 kHz -> 16 kHz), INPUT is resampled to its input rate if needed, and each channel "
        "is up-sampled.",
    )
    model_help = "model file or pretrained name, as --model (optional)"
    up.add_argument("model", nargs="?", type=Path, help=model_help)
    up.add_argument("input", nargs="?", type=Path, help="low-rate audio file (not with --stream)")
    output_help = "audio file to write (.wav, .flac, ...; not with --stream)"
    up.add_argument("output", nargs="?", type=Path, help=output_help)
    option_help = "model file or pretrained name (tsfilm models --pretrained) to use instead"
    up.add_argument("--model", dest="model_option", metavar="MODEL", help=option_help)
    ratio_help = "up-sampling ratio, to choose a pretrained model (default: from the rate)"
    up.add_argument("--ratio", type=_number(2), help=ratio_help)
    up.add_argument("--resample", action="store_true", help="resample input to the model's rate")
    stream_help = (
        "read 16-bit PCM from stdin as it arrives, write 16-bit PCM at the model's rate to "
        "stdout (models trained with tsfilm train --causal)"
    )
    up.add_argument("--stream", action="store_true", help=stream_help)
    format_help = "with --stream: raw S16_LE or a wav stream (default s16le)"
    up.add_argument("--input-format", choices=("s16le", "wav"), default="s16le", help=format_help)
    rate_help = "with --stream: rate of raw input in Hz (default: the model's rate / ratio)"
    up.add_argument("--input-rate", type=_number(1), help=rate_help)
    channels_help = "with --stream: channels of raw input (default: the model's)"
    up.add_argument("--channels", type=_number(1), help=channels_help)
    chunk_help = "with --stream: largest chunk in ms (default 20)"
    up.add_argument("--chunk-ms", type=_number(0, integer=False), default=20.0, help=chunk_help)
    up.set_defaults(func=_upsample)

    from tsfilm import _cli_tasks

    _cli_tasks.add_commands(sub, [debug])

    demo = command("demo", help="train and evaluate on real data; write a report")
    demo.add_argument("--out", type=Path, default=Path("tsfilm-demo"), help="report folder")
    demo.add_argument("--quick", action="store_true", help="about 2 minutes instead of about 10")
    demo.add_argument("--seed", type=_SEED, default=0)
    demo.set_defaults(func=_demo)

    models = command("models", help="list registered models, or the pretrained ones")
    models.add_argument("--task", choices=registry.TASKS)
    pretrained_help = "list the pretrained models that ship with tsfilm instead"
    models.add_argument("--pretrained", action="store_true", help=pretrained_help)
    models.set_defaults(func=_models)
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
    from tsfilm.estimators._distributed import is_main_process

    # Under torchrun every process runs the command; only rank 0 reports on stdout.
    quiet = contextlib.nullcontext() if is_main_process() else contextlib.redirect_stdout(None)
    try:
        with quiet:
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
