"""Train, evaluate and describe the pretrained models that ship in ``tsfilm/pretrained/``.

Each model (``speech-r2``, ``speech-r4``, ``piano-r4``) is a :class:`~tsfilm.TFiLMSuperResolver`
trained on one CPU thread for a wall-clock budget, in chunks: after every chunk the model is
saved as a checkpoint and scored on held-out validation signals, so an interrupted run
continues with ``--resume`` and the checkpoint with the best validation SNR is the one
shipped. It is then tested on data it never saw (an unseen speaker, or unseen pieces),
beside the cubic spline and, if ``--conv-minutes`` is not 0, the same U-Net without TFiLM
layers (the registry's ``conv``), trained for that budget and compared with the TFiLM
checkpoint saved after the same number of seconds. The model file and its card
(``<name>.tsfilm`` and ``<name>.md``) are written to ``--out``.

Data (nothing is downloaded):

* speech: the Debian Asterisk prompts (:func:`tsfilm.datasets.load_speech`, 16 kHz).
  Training voices en_US_f_Allison, fr_CA_f_June and ru_RU_f_IvrvoiceRU, every
  ``VALIDATION_EVERY``-th prompt of each held out for validation; test voice
  it_IT_m_Carlo, a male speaker none of the training voices resembles.
* piano: music21 scores rendered with the FluidR3 soundfont
  (:func:`tsfilm.datasets.load_piano`), split by piece: every fourth piece is a test
  piece, one more a validation piece.

Examples (the shipped models; about 20 minutes each on one CPU thread)::

    python benchmarks/pretrain.py --model speech-r4 --minutes 15 --out tsfilm/pretrained/
    python benchmarks/pretrain.py --all --minutes 15 --conv-minutes 2 --out tsfilm/pretrained/

``--score`` trains nothing: it scores the model files in ``--out`` (else the package's)
and the cubic spline on the validation signals (for speech: unseen prompts of the training
voices, the paper's single-speaker setting) and on the test signals (the unseen voice)::

    python benchmarks/pretrain.py --model speech-r4 --model piano-r4 --score

``--quick`` trains a tiny network for a few seconds on a few files (for tests).
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import tsfilm
from tsfilm.cli import SIZES
from tsfilm.metrics import lsd, snr
from tsfilm.preprocessing import change_speed, degrade, min_length_for_lowpass, spline_upsample
from tsfilm.registry import make_model
from tsfilm.streaming import INTERPOLATION_TAPS

RATE = 16000
SPEECH_TRAIN = ("en_US_f_Allison", "fr_CA_f_June", "ru_RU_f_IvrvoiceRU")
SPEECH_TEST = "it_IT_m_Carlo"
#: Every this-many-th prompt of a training voice is held out for validation.
VALIDATION_EVERY = 25
#: Prompts of the test voice (evenly spaced over its prompt list).
SPEECH_TEST_FILES = 120
PIANO_PIECES, PIANO_SECONDS = 24, 30.0
LICENCES = {
    "speech": (
        "Asterisk core sound prompts (Debian packages asterisk-core-sounds-{en,fr,ru,it}-g722, "
        "G.722 at 16 kHz, band-limited to about 7 kHz): en prompts by Allison Smith and fr "
        "prompts by June Wallack, CC-BY-SA-3.0; ru prompts by Maxim and it prompts by Carlo "
        "Flora, CC-BY-3.0 (see /usr/share/doc/asterisk-core-sounds-*/copyright)."
    ),
    "piano": (
        "Scores of the music21 corpus (in the PyPI package music21, BSD-3-Clause) written to "
        "MIDI and rendered as acoustic grand piano by FluidSynth with the FluidR3_GM "
        "soundfont by Frank Wen (Debian fluid-soundfont-gm, MIT licence)."
    ),
}

#: The shipped network: tsfilm.cli's "small" U-Net (about 0.66 M float32 weights, 2.6 MB)
#: with the TFiLM blocks of 128 samples the shipped files were trained with.
NETWORK: dict[str, Any] = {
    **SIZES["small"],
    "block_length": 128,
    "dropout": 0.0,
    "patch_length": 4096,
    "batch_size": 16,
    "learning_rate": 1e-3,
    "up_activation": "leaky_relu",
}
QUICK_NETWORK: dict[str, Any] = {
    "depth": 2,
    "width": 0.05,
    "max_filters": 16,
    "block_length": 16,
    "dropout": 0.0,
    "patch_length": 512,
    "batch_size": 8,
    "learning_rate": 1e-3,
}
#: Engine settings written into the shipped files: sensible for prediction and fine-tuning.
SHIPPED_ENGINE = {
    "max_epochs": 20,
    "max_time": None,
    "patience": None,
    "validation_fraction": 0.0,
    "learning_rate": 3e-4,
    "n_threads": "auto",
    "verbose": 0,
    "warm_start": False,
}


@dataclass(frozen=True)
class Spec:
    """One shipped model."""

    name: str
    data: str  # "speech" or "piano"
    ratio: int
    causal: bool = False  # for streaming; compared with the offline model of its ratio
    lookahead: int = 0  # output samples the causal network may wait for
    causal_input: str = "sinc"  # the causal interpolation (tsfilm.streaming.causal_upsample)
    init: str | None = None  # a shipped model whose weights training starts from
    #: Changes to ``NETWORK`` for this model (the Conv baseline beside it gets them too).
    network: dict[str, Any] = field(default_factory=dict)
    #: Speeds of extra copies of the training signals (``tsfilm.preprocessing.change_speed``).
    speed_factors: tuple[float, ...] = ()

    @property
    def rate_in(self) -> int:
        return RATE // self.ratio


#: speech-r4 was trained with ReLU in the up path, before the LeakyReLU up path joined
#: the recipe: its spec keeps it, so that its card's command reproduces it (retrained with
#: LeakyReLU for 30 minutes it scored the same on the test voice; piano-r4, retrained with
#: it, gained 0.75 dB on its unseen pieces).
RELU_UP = {"up_activation": "relu"}
SPECS = {
    s.name: s
    for s in (
        Spec("speech-r4", "speech", 4, network=RELU_UP),
        Spec("speech-r2", "speech", 2),
        Spec("piano-r4", "piano", 4),
        # 8 kHz telephony to 16 kHz, live: 2 ms of look-ahead (32 output samples),
        # fine-tuned from the offline speech-r2 (a causal U-Net has its weights).
        Spec(
            "speech-r2-causal",
            "speech",
            2,
            causal=True,
            lookahead=32,
            init="speech-r2",
        ),
    )
}


@dataclass
class Data:
    train: list[np.ndarray]
    valid: list[np.ndarray]
    test: list[np.ndarray]
    description: dict[str, str]


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _seconds(signals: list[np.ndarray]) -> float:
    return float(sum(s.shape[-1] for s in signals) / RATE)


def load_data(spec: Spec, quick: bool, speed_factors: tuple[float, ...] = ()) -> Data:
    """Training, validation and test signals at 16 kHz, each long enough to degrade;
    the training signals with a copy at each of ``speed_factors``."""
    shortest = min_length_for_lowpass(spec.ratio)
    if spec.data == "speech":
        from tsfilm.datasets import load_speech

        per_voice = 6 if quick else None
        train, valid = [], []
        for voice in SPEECH_TRAIN:
            signals = load_speech(voice, max_files=per_voice).signals
            held = VALIDATION_EVERY if not quick else 3
            valid += [s for i, s in enumerate(signals) if i % held == held // 2]
            train += [s for i, s in enumerate(signals) if i % held != held // 2]
        test = load_speech(SPEECH_TEST, max_files=4 if quick else SPEECH_TEST_FILES).signals
        description = {
            "train": f"voices {', '.join(SPEECH_TRAIN)} (all prompts but every "
            f"{VALIDATION_EVERY}th)",
            "valid": f"every {VALIDATION_EVERY}th prompt of the training voices",
            "test": f"voice {SPEECH_TEST} (male, unseen), {SPEECH_TEST_FILES} prompts evenly "
            "spaced over its prompt list",
            "licence": LICENCES["speech"],
        }
    else:
        from tsfilm.datasets import load_piano

        n_pieces, seconds = (4, 5.0) if quick else (PIANO_PIECES, PIANO_SECONDS)
        data = load_piano(n_pieces=n_pieces, max_seconds=seconds)
        pieces = list(data.piece)
        test_idx = [i for i in range(len(pieces)) if i % 4 == 1]
        valid_idx = [i for i in range(len(pieces)) if i % 4 == 3][:1]
        train_idx = [i for i in range(len(pieces)) if i not in test_idx + valid_idx]
        train = [data.signals[i] for i in train_idx]
        valid = [data.signals[i] for i in valid_idx]
        test = [data.signals[i] for i in test_idx]
        description = {
            "train": "pieces " + ", ".join(pieces[i] for i in train_idx),
            "valid": "piece " + ", ".join(pieces[i] for i in valid_idx),
            "test": "pieces " + ", ".join(pieces[i] for i in test_idx) + " (unseen)",
            "licence": LICENCES["piano"],
        }
    if speed_factors:
        long = [s for s in train if s.shape[-1] >= shortest]
        train = train + [change_speed(s, f) for f in speed_factors for s in long]
        description["train"] += (
            ", each also at speed "
            + " and ".join(f"{f:g}" for f in speed_factors)
            + " (tsfilm.preprocessing.change_speed)"
        )
    keep = [[s for s in part if s.shape[-1] >= shortest] for part in (train, valid, test)]
    if not all(keep):
        raise SystemExit(f"{spec.name}: a data split is empty; install the data packages.")
    return Data(*keep, description=description)


def evaluate(
    predict, ratio: int, signals: list[np.ndarray], lowpass: bool = True
) -> dict[str, float]:
    """Mean SNR (dB) and LSD of ``predict`` (low-rate list -> high-rate list) over signals
    degraded with (or without) the low-pass filter."""
    lows = [degrade(s, ratio, lowpass=lowpass) for s in signals]
    predictions = predict(lows)
    snrs, lsds = [], []
    for s, p in zip(signals, predictions, strict=True):
        p = np.asarray(p)[: s.shape[-1]]  # degrade's ceil adds up to ratio - 1 samples
        snrs.append(snr(s, p))
        lsds.append(lsd(s, p))
    return {"snr": float(np.mean(snrs)), "lsd": float(np.mean(lsds))}


def spline_predict(ratio: int):
    return lambda lows: [spline_upsample(x, ratio) for x in lows]


def network_of(spec: Spec, args: argparse.Namespace) -> dict[str, Any]:
    """The U-Net and training settings of ``spec`` and ``--set`` (before
    ``--learning-rate``)."""
    return {
        **(QUICK_NETWORK if args.quick else NETWORK),
        **spec.network,
        **dict(getattr(args, "set", None) or {}),
    }


def speed_factors_of(spec: Spec, args: argparse.Namespace) -> tuple[float, ...]:
    """The training copies' speeds: ``--speed-factors`` if given, else the spec's."""
    given = getattr(args, "speed_factors", None)
    return spec.speed_factors if given is None else tuple(given)


def build(name: str, spec: Spec, args: argparse.Namespace):
    """A fresh TFiLM (or Conv) super-resolver with the training settings."""
    network = network_of(spec, args)
    if name == "conv":  # the same U-Net without TFiLM layers, so no block length
        del network["block_length"]
    elif spec.causal:
        network.update(causal=True, lookahead=spec.lookahead, causal_input=spec.causal_input)
    if getattr(args, "learning_rate", None) is not None:
        network["learning_rate"] = args.learning_rate
    return make_model(
        name,
        task="super_resolution",
        ratio=spec.ratio,
        lowpass=True,
        sample_rate=RATE,
        max_epochs=100_000,
        patience=None,
        validation_fraction=0.0,
        n_threads=1,
        random_state=int(getattr(args, "seed", 0)),
        verbose=int(args.verbose),
        warm_start=True,
        **network,
    )


class Run:
    """The checkpoints and progress of one model's training, kept in ``work``."""

    def __init__(self, work: Path, name: str) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.state_path = work / f"{name}.json"
        self.last = work / f"{name}.last.tsfilm"
        self.best = work / f"{name}.best.tsfilm"
        self.state: dict[str, Any] = {"trained_seconds": 0.0, "chunks": [], "best_valid": None}

    def resume(self):
        if not (self.state_path.is_file() and self.last.is_file()):
            return None
        self.state = json.loads(self.state_path.read_text())
        est = tsfilm.load(self.last)
        return est

    def save(self, est) -> None:
        est.save(self.last)
        tmp = self.state_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.state, indent=1))
        tmp.replace(self.state_path)


def _run_settings(est, spec: Spec, args: argparse.Namespace) -> dict[str, Any]:
    """What a resumed run must share with the run it continues."""
    return {
        "seed": est.random_state,
        "learning_rate": est.learning_rate,
        "network": network_of(spec, args),
        "speed_factors": list(speed_factors_of(spec, args)),
    }


def train_tfilm(spec: Spec, data: Data, args: argparse.Namespace, run: Run):
    """Train in chunks until the budget is spent; return the best checkpoint's estimator."""
    budget = args.minutes * 60
    conv_seconds = args.conv_minutes * 60
    lows = [degrade(s, spec.ratio) for s in data.train]
    est = run.resume() if args.resume else None
    if est is None:
        est = build("tfilm", spec, args)
        run.state = {"trained_seconds": 0.0, "chunks": [], "best_valid": None}
        run.state["settings"] = _run_settings(est, spec, args)
        if spec.init is not None and not args.quick:  # --quick trains a smaller network
            est = start_from(spec.init, est, args)
            run.state["init"] = {"name": spec.init, "epochs": int(est.n_epochs_)}
            _say(f"{spec.name}: starting from the weights of {spec.init}")
    else:
        saved = run.state.get("settings")
        now = _run_settings(build("tfilm", spec, args), spec, args)
        # Runs saved before a setting was recorded are compared on what they recorded.
        if saved is not None and any(saved[key] != now[key] for key in saved):
            raise SystemExit(
                f"{spec.name}: --resume with other settings than the run in {args.work} "
                f"({saved}); give the same --seed, --learning-rate, --set and "
                "--speed-factors, or another --work."
            )
        est.set_params(warm_start=True, verbose=int(args.verbose), n_threads=1)
        _say(f"{spec.name}: resuming after {run.state['trained_seconds']:.0f} s of training")
        if run.state["trained_seconds"] < budget - 1:  # model files hold no optimizer state
            run.state.setdefault("resumed", []).append(round(run.state["trained_seconds"], 1))
    while run.state["trained_seconds"] < budget - 1:
        done = run.state["trained_seconds"]
        chunk = min(args.chunk_minutes * 60, budget - done)
        if 0 < conv_seconds < budget and done < conv_seconds:
            chunk = min(chunk, conv_seconds - done)  # a checkpoint at the Conv budget
        est.set_params(max_time=chunk)
        start = time.perf_counter()
        est.fit(lows, data.train)
        seconds = time.perf_counter() - start
        run.state["trained_seconds"] = done + seconds
        valid = evaluate(est.predict, spec.ratio, data.valid)
        entry = {"seconds": run.state["trained_seconds"], "epochs": est.n_epochs_, **valid}
        run.state["chunks"].append(entry)
        best = run.state["best_valid"]
        if best is None or valid["snr"] > best["snr"]:
            run.state["best_valid"] = entry
            est.save(run.best)
        if 0 < conv_seconds < budget and "at_conv_budget" not in run.state:
            if run.state["trained_seconds"] >= conv_seconds - 1:
                test = evaluate(est.predict, spec.ratio, data.test)
                run.state["at_conv_budget"] = {"seconds": run.state["trained_seconds"], **test}
        run.save(est)
        _say(
            f"{spec.name}: {run.state['trained_seconds']:.0f}/{budget:.0f} s, "
            f"{est.n_epochs_} epochs, validation SNR {valid['snr']:.2f} dB LSD {valid['lsd']:.2f}"
        )
    return tsfilm.load(run.best)


def shipped_path(name: str, args: argparse.Namespace) -> Path | None:
    """The model file of a shipped model: in ``--out``, else the installed package's."""
    path = args.out / f"{name}.tsfilm"
    if path.is_file():
        return path
    from tsfilm import pretrained

    return pretrained.model_path(name) if name in pretrained.NAMES else None


def start_from(name: str, est, args: argparse.Namespace):
    """``est``'s settings on the weights of the shipped model ``name`` (same network):
    the first warm-started ``fit`` rebuilds it as ``est``'s (causal) network and trains
    on from there, with a fresh optimizer."""
    path = shipped_path(name, args)
    if path is None:
        raise FileNotFoundError(f"{name}.tsfilm is neither in {args.out} nor in the package")
    source = tsfilm.load(path)
    source.set_params(**est.get_params())
    source._optimizer_state = None
    return source


def offline_reference(spec: Spec, data: Data, args: argparse.Namespace) -> dict | None:
    """Test metrics of the offline model of a causal spec's ratio (from ``--out``, else the
    installed package), or None when there is none."""
    name = f"{spec.data}-r{spec.ratio}"
    path = shipped_path(name, args)
    if path is None:
        return None
    est = tsfilm.load(path)
    est.set_params(n_threads=1)
    return {"name": name, **evaluate(est.predict, spec.ratio, data.test)}


def train_conv(spec: Spec, data: Data, args: argparse.Namespace) -> dict[str, Any] | None:
    """Train the Conv baseline for ``--conv-minutes``; its test metrics and seconds."""
    if args.conv_minutes <= 0 or spec.causal:  # a causal spec is compared with the offline one
        return None
    try:
        est = build("conv", spec, args)
    except (ValueError, ImportError) as exc:
        _say(f"{spec.name}: no Conv baseline ({exc})")
        return None
    est.set_params(max_time=args.conv_minutes * 60, warm_start=False)
    start = time.perf_counter()
    est.fit([degrade(s, spec.ratio) for s in data.train], data.train)
    seconds = time.perf_counter() - start
    test = evaluate(est.predict, spec.ratio, data.test)
    params = sum(p.numel() for p in est.module_.parameters())
    return {"seconds": seconds, "epochs": est.n_epochs_, "params": params, **test}


def cpu_name() -> str:
    """The CPU's model name, as /proc/cpuinfo gives it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_card(
    spec: Spec,
    path: Path,
    data: Data,
    rows: list[dict],
    meta: dict[str, Any],
    command: str,
) -> None:
    """The model card: front matter (JSON values), then the description and the table."""
    front = "\n".join(f"{key}: {json.dumps(value)}" for key, value in meta.items())
    table = ["| model | SNR (dB) | LSD | training s | note |", "|---|---:|---:|---:|---|"]
    table += [
        f"| {r['model']} | {r['snr']:.2f} | {r['lsd']:.2f} | "
        f"{'-' if r.get('seconds') is None else format(r['seconds'], '.0f')} | {r['note']} |"
        for r in rows
    ]
    training = meta["training"]
    kind = "speech" if spec.data == "speech" else "piano music"
    live = ", causal, for streaming" if spec.causal else ""
    interpolation = (
        f'a causal interpolation (`tsfilm.streaming.causal_upsample`, kind "{spec.causal_input}")'
        if spec.causal
        else "the cubic-spline interpolation"
    )
    start = (
        f"Training starts from the weights of the shipped `{training['init']}` (the causal "
        "network has the offline one's parameters; `warm_start=True` after `set_params("
        "causal=True)` rebuilds it with them), with a fresh optimizer. "
        if "init" in training
        else ""
    )
    if training.get("resumed_after"):
        after = ", ".join(f"{t:.0f}" for t in training["resumed_after"])
        start += (
            f"The run was stopped and resumed (`--resume`) after {after} s; Adam's moments "
            "start again at a resume, as model files do not hold them. "
        )
    text = f"""---
{front}
---
# {spec.name}: {kind} super-resolution{live}, {spec.rate_in} Hz to {RATE} Hz (r = {spec.ratio})

A `TFiLMSuperResolver` (TFiLM U-Net, {training["parameters"]:,} float32 weights) that
up-samples {kind} from {spec.rate_in} Hz to {RATE} Hz. Its input is the low-rate signal
low-pass filtered and decimated as `tsfilm.preprocessing.degrade(x, {spec.ratio})` makes it
(as in the paper); the network adds the missing band to {interpolation}.

## Data

- Training: {data.description["train"]}; {_seconds(data.train):.0f} s of audio,
  {len(data.train)} signals.
- Validation (choice of the checkpoint): {data.description["valid"]};
  {_seconds(data.valid):.0f} s, {len(data.valid)} signals.
- Test: {data.description["test"]}; {_seconds(data.test):.0f} s, {len(data.test)} signals.
- Licences: {data.description["licence"]}

## Training

    {command}

{start}{training["seconds"]:.0f} s of training on one thread of an {training["cpu"]} CPU. The
checkpoint kept is the one after {training["best_seconds"]:.0f} s (best validation SNR),
{training["epochs"]} engine epochs (each chunk's epoch ends when its time is up, before a full
pass over the data). tsfilm {training["tsfilm"]}, torch {training["torch"]}. Hyper-parameters:
`{json.dumps(training["network"])}`, `random_state={training.get("seed", 0)}`, `lowpass=True`.
The file stores fine-tuning defaults for the engine (`max_epochs=20`, `learning_rate=3e-4`,
`warm_start=False`, `n_threads="auto"`).

## Test results

Mean over the test signals; SNR higher and LSD lower are better.

{chr(10).join(table)}

{meta.get("conv_note", "")}
"""
    path.write_text(text)


def pretrain(spec: Spec, args: argparse.Namespace) -> dict[str, Any]:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    run = Run(args.work, spec.name + ("-quick" if args.quick else ""))
    _say(f"{spec.name}: loading data")
    data = load_data(spec, args.quick, speed_factors_of(spec, args))
    _say(
        f"{spec.name}: {len(data.train)} training signals ({_seconds(data.train):.0f} s), "
        f"{len(data.valid)} validation, {len(data.test)} test ({_seconds(data.test):.0f} s)"
    )
    est = train_tfilm(spec, data, args, run)
    tfilm_test = evaluate(est.predict, spec.ratio, data.test)
    spline_test = evaluate(spline_predict(spec.ratio), spec.ratio, data.test)
    _say(f"{spec.name}: test TFiLM {tfilm_test}, spline {spline_test}")
    state = run.state
    rows = [
        {
            "model": "TFiLM (shipped)",
            **tfilm_test,
            "seconds": state["best_valid"]["seconds"],
            "note": "best validation checkpoint",
        },
        {"model": "cubic spline", **spline_test, "seconds": None, "note": "no training"},
    ]
    conv = train_conv(spec, data, args)
    metrics = {"tfilm": tfilm_test, "spline": spline_test}
    conv_note = ""
    if conv is not None:
        _say(f"{spec.name}: test Conv {conv}")
        early = state.get("at_conv_budget")
        if early is not None:
            note = "checkpoint at the Conv budget"
            rows.append({"model": "TFiLM", **early, "note": note})
        rows.append({"model": "Conv (no TFiLM)", **conv, "note": "same U-Net, no TFiLM layers"})
        metrics["conv"] = {"snr": conv["snr"], "lsd": conv["lsd"], "seconds": conv["seconds"]}
        if early is not None:
            metrics["tfilm_at_conv_budget"] = {k: early[k] for k in ("snr", "lsd", "seconds")}
        if args.conv_minutes < args.minutes:
            conv_note = (
                f"The Conv baseline was trained for {args.conv_minutes:g} minutes only (the "
                "time available), so it is compared with the TFiLM checkpoint saved after the "
                "same time; the shipped model trained longer."
            )
    elif not spec.causal:
        conv_note = "The Conv baseline was not trained (--conv-minutes 0) to save time."
    if spec.causal:
        offline = offline_reference(spec, data, args)
        ahead = INTERPOLATION_TAPS[spec.causal_input][1]
        conv_note = (
            f"A causal network with a look-ahead of {spec.lookahead} output samples "
            f"({1000 * spec.lookahead / RATE:g} ms), on top of the {ahead} low-rate samples "
            f"({1000 * ahead / spec.rate_in:g} ms) its input interpolation reads ahead: "
            "`est.stream()` and `tsfilm upsample --stream` run it chunk by chunk."
        )
        if offline is not None:
            _say(f"{spec.name}: test offline {offline}")
            rows.append({"model": f"{offline['name']} (offline)", **offline, "note": "shipped"})
            metrics["offline"] = {"snr": offline["snr"], "lsd": offline["lsd"]}
            gain = offline["snr"] - spline_test["snr"]
            kept = (tfilm_test["snr"] - spline_test["snr"]) / gain if gain > 0 else float("nan")
            metrics["offline"]["gain_kept"] = kept
            conv_note += (
                f" It keeps {100 * kept:.0f} % of the offline model's SNR gain over the spline "
                f"({tfilm_test['snr'] - spline_test['snr']:+.2f} dB against {gain:+.2f} dB)."
            )
    # The epochs of the shipped model this one started from are not this training's.
    init = state.get("init")
    if init is None and spec.init is not None and not args.quick:  # runs from before
        source = tsfilm.load(shipped_path(spec.init, args))
        init = {"name": spec.init, "epochs": int(source.n_epochs_)}
    start_epochs = init["epochs"] if init else 0
    learning_rate = est.learning_rate
    # Shipped: the best checkpoint, with engine settings for prediction and fine-tuning.
    est.set_params(**SHIPPED_ENGINE)
    model_path = out / f"{spec.name}.tsfilm"
    est.save(model_path)
    network = network_of(spec, args)
    meta = {
        "name": spec.name,
        "task": "super_resolution",
        "data": spec.data,
        "rate_in": spec.rate_in,
        "rate_out": RATE,
        "ratio": spec.ratio,
        "causal": spec.causal,
        "lookahead": spec.lookahead,
        "metrics": metrics,
        "training": {
            "seconds": round(state["trained_seconds"], 1),
            "best_seconds": round(state["best_valid"]["seconds"], 1),
            **({"resumed_after": state["resumed"]} if state.get("resumed") else {}),
            "epochs": int(est.n_epochs_) - start_epochs,
            "parameters": int(sum(p.numel() for p in est.module_.parameters())),
            "threads": 1,
            "cpu": cpu_name(),
            "tsfilm": tsfilm.__version__,
            "torch": __import__("torch").__version__,
            "network": {**network, "learning_rate": learning_rate},
            **({"init": init["name"]} if init else {}),
            **({"seed": args.seed} if args.seed else {}),
        },
        "conv_note": conv_note,
    }
    argv = args.argv_for(spec.name)
    command = "python benchmarks/pretrain.py " + shlex.join(argv)
    write_card(spec, out / f"{spec.name}.md", data, rows, meta, command)
    _say(f"{spec.name}: wrote {model_path} ({model_path.stat().st_size:,} bytes) and its card")
    return meta


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", choices=sorted(SPECS), action="append", help="(repeatable)")
    which.add_argument("--all", action="store_true", help="every model, the causal one last")
    table_help = "print the reStructuredText table of the cards in --out (for the docs)"
    which.add_argument("--table", action="store_true", help=table_help)
    parser.add_argument("--minutes", type=float, default=15.0, help="training budget per model")
    parser.add_argument("--conv-minutes", type=float, default=None, help="default: --minutes")
    parser.add_argument("--chunk-minutes", type=float, default=5.0, help="between checkpoints")
    parser.add_argument("--seed", type=int, default=0, help="random_state of the networks")
    lr_help = "Adam's learning rate (default: the model's, 1e-3)"
    parser.add_argument("--learning-rate", type=float, default=None, help=lr_help)
    parser.add_argument("--out", type=Path, default=Path("tsfilm/pretrained"))
    parser.add_argument("--work", type=Path, default=None, help="checkpoints (default: cache)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoints")
    parser.add_argument("--quick", action="store_true", help="tiny network and data: seconds")
    score_help = "train nothing: score the model files and the spline on validation and test"
    parser.add_argument("--score", action="store_true", help=score_help)
    parser.add_argument("--verbose", type=int, default=1)
    speed_help = (
        "add a copy of every training signal at each of these speeds (0.8: lower voices, "
        "longer); default: the model's, none; 1 alone: none"
    )
    parser.add_argument("--speed-factors", type=float, nargs="+", default=None, help=speed_help)
    set_help = "change a network setting, e.g. up_activation=leaky_relu (the value in JSON)"
    parser.add_argument(
        "--set", action="append", type=_setting, default=[], metavar="KEY=VALUE", help=set_help
    )
    args = parser.parse_args(argv)
    if args.speed_factors is not None:
        args.speed_factors = [f for f in args.speed_factors if f != 1]
        if any(not 0.25 <= f <= 4 for f in args.speed_factors):
            parser.error("--speed-factors must lie in [0.25, 4]")
    if args.minutes <= 0:
        parser.error("--minutes must be positive")
    if args.conv_minutes is None:
        args.conv_minutes = args.minutes
    if args.work is None:
        from tsfilm.datasets import cache_root

        args.work = Path(cache_root()).parent / "pretrain"
    args.models = list(SPECS) if args.all else args.model or []
    out_arg = str(args.out)

    def argv_for(name: str) -> list[str]:
        line = ["--model", name, "--minutes", f"{args.minutes:g}"]
        line += (
            ["--conv-minutes", f"{args.conv_minutes:g}"]
            if args.conv_minutes != args.minutes
            else []
        )
        line += ["--chunk-minutes", f"{args.chunk_minutes:g}"] if args.chunk_minutes != 5.0 else []
        if args.learning_rate is not None:
            line += ["--learning-rate", f"{args.learning_rate:g}"]
        line += ["--seed", str(args.seed)] if args.seed else []
        if args.speed_factors is not None:
            line += ["--speed-factors", *(f"{f:g}" for f in args.speed_factors or [1])]
        for key, value in args.set:
            shown = value if isinstance(value, str) else json.dumps(value)
            line += ["--set", f"{key}={shown}"]
        return line + (["--quick"] if args.quick else []) + ["--out", out_arg]

    args.argv_for = argv_for
    return args


def _setting(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` of ``--set``, the value in JSON (a bare word is a string)."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def rst_table(out: Path) -> str:
    """The table of the offline models in the user guide, from the cards' front matter in
    ``out`` (the causal model has its own section, beside the offline model)."""
    header = ["model", "rate (Hz)", "size", "TFiLM (shipped)", "cubic spline", "Conv", "TFiLM"]
    rows = []
    for name in (name for name, spec in SPECS.items() if not spec.causal):
        text = (out / f"{name}.md").read_text()
        meta = {}
        for line in text.split("---")[1].strip().splitlines():
            key, _, value = line.partition(":")
            meta[key.strip()] = json.loads(value)
        m = meta["metrics"]

        def cell(key: str, m=m) -> str:
            if key not in m:
                return "not trained"
            seconds = f" ({m[key]['seconds']:.0f} s)" if "seconds" in m[key] else ""
            return f"{m[key]['snr']:.2f} / {m[key]['lsd']:.2f}{seconds}"

        size = (out / f"{name}.tsfilm").stat().st_size / 2**20
        rate = f"{meta['rate_in']} -> {meta['rate_out']}"
        row = [f"``{name}``", rate, f"{size:.1f} MiB", cell("tfilm"), cell("spline")]
        rows.append([*row, cell("conv"), cell("tfilm_at_conv_budget")])
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append("   * - " + row[0])
        lines += [f"     - {c}" for c in row[1:]]
    return "\n".join(lines)


def score(spec: Spec, args: argparse.Namespace) -> list[dict[str, Any]]:
    """SNR and LSD of ``spec``'s model file (in ``--out``, else the package's) and of the
    cubic spline on the validation and the test signals, with the model's gain in SNR
    and its LSD over the spline's."""
    path = shipped_path(spec.name, args)
    if path is None:
        raise FileNotFoundError(f"{spec.name}.tsfilm is neither in {args.out} nor in the package")
    est = tsfilm.load(path)
    est.set_params(n_threads=1)
    data = load_data(spec, args.quick)
    rows = []
    for split, signals in (("validation", data.valid), ("test", data.test)):
        spline = evaluate(spline_predict(spec.ratio), spec.ratio, signals)
        model = evaluate(est.predict, spec.ratio, signals)
        rows.append(
            {
                "model": spec.name,
                "split": split,
                "signals": len(signals),
                "seconds": _seconds(signals),
                "spline": spline,
                "tfilm": model,
                "gain": model["snr"] - spline["snr"],
                "lsd_ratio": model["lsd"] / spline["lsd"],
            }
        )
    return rows


def score_table(rows: list[dict[str, Any]]) -> str:
    """``score``'s rows as a markdown table."""
    lines = [
        "| model | signals | spline SNR / LSD | TFiLM SNR / LSD | gain (dB) | LSD / spline's |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        spline, model = r["spline"], r["tfilm"]
        lines.append(
            f"| {r['model']} | {r['split']}, {r['signals']} ({r['seconds']:.0f} s) "
            f"| {spline['snr']:.2f} / {spline['lsd']:.2f} | {model['snr']:.2f} / "
            f"{model['lsd']:.2f} | {r['gain']:+.2f} | {r['lsd_ratio']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.table:
        print(rst_table(args.out))
        return 0
    import torch

    torch.set_num_threads(1)
    if args.score:
        print(score_table([row for name in args.models for row in score(SPECS[name], args)]))
        return 0
    for name in args.models:
        pretrain(SPECS[name], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
