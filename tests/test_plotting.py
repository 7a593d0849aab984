"""Tests for tsfilm.plotting (Agg backend, tiny inputs)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tsfilm.plotting import (  # noqa: E402
    plot_embedding,
    plot_imputation,
    plot_learning_curves,
    plot_spectrograms,
    save_figure,
)

RATE = 8000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _tone(freq: float, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return np.sin(2 * np.pi * freq * t)


def _history(n: int, valid: bool = True, **extra) -> list[dict]:
    return [
        {
            "epoch": e,
            "train_loss": 1.0 / e,
            "valid_loss": 1.2 / e if valid else None,
            "seconds": 0.1,
            **{k: v * e for k, v in extra.items()},
        }
        for e in range(1, n + 1)
    ]


class _Fitted:
    def __init__(self, history):
        self.history_ = history


# ----------------------------------------------------------------------- spectrograms
def test_spectrograms_one_image_per_signal_on_a_shared_scale():
    signals = {"low-rate": _tone(300), "spline": _tone(300) * 0.5, "original": _tone(3000)}
    fig = plot_spectrograms(signals, RATE, n_fft=256, title="speech: r = 4")
    assert isinstance(fig, Figure)
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == list(signals)
    assert len(fig.axes) == len(signals) + 1  # and a colour bar
    assert fig.get_suptitle() == "speech: r = 4"
    limits = {ax.images[0].get_clim() for ax in panels}
    assert len(limits) == 1
    low, high = limits.pop()
    assert high - low == pytest.approx(80.0)
    # Frequency in kHz up to Nyquist, time in seconds.
    assert panels[0].get_ylim()[1] == pytest.approx(RATE / 2 / 1000)
    assert "kHz" in panels[0].get_ylabel() and "s" in panels[0].get_xlabel()


def test_spectrograms_put_a_tone_in_its_frequency_row():
    fig = plot_spectrograms({"tone": _tone(1000)}, RATE, n_fft=256)
    image = fig.axes[0].images[0].get_array()
    # Bins are RATE / n_fft = 31.25 Hz apart: 1 kHz is row 32.
    assert int(np.argmax(image.mean(axis=1))) == 32


def test_spectrograms_accept_a_channel_axis_and_given_axes():
    fig, axes = plt.subplots(1, 2)
    out = plot_spectrograms({"a": _tone(200)[None, :], "b": _tone(400)}, RATE, axes=axes, n_fft=128)
    assert out is fig
    assert all(len(ax.images) == 1 for ax in axes)


@pytest.mark.parametrize(
    ("signals", "kwargs", "message"),
    [
        ({}, {}, "non-empty dict"),
        ({"a": np.zeros(100)}, {"n_fft": 256}, "fewer than n_fft=256"),
        ({"a": np.zeros((2, 1000))}, {"n_fft": 64}, "one mono signal"),
        ({"a": np.full(1000, np.nan)}, {"n_fft": 64}, "NaN"),
        (
            {"a": np.zeros(1000)},
            {"n_fft": 64, "rate": 0},
            r"'rate' .* must be an int in the range \[1",
        ),
    ],
)
def test_spectrograms_bad_input(signals, kwargs, message):
    kwargs = {"rate": RATE, **kwargs}
    with pytest.raises(ValueError, match=message):
        plot_spectrograms(signals, **kwargs)


def test_spectrograms_axes_must_match_signals():
    _, axes = plt.subplots(1, 3)
    with pytest.raises(ValueError, match="axes has 3 entries for 2 signals"):
        plot_spectrograms({"a": _tone(100), "b": _tone(100)}, RATE, axes=axes, n_fft=64)


def test_spectrograms_mark_the_cutoff_and_show_the_band_above_it_on_its_own_scale():
    # A loud low tone and a band 50 dB weaker above the cutoff, as a network adds it.
    signals = {"low-rate": _tone(500), "tfilm": _tone(500) + 0.003 * _tone(3000)}
    fig = plot_spectrograms(signals, RATE, n_fft=256, cutoff=1000, band=True, title="r = 4")
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 4 and len(fig.axes) == 4 + 2  # two rows, two colour bars
    assert [ax.get_title() for ax in panels] == ["low-rate", "tfilm", *["above 1 kHz"] * 2]
    for ax in panels:  # the dashed line at the cutoff, in kHz
        (line,) = ax.lines
        assert line.get_linestyle() == "--"
        np.testing.assert_allclose(line.get_ydata(), [1.0, 1.0])
    full = {ax.images[0].get_clim() for ax in panels[:2]}
    band = {ax.images[0].get_clim() for ax in panels[2:]}
    assert len(full) == 1 and len(band) == 1
    (full_low, full_high), (band_low, band_high) = full.pop(), band.pop()
    assert full_high - full_low == pytest.approx(80.0)
    assert band_high - band_low == pytest.approx(80.0)
    # The band's scale starts at the band's own loudest bin, about 50 dB below the tone.
    assert 40 < full_high - band_high < 60
    for ax in panels[2:]:
        assert ax.get_ylim() == pytest.approx((1.0, RATE / 2 / 1000))
    assert panels[0].get_ylim() == pytest.approx((0.0, RATE / 2 / 1000))


def test_spectrograms_band_takes_two_axes_per_signal():
    fig, axes = plt.subplots(2, 2)
    out = plot_spectrograms(
        {"a": _tone(200), "b": _tone(400)},
        RATE,
        axes=axes.ravel(),
        n_fft=128,
        cutoff=500,
        band=True,
    )
    assert out is fig and all(len(ax.images) == 1 for ax in axes.ravel())
    with pytest.raises(ValueError, match="two each"):
        plot_spectrograms(
            {"a": _tone(200)}, RATE, axes=axes[0][:1], n_fft=128, cutoff=500, band=True
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"band": True}, "band=True needs cutoff"),
        ({"cutoff": RATE / 2}, "not below the Nyquist frequency"),
        ({"cutoff": -1.0}, "'cutoff' parameter"),
    ],
)
def test_spectrograms_bad_cutoff(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_spectrograms({"a": _tone(200)}, RATE, n_fft=128, **kwargs)


# ------------------------------------------------------------------------- imputation
def _panel(rng, n_series=4, n_steps=30):
    X = rng.normal(size=(n_series, n_steps)).cumsum(axis=1)
    hidden = rng.random(X.shape) < 0.2
    fills = {"spline": np.where(hidden, 0.0, X), "tfilm": np.where(hidden, 1.0, X)}
    return X, fills, hidden


def test_imputation_panels_show_observed_hidden_and_each_fill(rng):
    X, fills, hidden = _panel(rng)
    fig = plot_imputation(X, fills, hidden, series=(2, 0), title="retail")
    assert len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["series 2", "series 0"]
    for ax, row in zip(fig.axes, (2, 0), strict=True):
        observed, truth, _, tfilm = ax.lines
        assert [line.get_label() for line in ax.lines] == [
            "observed",
            "hidden (true)",
            "spline",
            "tfilm",
        ]
        # The hidden values are crosses at exactly the hidden steps, in red.
        np.testing.assert_array_equal(truth.get_xdata(), np.flatnonzero(hidden[row]))
        np.testing.assert_array_equal(truth.get_ydata(), X[row, hidden[row]])
        assert truth.get_marker() == "x" and truth.get_color() == "red"
        np.testing.assert_array_equal(tfilm.get_ydata(), np.ones(hidden[row].sum()))
        # The observed line breaks where values were hidden.
        assert np.isnan(observed.get_ydata()[hidden[row]]).all()
    assert fig.get_suptitle() == "retail"


def test_imputation_single_array_and_dates(rng):
    X, fills, hidden = _panel(rng, n_steps=10)
    dates = np.arange("2024-01-01", "2024-01-11", dtype="datetime64[D]")
    fig = plot_imputation(X, fills["tfilm"], hidden, series=(1,), dates=dates)
    assert [line.get_label() for line in fig.axes[0].lines][-1] == "filled"
    assert fig.axes[0].lines[0].get_xdata()[0] == dates[0]
    assert fig.axes[0].get_xlabel() == "date"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"X_filled": {}}, "empty dict"),
        ({"X_filled": {"m": np.zeros((4, 29))}}, r"X_filled\['m'\] has shape \(4, 29\)"),
        ({"hidden_mask": np.zeros((4, 29), bool)}, "hidden_mask has shape"),
        ({"hidden_mask": np.full((4, 30), 0.5)}, "must be boolean"),
        ({"series": ()}, "series is empty"),
        ({"series": (7,)}, "out of range for 4 series"),
        ({"dates": np.arange(5)}, "one entry per time step"),
        ({"X_true": np.zeros(30)}, "2-D array"),
    ],
)
def test_imputation_bad_input(rng, change, message):
    X, fills, hidden = _panel(rng)
    args = {"X_true": X, "X_filled": fills, "hidden_mask": hidden, **change}
    with pytest.raises(ValueError, match=message):
        plot_imputation(**args)


# -------------------------------------------------------------------- learning curves
def test_learning_curves_one_panel_per_metric_one_line_per_model():
    histories = {"tfilm": _history(5), "cnn": _history(3)}
    fig = plot_learning_curves(histories, title="imdb")
    assert [ax.get_title() for ax in fig.axes] == ["train_loss", "valid_loss"]
    for ax in fig.axes:
        assert [line.get_label() for line in ax.lines] == ["tfilm", "cnn"]
        assert ax.get_xlabel() == "epoch"
    np.testing.assert_array_equal(fig.axes[0].lines[1].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), [1.2 / e for e in range(1, 6)])
    # A model keeps its colour across panels.
    assert fig.axes[0].lines[0].get_color() == fig.axes[1].lines[0].get_color()
    assert fig.get_suptitle() == "imdb"


def test_learning_curves_skip_missing_validation_and_add_extra_metrics():
    fig = plot_learning_curves({"a": _history(3, valid=False), "b": _history(3)})
    assert [len(ax.lines) for ax in fig.axes] == [2, 1]  # only b has valid_loss
    fig = plot_learning_curves({"a": _history(4, valid_accuracy=0.2)})
    assert [ax.get_title() for ax in fig.axes] == ["train_loss", "valid_loss", "valid_accuracy"]
    fig = plot_learning_curves({"a": _history(4, valid_accuracy=0.2)}, metrics=["valid_accuracy"])
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [0.2, 0.4, 0.6, 0.8])


def test_learning_curves_accept_fitted_estimators():
    fig = plot_learning_curves([_Fitted(_history(2)), _Fitted(_history(3))])
    assert [line.get_label() for line in fig.axes[0].lines] == ["_Fitted", "_Fitted (2)"]
    # Shown in the legend although matplotlib hides labels starting with "_" by default.
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "_Fitted",
        "_Fitted (2)",
    ]
    fig = plot_learning_curves({"mine": _Fitted(_history(2))})
    assert fig.axes[0].lines[0].get_label() == "mine"


def _tick_texts(fig, axis: str) -> list[str]:
    fig.canvas.draw()
    return [
        t.get_text()
        for ax in fig.axes
        for t in getattr(ax, f"get_{axis}ticklabels")()
        if t.get_text()
    ]


def test_learning_curves_have_plain_ticks_even_for_tiny_changes():
    # Losses that differ in the sixth digit: matplotlib would write "+1.8e-1" offsets.
    history = [
        {"epoch": e, "train_loss": 0.183 + 1e-6 * e, "valid_loss": None, "seconds": 2.0}
        for e in range(1, 6)
    ]
    fig = plot_learning_curves({"tfilm": history, "one epoch": history[:1]})
    (ax,) = fig.axes
    texts = _tick_texts(fig, "y") + _tick_texts(fig, "x")
    assert ax.yaxis.get_offset_text().get_text() == ""
    assert ax.xaxis.get_offset_text().get_text() == ""
    assert texts and not any("e" in t or "\u00d7" in t or "10^" in t for t in texts)
    # The y range is widened to 10 % of the values, not zoomed into the noise.
    low, high = ax.get_ylim()
    assert high - low == pytest.approx(0.1 * 0.183003, rel=1e-3)
    # Integer epochs, a legend with every model, axis labels.
    assert all(float(t.replace("\u2212", "-")).is_integer() for t in _tick_texts(fig, "x"))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["tfilm", "one epoch"]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "train_loss"


def test_learning_curves_in_training_seconds():
    history = _history(4)
    fig = plot_learning_curves({"a": history}, x="seconds", metrics=["train_loss"])
    (ax,) = fig.axes
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [0.1, 0.2, 0.3, 0.4])
    assert ax.get_xlabel() == "training time (s)"
    with pytest.raises(ValueError, match="without 'seconds'"):
        plot_learning_curves({"a": [{"epoch": 1, "train_loss": 1.0}]}, x="seconds")


def test_learning_curves_log_scale_has_plain_labels():
    history = [{"epoch": e, "train_loss": 10.0**-e, "seconds": 1.0} for e in range(1, 5)]
    fig = plot_learning_curves({"a": history}, log=True)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    texts = _tick_texts(fig, "y")
    assert texts and all("$" not in t and "e" not in t for t in texts)


@pytest.mark.parametrize(
    ("histories", "kwargs", "error", "message"),
    [
        ({}, {}, ValueError, "histories is empty"),
        ({"a": _history(2)}, {"x": "steps"}, ValueError, "'x' parameter"),
        ({"a": []}, {}, ValueError, "history of 'a' is empty"),
        ({"a": _history(2)}, {"metrics": ["valid_f1"]}, ValueError, "no history has a value"),
        ({"a": _history(2)}, {"metrics": []}, ValueError, "metrics is empty"),
        ({"a": object()}, {}, TypeError, "is the estimator fitted"),
        (3, {}, TypeError, "histories must be"),
    ],
)
def test_learning_curves_bad_input(histories, kwargs, error, message):
    with pytest.raises(error, match=message):
        plot_learning_curves(histories, **kwargs)


# ------------------------------------------------------------------------- embedding
def test_embedding_colours_each_label(rng):
    features = np.vstack([rng.normal(0, 1, (12, 3, 4)), rng.normal(5, 1, (12, 3, 4))])
    labels = np.array(["female"] * 12 + ["male"] * 12)
    fig = plot_embedding(features, labels, random_state=0)
    (ax,) = fig.axes
    assert len(ax.collections) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["female", "male"]
    assert "t-SNE" in ax.get_title()
    # Well-separated clusters stay apart in the embedding.
    a, b = (c.get_offsets() for c in ax.collections)
    spread = max(
        np.linalg.norm(a - a.mean(0), axis=1).max(), np.linalg.norm(b - b.mean(0), axis=1).max()
    )
    assert np.linalg.norm(a.mean(0) - b.mean(0)) > spread


def test_embedding_is_reproducible(rng):
    features = rng.normal(size=(15, 4))
    labels = np.arange(15) % 3
    first = plot_embedding(features, labels, random_state=1).axes[0].collections[0].get_offsets()
    again = plot_embedding(features, labels, random_state=1).axes[0].collections[0].get_offsets()
    np.testing.assert_array_equal(first, again)


@settings(max_examples=10, deadline=None)
@given(n_samples=st.integers(3, 12))
def test_embedding_perplexity_stays_below_n_samples(n_samples):
    features = np.random.default_rng(n_samples).normal(size=(n_samples, 3))
    fig = plot_embedding(features, np.arange(n_samples) % 2)
    assert sum(len(c.get_offsets()) for c in fig.axes[0].collections) == n_samples
    plt.close(fig)


@pytest.mark.parametrize(
    ("features", "labels", "kwargs", "message"),
    [
        (np.zeros((5, 2)), np.zeros(4), {}, "one label per sample"),
        (np.zeros(5), np.zeros(5), {}, "one row per sample"),
        (np.zeros((2, 2)), np.zeros(2), {}, "at least 3 samples"),
        (np.full((5, 2), np.nan), np.zeros(5), {}, "NaN"),
        (np.zeros((5, 2)), np.zeros(5), {"method": "umap"}, "'method' .* must be a str among"),
        (np.zeros((5, 2)), np.zeros(5), {"perplexity": 5.0}, "below n_samples=5"),
    ],
)
def test_embedding_bad_input(features, labels, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_embedding(features, labels, **kwargs)


# ------------------------------------------------------------------------------ save
def test_save_figure_writes_a_png_atomically_and_closes(tmp_path):
    fig = plot_learning_curves({"a": _history(3)})
    assert plt.fignum_exists(fig.number)
    target = tmp_path / "figures" / "curves.png"
    assert save_figure(fig, target) == target
    assert target.read_bytes()[:8] == PNG_SIGNATURE
    assert [p.name for p in target.parent.iterdir()] == ["curves.png"]  # no temp file left
    assert not plt.fignum_exists(fig.number)


def test_save_figure_replaces_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "curves.png"
    target.write_bytes(b"old")
    save_figure(plot_learning_curves({"a": _history(2)}), target)
    assert target.read_bytes()[:8] == PNG_SIGNATURE

    class Broken(Figure):
        def savefig(self, *args, **kwargs):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save_figure(Broken(), tmp_path / "broken.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png"]


def test_save_figure_refuses_unknown_formats(tmp_path):
    with pytest.raises(ValueError, match=r"end the name in \.png"):
        save_figure(plot_learning_curves({"a": _history(2)}), tmp_path / "curves.jpeg")
