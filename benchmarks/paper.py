"""The paper's audio experiments, over several seeds, as one command.

Each experiment trains its models for a wall-clock budget per model and seed (``--minutes``,
the estimators' ``max_time``), scores them on held-out data, and writes to ``--out``:
``<experiment>.csv`` (one row per model, setting and seed: SNR and LSD in dB, training
seconds and epochs), ``<experiment>.md`` (mean ± standard deviation over the seeds, and
every comparison of TFiLM with another model as the mean of the per-seed differences with
its standard deviation) and its figures as PNG. A comparison is called a **tie** when
``|mean difference| <= max(0.05 dB, standard deviation of the difference)``, so a gap
within the seed-to-seed spread is never reported as a win.

Experiments (``--experiment``; ``all`` runs every one, sharing the models they have in
common):

``sr``
    The main super-resolution table: cubic spline, DNN, Conv (the U-Net without TFiLM)
    and TFiLM at ``--ratios`` (default r = 2 and 4), on speech with an unseen test voice
    and on unseen piano pieces. Writes ``sr.png`` (bars with the spread over seeds).
``bilstm``
    Table 6: TFiLM with an LSTM against TFiLM with a bidirectional LSTM, same settings.
``lowpass``
    Table 8: TFiLM on piano at r = 2 trained with and without the low-pass filter before
    decimation, each tested with and without it (four cells), beside the spline.
``ood``
    Table 9: TFiLM at r = 4 trained on piano and tested on piano and on speech, and
    trained on speech and tested on speech and on piano, beside the spline.
``ablation``
    Figure 5: the TFiLM U-Net in full, without the additive residual and without the
    skip connections, on speech at r = 4. Each is trained in chunks (``warm_start``) and
    scored on validation prompts after every chunk; ``ablation_curves.png`` plots the
    validation SNR against training seconds (mean and band of one standard deviation
    over the seeds), ``ablation_curves.csv`` holds the points.
``tsne``
    Figure 4: t-SNE of the activations after the last TFiLM layer (mean-pooled over
    windows of each prompt) of the speech r = 4 model, coloured by speaker gender, one
    panel per seed, with the Conv network's activations at the same place for contrast
    (``tsne.png``). The table gives how well gender can be read from the activations
    (leave-one-out 5-nearest-neighbour balanced accuracy).
``recipe``
    Not in the paper: the training recipe, one change at a time against the shipped one
    (learning rate, patch length and batch size, TFiLM block length, dropout, depth,
    width, GRU, scale-only modulation, a multi-resolution STFT loss term, the paper's
    ReLU in the up path), TFiLM at r = 4 trained on two of the training voices and scored
    on the third, so that the choice never sees the test voice; Conv under the shipped
    recipe and with the ReLU up path beside them.

Data (nothing is downloaded), as in ``benchmarks/pretrain.py``: speech is the Debian
Asterisk prompts at 16 kHz, training voices en_US_f_Allison, fr_CA_f_June and
ru_RU_f_IvrvoiceRU (every 25th prompt held out for validation) and the unseen male test
voice it_IT_m_Carlo; piano is music21 scores rendered by FluidSynth, split by piece (every
fourth piece for testing, one more for validation). Every estimator gets
``random_state=seed``, and the data selection does not depend on the seed.

Example (the "small" U-Net, 3 seeds, 3 minutes per model and seed, one thread)::

    python benchmarks/paper.py --experiment all --seeds 3 --minutes 3 --out paper-results/

Every trained model (and every ablation curve) is saved in ``<out>/runs/`` as soon as it
is done; ``--resume`` reuses those that a run with the same settings saved, so a long run
that was stopped continues where it was, and a run of one more experiment reuses the
models it shares with earlier ones.

``--quick`` trains a tiny network for a few seconds on a few files, with two seeds (a
smoke test of the whole pipeline, in about two minutes for ``--experiment all``; its
numbers mean nothing).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:  # imported from elsewhere (tests): find the sibling scripts
    sys.path.insert(0, str(_HERE))

from pretrain import (  # noqa: E402
    NETWORK,
    PIANO_PIECES,
    PIANO_SECONDS,
    QUICK_NETWORK,
    RATE,
    SPEECH_TEST,
    SPEECH_TEST_FILES,
    SPEECH_TRAIN,
    VALIDATION_EVERY,
    cpu_name,
)
from pretrain import evaluate as evaluate_predictions  # noqa: E402
from super_resolution import DNN_SIZES  # noqa: E402

from tsfilm.cli import SIZES  # noqa: E402

EXPERIMENTS = ("sr", "bilstm", "lowpass", "ood", "ablation", "tsne", "recipe")
#: Differences up to this many dB (or the seed spread, if larger) are ties.
TOLERANCE_DB = 0.05
#: Tolerance for the gender accuracy of the t-SNE experiment (a fraction).
TOLERANCE_ACCURACY = 0.02
MODELS = ("spline", "dnn", "conv", "tfilm")
LABELS = {"spline": "cubic spline", "dnn": "DNN", "conv": "Conv", "tfilm": "TFiLM"}
#: ``--quick``: pretrain.py's quick U-Net, four filters wide so that t-SNE has features.
QUICK_UNET: dict[str, Any] = {**QUICK_NETWORK, "width": 0.25}
QUICK_DNN: dict[str, Any] = {"patch_length": 256, "hidden_sizes": (64, 64)}
#: Validation chunks of the ablation curves.
CHUNKS, QUICK_CHUNKS = 6, 3
#: Windows per gender embedded by t-SNE.
TSNE_POINTS, QUICK_TSNE_POINTS = 120, 24


# --------------------------------------------------------------------------- statistics
@dataclass(frozen=True)
class Summary:
    """Mean and sample standard deviation (0 for one value) of ``n`` values."""

    mean: float
    std: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.2f} ± {self.std:.2f}"


@dataclass(frozen=True)
class Comparison:
    """A difference ``ours - theirs``: its mean, spread and verdict (tie, better, worse)."""

    mean: float
    std: float
    n: int
    label: str

    def __str__(self) -> str:
        return f"{self.mean:+.2f} ± {self.std:.2f}"


def summarise(values: Iterable[float]) -> Summary:
    """Mean ± standard deviation (``ddof=1``) over seeds.

    Parameters
    ----------
    values : iterable of float
        One value per seed.

    Returns
    -------
    Summary
    """
    array = np.asarray(list(values), dtype=float)
    if array.size == 0:
        return Summary(math.nan, math.nan, 0)
    std = float(array.std(ddof=1)) if array.size > 1 else 0.0
    return Summary(float(array.mean()), std, int(array.size))


def compare(
    ours: Sequence[float],
    theirs: Sequence[float],
    *,
    tolerance: float = TOLERANCE_DB,
    higher_is_better: bool = True,
) -> Comparison:
    """The difference ``ours - theirs`` over seeds, labelled "tie", "better" or "worse".

    Values of the same length are paired (seed by seed) and the spread is the standard
    deviation of the per-seed differences; otherwise the spread is that of the difference
    of two independent means' samples, ``sqrt(std_ours**2 + std_theirs**2)``. The result
    is a tie when ``|mean| <= max(tolerance, spread)``.

    Parameters
    ----------
    ours, theirs : sequence of float
        One value per seed of each model.
    tolerance : float, default=0.05
        The smallest difference that can count (0.05 dB for SNR and LSD).
    higher_is_better : bool, default=True
        True for SNR, False for LSD.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> compare([10.03, 10.03, 10.03], [10.0, 10.0, 10.0]).label
    'tie'
    >>> compare([11.0, 11.1, 10.9], [10.0, 10.1, 9.9]).label
    'better'
    """
    a, b = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    if a.size == b.size:
        diff = summarise(a - b)
    else:
        sa, sb = summarise(a), summarise(b)
        diff = Summary(sa.mean - sb.mean, math.hypot(sa.std, sb.std), min(sa.n, sb.n))
    if not math.isfinite(diff.mean) or abs(diff.mean) <= max(tolerance, diff.std):
        label = "tie"
    else:
        label = "better" if (diff.mean > 0) == higher_is_better else "worse"
    return Comparison(diff.mean, diff.std, diff.n, label)


# --------------------------------------------------------------------------- data
@dataclass
class Split:
    """Training, validation and test signals at 16 kHz; ``*_labels`` name the source of
    each validation and test signal (the voice, or the piece)."""

    train: list[np.ndarray]
    valid: list[np.ndarray]
    test: list[np.ndarray]
    valid_labels: list[str]
    test_labels: list[str]
    description: str


def load_speech_split(max_files: int | None, max_test_files: int, quick: bool) -> Split:
    """The speaker split of ``benchmarks/pretrain.py``: three training voices (every
    ``VALIDATION_EVERY``-th prompt held out for validation) and an unseen test voice."""
    from tsfilm.datasets import load_speech

    held = 3 if quick else VALIDATION_EVERY
    train, valid, valid_labels = [], [], []
    for voice in SPEECH_TRAIN:
        signals = load_speech(voice, max_files=max_files).signals
        for i, s in enumerate(signals):
            if i % held == held // 2:
                valid.append(s)
                valid_labels.append(voice)
            else:
                train.append(s)
    test = list(load_speech(SPEECH_TEST, max_files=max_test_files).signals)
    description = (
        f"speech: train {len(train)} prompts of {', '.join(SPEECH_TRAIN)} (validation: "
        f"{len(valid)} held-out prompts of the same voices); test {len(test)} prompts of "
        f"{SPEECH_TEST} (unseen)"
    )
    return Split(train, valid, test, valid_labels, [SPEECH_TEST] * len(test), description)


def load_recipe_split(max_files: int | None, max_valid_files: int) -> Split:
    """Speech for choosing the recipe without the test voice: train on two of the training
    voices, score on the third (``RECIPE_VALID``), a voice the models never heard."""
    from tsfilm.datasets import load_speech

    voices = [v for v in SPEECH_TRAIN if v != RECIPE_VALID]
    train = [s for v in voices for s in load_speech(v, max_files=max_files).signals]
    valid = list(load_speech(RECIPE_VALID, max_files=max_valid_files).signals)
    description = (
        f"speech for the recipe: train {len(train)} prompts of {', '.join(voices)}; scored "
        f"on {len(valid)} prompts of {RECIPE_VALID} (a validation voice, unseen in "
        f"training; the test voice {SPEECH_TEST} is not used)"
    )
    return Split(train, [], valid, [], [RECIPE_VALID] * len(valid), description)


def load_piano_split(n_pieces: int, seconds: float) -> Split:
    """The piece split of ``benchmarks/pretrain.py``: every fourth piece for testing, the
    first of the others at position 3 (mod 4) for validation, the rest for training."""
    from tsfilm.datasets import load_piano

    data = load_piano(n_pieces=n_pieces, max_seconds=seconds)
    pieces = [str(p) for p in data.piece]
    test_idx = [i for i in range(len(pieces)) if i % 4 == 1]
    valid_idx = [i for i in range(len(pieces)) if i % 4 == 3][:1]
    train_idx = [i for i in range(len(pieces)) if i not in test_idx + valid_idx]
    description = (
        f"piano: train {len(train_idx)} pieces, validation {len(valid_idx)}, test "
        f"{len(test_idx)} unseen pieces ({', '.join(pieces[i] for i in test_idx)}), at most "
        f"{seconds:g} s each"
    )
    return Split(
        [data.signals[i] for i in train_idx],
        [data.signals[i] for i in valid_idx],
        [data.signals[i] for i in test_idx],
        [pieces[i] for i in valid_idx],
        [pieces[i] for i in test_idx],
        description,
    )


# --------------------------------------------------------------------------- models
@dataclass
class Trained:
    """A fitted estimator with its training seconds and epochs."""

    est: Any
    seconds: float
    epochs: int
    params: int
    tag: str | None = None  # where --resume finds it (and its scores)


@dataclass
class Context:
    """The settings of a run and what it has loaded and trained so far."""

    args: argparse.Namespace
    seeds: list[int]
    seconds: float  # training budget per model and seed
    network: dict[str, Any]
    dnn: dict[str, Any]
    data: dict[str, Split] = field(default_factory=dict)
    models: dict[tuple, Trained] = field(default_factory=dict)
    scores: dict[tuple, dict[str, float]] = field(default_factory=dict)

    @property
    def settings(self) -> dict[str, Any]:
        """What a saved model depends on besides its key: a model saved under other
        settings is never reused by ``--resume``."""
        a = self.args
        return {
            "seconds": self.seconds,
            "network": self.network,
            "dnn": self.dnn,
            "threads": a.threads,
            "quick": a.quick,
            "data": [a.max_files, a.max_test_files, a.piano_pieces, a.piano_seconds],
            # Budgets are wall-clock: models trained on another CPU are not comparable.
            "cpu": _machine(),
            "versions": _versions(),
        }

    def saved(self, tag: str, suffix: str) -> Path:
        """Where ``--resume`` finds what the run saved under ``tag`` (models, curves)."""
        return self.args.out / "runs" / f"{tag}{suffix}"

    def load_saved(self, tag: str) -> dict[str, Any] | None:
        """The record saved under ``tag`` with these settings, if ``--resume``."""
        path = self.saved(tag, ".json")
        if not (self.args.resume and path.is_file()):
            return None
        record = json.loads(path.read_text())
        return record if record.get("settings") == json.loads(json.dumps(self.settings)) else None

    def save_record(self, tag: str, record: dict[str, Any]) -> None:
        path = self.saved(tag, ".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.saved(tag, f".json.{os.getpid()}.tmp")  # processes may share runs/
        tmp.write_text(json.dumps({**record, "settings": self.settings}, indent=1))
        tmp.replace(path)

    def split(self, name: str) -> Split:
        if name not in self.data:
            a = self.args
            log(f"loading {name}")
            if name == "speech":
                self.data[name] = load_speech_split(a.max_files, a.max_test_files, a.quick)
            elif name == RECIPE_DATA:
                self.data[name] = load_recipe_split(a.max_files, a.max_test_files)
            else:
                self.data[name] = load_piano_split(a.piano_pieces, a.piano_seconds)
            log(self.data[name].description)
        return self.data[name]


def _machine() -> str:
    """The CPU's model name and vector extensions (one name covers several generations)."""
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    wide = sorted(f for f in flags if f.startswith(("avx512", "amx")) or f == "avx2")
    return " ".join([cpu_name(), *wide])


def _versions() -> list[str]:
    import torch

    import tsfilm

    return [tsfilm.__version__, torch.__version__]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def build(ctx: Context, name: str, ratio: int, seed: int, lowpass: bool = True, **extra: Any):
    """A fresh estimator of the registry (``spline``, ``dnn``, ``conv``, ``tfilm``)."""
    from tsfilm.registry import make_model

    common = {"ratio": ratio, "lowpass": lowpass}
    if name == "spline":
        return make_model("spline", task="super_resolution", **common)
    engine = {
        "max_epochs": 100_000,
        "max_time": ctx.seconds,
        "patience": None,
        "validation_fraction": 0.0,
        "n_threads": ctx.args.threads,
        "random_state": seed,
        "verbose": 0,
        "warm_start": False,
        "sample_rate": RATE,
    }
    if name == "dnn":
        params = dict(ctx.dnn)
    else:
        params = dict(ctx.network)
        if name == "conv":  # the same U-Net without TFiLM layers, so no block length
            del params["block_length"]
    params.update(extra)
    return make_model(name, task="super_resolution", **common, **engine, **params)


def _train_signals(signals: list[np.ndarray], ratio: int, patch: int) -> list[np.ndarray]:
    """Training signals at least one patch long (all those long enough to degrade if none
    is), so every patch has the intended length."""
    from tsfilm.preprocessing import min_length_for_lowpass

    shortest = min_length_for_lowpass(ratio)
    usable = [s for s in signals if s.shape[-1] >= shortest]
    long = [s for s in usable if s.shape[-1] >= patch]
    return long or usable


def _parameters(est: Any) -> int:
    module = getattr(est, "module_", None)
    return 0 if module is None else int(sum(p.numel() for p in module.parameters()))


def train(
    ctx: Context,
    name: str,
    data: str,
    ratio: int,
    seed: int,
    lowpass: bool = True,
    **extra: Any,
) -> Trained:
    """Fit (once per run) a model on ``data``'s training signals degraded with ``lowpass``."""
    key = (name, data, ratio, seed, lowpass, tuple(sorted(extra.items())))
    if key in ctx.models:
        return ctx.models[key]
    import tsfilm
    from tsfilm.preprocessing import degrade

    tag = "-".join(
        [name, data, f"r{ratio}", f"seed{seed}", "lowpass" if lowpass else "no-lowpass"]
        + [f"{k}={v}" for k, v in sorted(extra.items())]
    )
    record = ctx.load_saved(tag) if name != "spline" else None
    model_file = ctx.saved(tag, ".tsfilm")
    if record is not None and model_file.is_file():
        est = tsfilm.load(model_file)
        trained = Trained(est, record["seconds"], record["epochs"], record["params"], tag)
        ctx.models[key] = trained
        log(f"reusing {tag} (--resume)")
        return trained
    est = build(ctx, name, ratio, seed, lowpass, **extra)
    patch = int(getattr(est, "patch_length", 1))
    high = _train_signals(ctx.split(data).train, ratio, patch)
    low = [degrade(s, ratio, lowpass=lowpass) for s in high]
    start = time.perf_counter()
    est.fit(low, high)
    seconds = time.perf_counter() - start
    trained = Trained(est, seconds, int(getattr(est, "n_epochs_", 0)), _parameters(est))
    trained.tag = tag if name != "spline" else None
    if name != "dnn":  # the U-Nets are reused by other experiments; the DNN never is
        ctx.models[key] = trained
    if name != "spline":  # saved for a later --resume
        model_file.parent.mkdir(parents=True, exist_ok=True)
        est.save(model_file)
        record = {"seconds": seconds, "epochs": trained.epochs, "params": trained.params}
        ctx.save_record(tag, record)
        log(f"trained {name} {extra or ''} on {data}, r={ratio}, lowpass={lowpass}, seed {seed}")
    return trained


def evaluate(est: Any, ratio: int, signals: list[np.ndarray], lowpass: bool) -> dict[str, float]:
    """Mean SNR (dB) and LSD over the ``signals`` long enough to degrade, degraded with or
    without the low-pass filter (:func:`pretrain.evaluate`)."""
    from tsfilm.preprocessing import min_length_for_lowpass

    signals = [s for s in signals if s.shape[-1] >= min_length_for_lowpass(ratio)]
    return evaluate_predictions(est.predict, ratio, signals, lowpass=lowpass)


def result(
    ctx: Context,
    experiment: str,
    setting: str,
    model: str,
    name: str,
    data: str,
    test: str,
    ratio: int,
    seed: int,
    train_lowpass: bool = True,
    test_lowpass: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """Train (or reuse) a model and score it on ``test``'s test signals: one CSV row."""
    trained = train(ctx, name, data, ratio, seed, train_lowpass, **extra)
    key = (name, data, ratio, seed, train_lowpass, tuple(sorted(extra.items())), test)
    key += (test_lowpass,)
    if key not in ctx.scores:
        # Scores are saved with the model: a --resume run need not predict again.
        record = ctx.load_saved(trained.tag) if trained.tag else None
        scored = f"{test}, lowpass={test_lowpass}"
        if record is not None and scored in record.get("scores", {}):
            ctx.scores[key] = record["scores"][scored]
        else:
            ctx.scores[key] = evaluate(trained.est, ratio, ctx.split(test).test, test_lowpass)
            if trained.tag:
                record = json.loads(ctx.saved(trained.tag, ".json").read_text())
                record.pop("settings", None)
                record.setdefault("scores", {})[scored] = ctx.scores[key]
                ctx.save_record(trained.tag, record)
    return {
        "experiment": experiment,
        "setting": setting,
        "model": model,
        "train_data": data if name != "spline" else "-",
        "test_data": test,
        "ratio": ratio,
        "train_lowpass": train_lowpass if name != "spline" else "-",
        "test_lowpass": test_lowpass,
        "seed": seed,
        **ctx.scores[key],
        "train_seconds": round(trained.seconds, 2),
        "epochs": trained.epochs,
        "params": trained.params,
    }


# --------------------------------------------------------------------------- markdown
def _ordered(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _by_seed(rows: list[dict], setting: str, model: str, metric: str) -> dict[int, float]:
    return {
        int(r["seed"]): float(r[metric])
        for r in rows
        if r["setting"] == setting and r["model"] == model
    }


def results_table(rows: list[dict]) -> list[str]:
    """Mean ± std over seeds of every setting and model."""
    lines = [
        "| setting | model | SNR (dB) | LSD (dB) | train s | epochs | seeds |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for setting in _ordered(r["setting"] for r in rows):
        for model in _ordered(r["model"] for r in rows if r["setting"] == setting):
            chosen = [r for r in rows if r["setting"] == setting and r["model"] == model]
            snr_ = summarise(r["snr"] for r in chosen)
            lsd_ = summarise(r["lsd"] for r in chosen)
            seconds = summarise(r["train_seconds"] for r in chosen).mean
            epochs = summarise(r["epochs"] for r in chosen).mean
            lines.append(
                f"| {setting} | {model} | {snr_} | {lsd_} | {seconds:.0f} | {epochs:.1f} | "
                f"{snr_.n} |"
            )
    return lines


def comparison_table(rows: list[dict], ours: str, others: Sequence[str] | None = None) -> list[str]:
    """``ours`` against every other model of each setting: paired per-seed differences."""
    lines = [
        f"| setting | {ours} vs | ΔSNR (dB) | SNR | ΔLSD (dB) | LSD |",
        "|---|---|---:|---|---:|---|",
    ]
    for setting in _ordered(r["setting"] for r in rows):
        models = _ordered(r["model"] for r in rows if r["setting"] == setting)
        if ours not in models:
            continue
        for other in models:
            if other == ours or (others is not None and other not in others):
                continue
            cells = []
            for metric, higher in (("snr", True), ("lsd", False)):
                a = _by_seed(rows, setting, ours, metric)
                b = _by_seed(rows, setting, other, metric)
                seeds = sorted(set(a) & set(b))
                if seeds:
                    c = compare(
                        [a[s] for s in seeds], [b[s] for s in seeds], higher_is_better=higher
                    )
                else:
                    c = compare(list(a.values()), list(b.values()), higher_is_better=higher)
                verdict = "tie" if c.label == "tie" else f"{ours} {c.label}"
                cells += [str(c), verdict]
            lines.append(f"| {setting} | {other} | {' | '.join(cells)} |")
    return lines


def header(ctx: Context, title: str, paper: str, data: Sequence[str]) -> list[str]:
    a = ctx.args
    seeds = ", ".join(map(str, ctx.seeds))
    network = ", ".join(f"{k}={v}" for k, v in ctx.network.items())
    lines = [
        f"# {title}",
        "",
        paper,
        "",
        f"Seeds {seeds}; {ctx.seconds:g} s of training per model and seed on "
        f"{a.threads} thread(s); U-Net {'quick' if a.quick else a.size} ({network}).",
    ]
    lines += [f"Data: {ctx.split(name).description}." for name in data]
    lines += [
        "",
        "Mean ± standard deviation over the seeds; SNR higher and LSD lower are better. A "
        f"difference is the mean ± standard deviation of the per-seed differences; **tie** "
        f"when its size is at most max({TOLERANCE_DB} dB, its standard deviation).",
        "",
    ]
    if a.quick:
        lines += ["*Quick run: a tiny network trained for seconds; the numbers mean nothing.*", ""]
    return lines


def write_outputs(ctx: Context, name: str, rows: list[dict], markdown: list[str]) -> None:
    out: Path = ctx.args.out
    out.mkdir(parents=True, exist_ok=True)
    with (out / f"{name}.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / f"{name}.md").write_text("\n".join(markdown) + "\n")
    log(f"wrote {out / name}.csv and .md")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    from tsfilm.plotting import save_figure

    save_figure(fig, path)
    log(f"wrote {path}")


# --------------------------------------------------------------------------- experiments
def grid(
    ctx: Context, experiment: str, variants: Sequence[tuple[str, str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Rows of every (label, registry name, extra parameters) variant, trained and tested
    on each data set at each ``--ratios``, for every seed.

    Seeds outside, variants inside: a change in the machine's load during the run falls
    on every variant alike, not on whichever trained last.
    """
    rows = []
    for data in ("speech", "piano"):
        for ratio in ctx.args.ratios:
            setting = f"{data} r={ratio}"
            for seed in ctx.seeds:
                for label, name, extra in variants:
                    rows.append(
                        result(
                            ctx, experiment, setting, label, name, data, data, ratio, seed, **extra
                        )
                    )
    return rows


def run_sr(ctx: Context) -> None:
    rows = grid(ctx, "sr", [(LABELS[name], name, {}) for name in MODELS])
    md = header(
        ctx,
        "Audio super-resolution (the main table)",
        "Paper (VCTK multispeaker, TFiLM): r=2 19.8 dB / LSD 1.8, r=4 15.0 / 2.7; piano r=4 "
        "19.3 / 2.2. Here speech is tested on an unseen voice and piano on unseen pieces.",
        ("speech", "piano"),
    )
    md += ["## Results", "", *results_table(rows), "", "## TFiLM against the others", ""]
    md += comparison_table(rows, "TFiLM")
    write_outputs(ctx, "sr", rows, md)
    plot_bars(rows, ctx.args.out / "sr.png")


def plot_bars(rows: list[dict], path: Path) -> None:
    """SNR and LSD of every model and setting: bars at the mean, error bars of one std."""
    plt = _pyplot()
    settings = _ordered(r["setting"] for r in rows)
    models = _ordered(r["model"] for r in rows)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    width = 0.8 / len(models)
    x = np.arange(len(settings))
    for ax, metric, unit in zip(axes, ("snr", "lsd"), ("SNR (dB)", "LSD (dB)"), strict=True):
        for i, model in enumerate(models):
            stats = [
                summarise(
                    r[metric] for r in rows if r["setting"] == setting and r["model"] == model
                )
                for setting in settings
            ]
            ax.bar(
                x + (i - (len(models) - 1) / 2) * width,
                [s.mean for s in stats],
                width,
                yerr=[s.std for s in stats],
                capsize=3,
                label=model,
            )
        ax.set_xticks(x, settings)
        if metric == "snr":  # SNRs differ by tenths of a dB: do not start the axis at 0
            values = [r["snr"] for r in rows]
            ax.set_ylim(min(values) - 1.0, max(values) + 0.5)
        ax.set_ylabel(unit)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize="small")
    n = len(_ordered(r["seed"] for r in rows))
    fig.suptitle(f"Super-resolution on unseen data, mean ± std over {n} seeds")
    _save(fig, path)


def run_bilstm(ctx: Context) -> None:
    variants = [("TFiLM (LSTM)", "tfilm", {}), ("TFiLM (BiLSTM)", "tfilm", {"rnn": "bilstm"})]
    rows = grid(ctx, "bilstm", variants)
    md = header(
        ctx,
        "TFiLM with an LSTM or a bidirectional LSTM (Table 6)",
        "Paper (SNR, LSTM vs BiLSTM): single speaker r=4 16.8 vs 16.9, piano r=4 19.3 vs "
        "20.5, multispeaker r=2 19.8 vs 19.6, r=4 15.0 vs 15.1: a minor benefit at most.",
        ("speech", "piano"),
    )
    md += ["## Results", "", *results_table(rows), "", "## BiLSTM against LSTM", ""]
    md += comparison_table(rows, "TFiLM (BiLSTM)")
    write_outputs(ctx, "bilstm", rows, md)


def run_lowpass(ctx: Context) -> None:
    rows = []
    ratio = 2
    for train_lp in (True, False):
        for test_lp in (True, False):
            setting = (
                f"train {'LPF' if train_lp else 'no LPF'}, test {'LPF' if test_lp else 'no LPF'}"
            )
            for seed in ctx.seeds:
                rows.append(
                    result(
                        ctx,
                        "lowpass",
                        setting,
                        "TFiLM",
                        "tfilm",
                        "piano",
                        "piano",
                        ratio,
                        seed,
                        train_lp,
                        test_lp,
                    )
                )
                rows.append(
                    result(
                        ctx,
                        "lowpass",
                        setting,
                        "cubic spline",
                        "spline",
                        "piano",
                        "piano",
                        ratio,
                        seed,
                        train_lp,
                        test_lp,
                    )
                )
    md = header(
        ctx,
        "Low-pass filter mismatch between training and test (Table 8)",
        "Piano, r = 2. Paper (SNR dB / LSD): train LPF: test LPF 30.1 / 3.4, test no LPF "
        "0.42 / 4.5; train no LPF: test LPF 0.43 / 4.4, test no LPF 33.2 / 3.3. The spline "
        "needs no training; its rows differ only by the test input.",
        ("piano",),
    )
    md += ["## Results", "", *results_table(rows), "", "## TFiLM against the spline", ""]
    md += comparison_table(rows, "TFiLM")
    md += ["", "## TFiLM: train (rows) by test (columns)", ""]
    md += matrix(rows, "TFiLM", ("LPF", "no LPF"), lambda tr, te: f"train {tr}, test {te}")
    write_outputs(ctx, "lowpass", rows, md)


def matrix(rows: list[dict], model: str, names: Sequence[str], setting_of: Any) -> list[str]:
    """A train × test table of SNR / LSD means ± std."""
    lines = [f"| train \\ test | {' | '.join(names)} |", "|---|" + "---:|" * len(names)]
    for tr in names:
        cells = []
        for te in names:
            chosen = [r for r in rows if r["setting"] == setting_of(tr, te) and r["model"] == model]
            snr_ = summarise(r["snr"] for r in chosen)
            lsd_ = summarise(r["lsd"] for r in chosen)
            cells.append(f"{snr_} / {lsd_}")
        lines.append(f"| {tr} | {' | '.join(cells)} |")
    return [*lines, "", "Each cell: SNR (dB) / LSD (dB)."]


def run_ood(ctx: Context) -> None:
    rows = []
    ratio = 4
    for data in ("piano", "speech"):
        for test in ("piano", "speech"):
            setting = f"train {data}, test {test}"
            for seed in ctx.seeds:
                rows.append(result(ctx, "ood", setting, "TFiLM", "tfilm", data, test, ratio, seed))
                rows.append(
                    result(ctx, "ood", setting, "cubic spline", "spline", data, test, ratio, seed)
                )
    md = header(
        ctx,
        "Out of distribution: piano to speech and back (Table 9)",
        "r = 4. Paper (SNR dB / LSD): train piano: test piano 23.5 / 3.6, test speech "
        "9.6 / 4.1; train speech: test piano 0.7 / 8.1, test speech 16.1 / 3.5.",
        ("piano", "speech"),
    )
    md += ["## Results", "", *results_table(rows), "", "## TFiLM against the spline", ""]
    md += comparison_table(rows, "TFiLM")
    md += ["", "## TFiLM: train (rows) by test (columns)", ""]
    md += matrix(rows, "TFiLM", ("piano", "speech"), lambda tr, te: f"train {tr}, test {te}")
    write_outputs(ctx, "ood", rows, md)


ABLATIONS: dict[str, dict[str, Any]] = {
    "full": {},
    "no residual": {"residual": False},
    "no skip": {"skip": False},
}


def run_ablation(ctx: Context) -> None:
    """Train each variant in chunks, scoring validation prompts after every chunk."""
    from tsfilm.preprocessing import degrade

    ratio, data = 4, "speech"
    split = ctx.split(data)
    n_chunks = QUICK_CHUNKS if ctx.args.quick else CHUNKS
    rows, curve = [], []
    for variant, extra in ABLATIONS.items():
        for seed in ctx.seeds:
            tag = f"ablation-{variant}-seed{seed}".replace(" ", "_")
            record = ctx.load_saved(tag)
            if record is not None:
                log(f"reusing {tag} (--resume)")
                curve += record["curve"]
                rows.append(record["row"])
                continue
            first = len(curve)
            est = build(ctx, "tfilm", ratio, seed, **extra)
            est.set_params(warm_start=True, max_time=ctx.seconds / n_chunks)
            high = _train_signals(split.train, ratio, est.patch_length)
            low = [degrade(s, ratio) for s in high]
            seconds = 0.0
            for chunk in range(1, n_chunks + 1):
                start = time.perf_counter()
                est.fit(low, high)
                seconds += time.perf_counter() - start
                valid = evaluate(est, ratio, split.valid, lowpass=True)
                curve.append(
                    {
                        "variant": variant,
                        "seed": seed,
                        "chunk": chunk,
                        "train_seconds": round(seconds, 2),
                        "epochs": est.n_epochs_,
                        "valid_snr": valid["snr"],
                        "valid_lsd": valid["lsd"],
                    }
                )
            log(f"ablation {variant}, seed {seed}: validation SNR {valid['snr']:.2f} dB")
            test = evaluate(est, ratio, split.test, lowpass=True)
            rows.append(
                {
                    "experiment": "ablation",
                    "setting": f"{data} r={ratio}",
                    "model": variant,
                    "train_data": data,
                    "test_data": data,
                    "ratio": ratio,
                    "train_lowpass": True,
                    "test_lowpass": True,
                    "seed": seed,
                    **test,
                    "train_seconds": round(seconds, 2),
                    "epochs": est.n_epochs_,
                    "params": _parameters(est),
                }
            )
            ctx.save_record(tag, {"curve": curve[first:], "row": rows[-1]})
    spline = evaluate(train(ctx, "spline", data, ratio, 0).est, ratio, split.valid, lowpass=True)
    md = header(
        ctx,
        "Ablation of the residual and the skip connections (Figure 5)",
        "Speech, r = 4. Paper: without the symmetric skip connections the validation loss "
        "stays far higher; without the additive residual it is slightly higher.",
        ("speech",),
    )
    md += ["## Test on the unseen voice after the whole budget", "", *results_table(rows), ""]
    md += ["## Full model against the ablations", "", *comparison_table(rows, "full"), ""]
    md += [
        "## Validation SNR (dB) after each chunk",
        "",
        f"Cubic spline on the same prompts: {spline['snr']:.2f} dB.",
        "",
        "| chunk | " + " | ".join(f"{v} (s) | {v}" for v in ABLATIONS) + " |",
        "|---:|" + "---:|---:|" * len(ABLATIONS),
    ]
    for chunk in range(1, n_chunks + 1):
        cells = []
        for variant in ABLATIONS:
            points = [p for p in curve if p["variant"] == variant and p["chunk"] == chunk]
            cells.append(f"{summarise(p['train_seconds'] for p in points).mean:.0f}")
            cells.append(str(summarise(p["valid_snr"] for p in points)))
        lines = f"| {chunk} | {' | '.join(cells)} |"
        md.append(lines)
    write_outputs(ctx, "ablation", rows, md)
    out: Path = ctx.args.out
    with (out / "ablation_curves.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(curve[0]))
        writer.writeheader()
        writer.writerows(curve)
    plot_curves(curve, spline["snr"], n_chunks, out / "ablation_curves.png")


def plot_curves(curve: list[dict], spline_snr: float, n_chunks: int, path: Path) -> None:
    """Validation SNR against training seconds: mean over seeds and a band of one std."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
    seeds = 0
    for variant in _ordered(p["variant"] for p in curve):
        stats = []
        for chunk in range(1, n_chunks + 1):
            points = [p for p in curve if p["variant"] == variant and p["chunk"] == chunk]
            seeds = len(points)
            stats.append(
                (
                    summarise(p["train_seconds"] for p in points).mean,
                    summarise(p["valid_snr"] for p in points),
                )
            )
        x = np.array([s for s, _ in stats])
        mean = np.array([m.mean for _, m in stats])
        std = np.array([m.std for _, m in stats])
        (line,) = ax.plot(x, mean, marker="o", label=variant)
        ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    ax.axhline(spline_snr, color="grey", linestyle="--", label="cubic spline")
    ax.set_xlabel("training seconds")
    ax.set_ylabel("validation SNR (dB)")
    ax.set_title(f"Ablations, speech r = 4 (mean ± std over {seeds} seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    _save(fig, path)


def pooled_features(est: Any, ratio: int, signals: list[np.ndarray], window: int) -> list:
    """Activations after the last TFiLM layer of each signal, mean-pooled over windows of
    ``window`` high-rate samples: one array (n_windows, n_features) per signal, in the
    order of ``signals`` (a signal shorter than a window gives one row)."""
    import torch

    from tsfilm.preprocessing import degrade, spline_upsample

    module = est.module_
    module.eval()
    pooled = []
    with torch.no_grad():
        for s in signals:
            x = spline_upsample(degrade(s, ratio), ratio)[..., : s.shape[-1]]
            x = torch.from_numpy(est.normalize(x)).reshape(1, 1, -1)
            features = module.features(x)[0].float().numpy()  # (F, ceil(T / 2))
            step = max(window // 2, 1)
            n = features.shape[-1] // step
            if n:
                pooled.append(features[:, : n * step].reshape(len(features), n, step).mean(-1).T)
            else:  # a signal shorter than a window: one point, so the list stays aligned
                pooled.append(features.mean(-1)[None])
    return pooled


def _pick(arrays: list[np.ndarray], count: int) -> np.ndarray:
    """``count`` rows spread evenly over the rows of ``arrays`` (all if fewer)."""
    rows = np.concatenate(arrays)
    index = np.unique(np.linspace(0, len(rows) - 1, min(count, len(rows))).round().astype(int))
    return rows[index]


def knn_accuracy(X: np.ndarray, y: np.ndarray, k: int = 5) -> float:
    """Leave-one-out balanced accuracy of a k-nearest-neighbour vote (standardised X)."""
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    distance = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(distance, np.inf)
    neighbours = np.argsort(distance, axis=1)[:, : min(k, len(X) - 1)]
    labels = np.unique(y)
    votes = np.stack([(y[neighbours] == label).sum(1) for label in labels], axis=1)
    predicted = labels[votes.argmax(1)]
    return float(np.mean([np.mean(predicted[y == label] == label) for label in labels]))


def run_tsne(ctx: Context) -> None:
    from sklearn.manifold import TSNE

    from tsfilm.datasets import SPEECH_VOICES

    ratio, data = 4, "speech"
    split = ctx.split(data)
    window = int(ctx.network["patch_length"])
    per_gender = QUICK_TSNE_POINTS if ctx.args.quick else TSNE_POINTS
    signals = split.valid + split.test
    voices = split.valid_labels + split.test_labels
    genders = [SPEECH_VOICES[v].gender for v in voices]
    rows, panels = [], []
    for name in ("tfilm", "conv"):
        for seed in ctx.seeds:
            trained = train(ctx, name, data, ratio, seed)
            features = pooled_features(trained.est, ratio, signals, window)
            X, y = [], []
            for gender in sorted(set(genders)):
                mine = [f for f, g in zip(features, genders, strict=True) if g == gender]
                if mine:
                    picked = _pick(mine, per_gender)
                    X.append(picked)
                    y += [gender] * len(picked)
            X_all, y_all = np.concatenate(X), np.array(y)
            if not np.ptp(X_all, axis=0).any():
                # Every feature constant (its ReLUs never fire on these prompts): nothing
                # to embed, and t-SNE would crash on it; gender is read at chance.
                log(f"t-SNE: {LABELS[name]} seed {seed}: the activations are constant")
                accuracy, embedded = 0.5, np.zeros((len(X_all), 2))
            else:
                accuracy = knn_accuracy(X_all, y_all)
                perplexity = min(30.0, (len(X_all) - 1) / 3)
                embedded = TSNE(
                    n_components=2, perplexity=perplexity, init="pca", random_state=seed
                ).fit_transform((X_all - X_all.mean(0)) / (X_all.std(0) + 1e-8))
            panels.append((LABELS[name], seed, embedded, y_all, accuracy))
            rows.append(
                {
                    "experiment": "tsne",
                    "setting": f"{data} r={ratio}",
                    "model": LABELS[name],
                    "seed": seed,
                    "points": len(X_all),
                    "male_points": int((y_all == "male").sum()),
                    "gender_knn_accuracy": accuracy,
                    "train_seconds": round(trained.seconds, 2),
                    "epochs": trained.epochs,
                }
            )
    md = header(
        ctx,
        "t-SNE of the last TFiLM activations by speaker gender (Figure 4)",
        "Speech, r = 4. Paper: the male speakers are generally separated from the female ones.",
        ("speech",),
    )
    md += [
        "Points: windows of "
        f"{window} samples of the validation prompts of the (female) training voices and "
        f"of the test prompts of the (male, unseen) voice {SPEECH_TEST}, at most {per_gender} "
        "per gender, each the mean over time of the activations after the last TFiLM layer "
        "(for Conv, the same layer without modulation). Only one male voice is installed, "
        "so gender here is also seen against unseen speaker.",
        "",
        "| model | gender 5-NN balanced accuracy | seeds |",
        "|---|---:|---:|",
    ]
    accuracies = {}
    for model in ("TFiLM", "Conv"):
        values = [r["gender_knn_accuracy"] for r in rows if r["model"] == model]
        accuracies[model] = values
        md.append(f"| {model} | {summarise(values)} | {len(values)} |")
    c = compare(accuracies["TFiLM"], accuracies["Conv"], tolerance=TOLERANCE_ACCURACY)
    verdict = "tie" if c.label == "tie" else f"TFiLM {c.label}"
    md += [
        "",
        f"TFiLM - Conv: {c} ({verdict}; tie when at most max({TOLERANCE_ACCURACY}, std)).",
    ]
    write_outputs(ctx, "tsne", rows, md)
    plot_tsne(panels, len(ctx.seeds), ctx.args.out / "tsne.png")


def plot_tsne(panels: list[tuple], n_seeds: int, path: Path) -> None:
    plt = _pyplot()
    models = _ordered(p[0] for p in panels)
    fig, axes = plt.subplots(
        len(models),
        n_seeds,
        figsize=(3.2 * n_seeds, 3.0 * len(models)),
        layout="constrained",
        squeeze=False,
    )
    colours = {"male": "tab:blue", "female": "tab:red"}
    for model, seed, embedded, y, accuracy in panels:
        ax = axes[models.index(model), [p[1] for p in panels if p[0] == model].index(seed)]
        for gender in sorted(set(y)):
            chosen = y == gender
            ax.scatter(*embedded[chosen].T, s=8, alpha=0.7, c=colours.get(gender), label=gender)
        ax.set_title(f"{model}, seed {seed} (5-NN acc. {accuracy:.2f})", fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].legend(fontsize="small")
    fig.suptitle("t-SNE of the last TFiLM activations (speech, r = 4) by speaker gender")
    _save(fig, path)


#: The recipe's data: two training voices, scored on the third.
RECIPE_DATA, RECIPE_VALID = "speech-recipe", "ru_RU_f_IvrvoiceRU"
#: Training settings tried against the shipped recipe (``pretrain.NETWORK``), one at a time.
RECIPE: dict[str, dict[str, Any]] = {
    "shipped recipe": {},
    "learning rate 3e-3": {"learning_rate": 3e-3},
    "learning rate 3e-4": {"learning_rate": 3e-4},
    "patches of 8192": {"patch_length": 8192},
    "patches of 2048, batch 32": {"patch_length": 2048, "batch_size": 32},
    "batch 8": {"batch_size": 8},
    "blocks of 64": {"block_length": 64},
    "blocks of 256": {"block_length": 256},
    "dropout 0.5 (paper)": {"dropout": 0.5},
    "depth 5": {"depth": 5},
    "width 0.5": {"width": 0.5},
    "GRU": {"rnn": "gru"},
    "scale-only modulation": {"modulation": "scale"},
    "STFT loss, weight 0.1": {"stft_weight": 0.1},
    "STFT loss, weight 1": {"stft_weight": 1.0},
    "ReLU up path (paper)": {"up_activation": "relu"},
}
#: The Conv baseline under the shipped recipe and with the paper's ReLU up path: whether a
#: change helps TFiLM more than the network without it.
RECIPE_CONV: dict[str, dict[str, Any]] = {
    "Conv, shipped recipe": {},
    "Conv, ReLU up path": {"up_activation": "relu"},
}
QUICK_RECIPE = ("shipped recipe", "learning rate 3e-3", "blocks of 64")


def run_recipe(ctx: Context) -> None:
    """One change at a time against the shipped recipe, scored on a validation voice."""
    variants = [(label, "tfilm", RECIPE[label]) for label in QUICK_RECIPE]
    if not ctx.args.quick:
        variants = [(label, "tfilm", extra) for label, extra in RECIPE.items()]
        variants += [(label, "conv", extra) for label, extra in RECIPE_CONV.items()]
    part, parts = ctx.args.recipe_part
    variants = [*variants[part - 1 :: parts], ("cubic spline", "spline", {})]
    ratio, setting = 4, f"speech r=4, voice {RECIPE_VALID}"
    rows = []
    for seed in ctx.seeds:
        for label, name, extra in variants:
            rows.append(
                result(
                    ctx,
                    "recipe",
                    setting,
                    label,
                    name,
                    RECIPE_DATA,
                    RECIPE_DATA,
                    ratio,
                    seed,
                    **extra,
                )
            )
    if (part, parts) != (1, 1):
        log(f"recipe part {part}/{parts} trained; run it whole with --resume for the table")
        return
    md = header(
        ctx,
        "Training recipe: one change at a time",
        "TFiLM at r = 4 trained on two voices for the same wall-clock budget with one setting "
        "changed (and Conv, the same network without TFiLM, under the shipped recipe and with "
        f"the ReLU up path), scored on a third voice ({RECIPE_VALID}) so that the choice "
        "never sees the test voice.",
        (RECIPE_DATA,),
    )
    md += ["## Results", "", *results_table(rows), "", "## The shipped recipe against each", ""]
    md += comparison_table(rows, "shipped recipe")
    if not ctx.args.quick:
        md += ["", "## TFiLM against Conv with the paper's ReLU up path", ""]
        md += comparison_table(rows, "ReLU up path (paper)", ["Conv, ReLU up path"])
    write_outputs(ctx, "recipe", rows, md)


RUNNERS = {
    "sr": run_sr,
    "bilstm": run_bilstm,
    "lowpass": run_lowpass,
    "ood": run_ood,
    "ablation": run_ablation,
    "tsne": run_tsne,
    "recipe": run_recipe,
}


# --------------------------------------------------------------------------- command line
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--experiment",
        nargs="+",
        choices=(*EXPERIMENTS, "all"),
        required=True,
        help="one or more experiments, or all",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=None,
        help="a count (one number: seeds 0..N-1) or the seeds themselves (default 3; 2 quick)",
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="training per model and seed (default 3; 0.025 with --quick)",
    )
    parser.add_argument(
        "--size", choices=sorted(SIZES), default="small", help="U-Net size (--quick: tinier)"
    )
    parser.add_argument("--ratios", nargs="+", type=int, default=[2, 4], help="for sr, bilstm")
    parser.add_argument(
        "--max-files", type=int, default=None, help="per speech training voice (default all)"
    )
    parser.add_argument(
        "--max-test-files", type=int, default=None, help=f"default {SPEECH_TEST_FILES}"
    )
    parser.add_argument("--piano-pieces", type=int, default=None, help=f"default {PIANO_PIECES}")
    parser.add_argument(
        "--piano-seconds", type=float, default=None, help=f"default {PIANO_SECONDS:g}"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--out", type=Path, default=Path("paper-results"))
    parser.add_argument("--quick", action="store_true", help="tiny network and data, seconds")
    part_help = (
        "K/N: train only every N-th recipe variant from the K-th (parallel processes, one "
        "thread each, then one run of all with --resume for the whole table)"
    )
    parser.add_argument("--recipe-part", default="1/1", help=part_help)
    resume_help = "reuse the models (and ablation curves) a run with the same settings saved"
    parser.add_argument("--resume", action="store_true", help=resume_help)
    args = parser.parse_args(argv)
    try:
        part, parts = (int(v) for v in args.recipe_part.split("/"))
    except ValueError:
        parser.error(f"--recipe-part must be K/N, got {args.recipe_part!r}")
    if not 1 <= part <= parts:
        parser.error(f"--recipe-part {args.recipe_part}: K must be between 1 and N")
    args.recipe_part = (part, parts)
    if parts > 1 and args.experiment != ["recipe"]:
        parser.error("--recipe-part splits --experiment recipe alone")
    if "all" in args.experiment:
        args.experiment = list(EXPERIMENTS)
    args.experiment = _ordered(args.experiment)
    if args.seeds is None:
        args.seeds = [2 if args.quick else 3]
    seeds = list(range(args.seeds[0])) if len(args.seeds) == 1 else args.seeds
    if len(set(seeds)) != len(seeds):
        parser.error("--seeds repeats a seed")
    if len(seeds) < (2 if args.quick else 3):
        parser.error("--seeds: at least 3 seeds (2 with --quick), so that the spread is known")
    args.seed_list = seeds
    if args.minutes is None:
        args.minutes = 0.025 if args.quick else 3.0
    if args.minutes <= 0:
        parser.error("--minutes must be positive")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    if any(r < 2 for r in args.ratios):
        parser.error("--ratios must be at least 2")
    quick = args.quick
    if args.max_files is None:
        args.max_files = 6 if quick else None
    if args.max_test_files is None:
        args.max_test_files = 4 if quick else SPEECH_TEST_FILES
    if args.piano_pieces is None:
        args.piano_pieces = 4 if quick else PIANO_PIECES
    if args.piano_seconds is None:
        args.piano_seconds = 5.0 if quick else PIANO_SECONDS
    if args.piano_pieces < 4:
        parser.error("--piano-pieces must be at least 4 (training, validation and test pieces)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    if args.quick:
        network = dict(QUICK_UNET)
        dnn = {**QUICK_DNN, "batch_size": 64, "learning_rate": network["learning_rate"]}
    else:
        # The shipped recipe's TFiLM blocks (128 samples) at every size, as in the tables.
        network = {**NETWORK, **SIZES[args.size], "block_length": NETWORK["block_length"]}
        if args.size == "paper":
            network["patch_length"] = 8192
        dnn = {**DNN_SIZES[args.size], "batch_size": 64, "learning_rate": NETWORK["learning_rate"]}
    ctx = Context(args, args.seed_list, 60 * args.minutes, network, dnn)
    start = time.perf_counter()
    for experiment in args.experiment:
        log(f"experiment {experiment}")
        RUNNERS[experiment](ctx)
    log(f"done in {time.perf_counter() - start:.0f} s; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
