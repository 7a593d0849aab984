"""Figures for the three tasks: spectrograms, imputation panels, learning curves, t-SNE.

Every function returns a :class:`matplotlib.figure.Figure` made with ``pyplot`` (so it shows
in notebooks and with ``plt.show()``); :func:`save_figure` writes one to disk and closes it.
Nothing here chooses a matplotlib backend: scripts without a display should call
``matplotlib.use("Agg")`` themselves. matplotlib is imported only when a function runs.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tsfilm.io._atomic import atomic_path
from tsfilm.validation import StrictInterval, StrOptions, int_at_least, validate_params

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "plot_embedding",
    "plot_imputation",
    "plot_learning_curves",
    "plot_spectrograms",
    "save_figure",
]

_SAVE_FORMATS = frozenset({"png", "pdf", "svg"})


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("tsfilm.plotting needs matplotlib: pip install matplotlib") from exc
    return plt


def _as_signal(name: str, signal: object) -> np.ndarray:
    """One mono signal as a 1-D float array; a leading channel axis of size 1 is dropped."""
    array = np.asarray(signal, dtype=float)
    if array.ndim == 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 1:
        raise ValueError(
            f"signal {name!r} has shape {array.shape}; pass one mono signal of shape "
            "(n_samples,) or (1, n_samples)."
        )
    if not np.isfinite(array).all():
        raise ValueError(f"signal {name!r} contains NaN or infinite values.")
    return array


@validate_params(
    {
        "rate": [int_at_least(1)],
        "n_fft": [int_at_least(8)],
        "dynamic_range": [StrictInterval(numbers.Real, 0, None, closed="neither")],
        "cutoff": [StrictInterval(numbers.Real, 0, None, closed="neither"), None],
        "band": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def plot_spectrograms(
    signals: Mapping[str, np.ndarray],
    rate: int,
    *,
    axes: Sequence[Axes] | None = None,
    n_fft: int = 2048,
    dynamic_range: float = 80.0,
    cutoff: float | None = None,
    band: bool = False,
    title: str | None = None,
) -> Figure:
    """Plot log-magnitude spectrograms of several signals side by side.

    All panels share one colour scale, from the loudest bin of any signal down by
    ``dynamic_range`` dB, so a missing high band shows as the same dark colour in every
    panel (compare a low-rate input, its reconstructions and the original). With
    ``cutoff`` a dashed line marks a frequency, such as the Nyquist frequency of the
    low-rate input; with ``band`` a second row shows only the frequencies above it, on a
    colour scale of their own, so that what a model adds there is visible even when it is
    much weaker than the low band.

    Parameters
    ----------
    signals : mapping of str to array-like of shape (n_samples,) or (1, n_samples)
        Panel title to signal, in display order, e.g. ``{"low-rate": ..., "spline": ...,
        "tfilm": ..., "original": ...}``. Lengths may differ.
    rate : int
        Sample rate of every signal in Hz; the frequency axis runs to ``rate / 2``.
    axes : sequence of matplotlib Axes, optional
        Axes to draw into: one per signal, or with ``band=True`` two per signal (the
        full spectrograms first, then the band panels, in the order of ``signals``). By
        default a new figure with one row of axes (two rows with ``band=True``).
    n_fft : int, default=2048
        Window length of the short-time Fourier transform (Hann window, hop
        ``n_fft // 4``). Every signal needs at least ``n_fft`` samples.
    dynamic_range : float, default=80.0
        Decibels between the top and the bottom of each colour scale.
    cutoff : float, optional
        Frequency in Hz, below ``rate / 2``, marked by a dashed horizontal line on every
        panel, e.g. ``rate / ratio / 2`` for the highest frequency of a low-rate input.
    band : bool, default=False
        Add a row of panels titled "above <cutoff> kHz", one under each signal's, showing
        only the frequencies from ``cutoff`` to ``rate / 2``, whose colour scale runs
        from the loudest bin of any signal in that band down by ``dynamic_range`` dB.
        Needs ``cutoff``.
    title : str, optional
        Title of the whole figure.

    Returns
    -------
    matplotlib.figure.Figure
        One image per signal (time in s, frequency in kHz) and a colour bar in dB; with
        ``band=True`` a second image per signal and a second colour bar.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> t = np.arange(16000) / 16000
    >>> tone = np.sin(2 * np.pi * 440 * t)
    >>> fig = plot_spectrograms({"tone": tone, "noisy": tone + 0.1 * np.cos(9 * t)}, 16000)
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['tone', 'noisy']
    >>> fig = plot_spectrograms({"tone": tone}, 16000, cutoff=2000, band=True)
    >>> [ax.get_title() for ax in fig.axes if ax.images]
    ['tone', 'above 2 kHz']
    >>> save_figure(fig, "spectrograms.png")  # doctest: +SKIP
    """
    from scipy.signal import spectrogram

    if not isinstance(signals, Mapping) or not signals:
        raise ValueError(
            "signals must be a non-empty dict of panel title to signal, "
            'e.g. {"original": x, "tfilm": y}.'
        )
    arrays = {str(name): _as_signal(str(name), s) for name, s in signals.items()}
    for name, array in arrays.items():
        if array.size < n_fft:
            raise ValueError(
                f"signal {name!r} has {array.size} samples, fewer than n_fft={n_fft}; "
                "pass a smaller n_fft or a longer signal."
            )
    if cutoff is not None and not cutoff < rate / 2:
        raise ValueError(
            f"cutoff={cutoff} Hz is not below the Nyquist frequency {rate / 2:g} Hz of "
            f"rate={rate}; pass a frequency inside the spectrogram."
        )
    if band and cutoff is None:
        raise ValueError("band=True needs cutoff: the frequency in Hz where the band starts.")
    n_rows = 2 if band else 1
    if axes is not None and len(axes) != n_rows * len(arrays):
        raise ValueError(
            f"axes has {len(axes)} entries for {len(arrays)} signals; pass "
            + ("two each (band=True)." if band else "one each.")
        )

    decibels = {}
    for name, array in arrays.items():
        freqs, times, power = spectrogram(
            array,
            fs=rate,
            window="hann",
            nperseg=n_fft,
            noverlap=n_fft - n_fft // 4,
            mode="magnitude",
        )
        # The floor keeps silent bins finite; it sits far below any colour scale in use.
        decibels[name] = (times, 20 * np.log10(np.maximum(power, 1e-12)))
    top = max(float(db.max()) for _, db in decibels.values())

    plt = _pyplot()
    if axes is None:
        n = len(arrays)
        fig, grid = plt.subplots(
            n_rows,
            n,
            figsize=(3.2 * n + 1.0, 3.4 * n_rows),
            sharex=True,
            sharey="row",
            squeeze=False,
            layout="constrained",
        )
        axes = [ax for row in grid for ax in row]
    axes = list(axes)
    fig = axes[0].figure
    half_hop = (n_fft // 4) / rate / 2  # pixels are centred on their frame

    def draw(row_axes: list[Axes], low: float, vmax: float, band_title: str | None) -> Any:
        image = None
        for ax, (name, (times, db)) in zip(row_axes, decibels.items(), strict=True):
            extent = (times[0] - half_hop, times[-1] + half_hop, 0.0, freqs[-1] / 1000.0)
            image = ax.imshow(
                db,
                origin="lower",
                aspect="auto",
                cmap="magma",
                vmin=vmax - dynamic_range,
                vmax=vmax,
                extent=extent,
                interpolation="nearest",
            )
            ax.set_ylim(low / 1000.0, freqs[-1] / 1000.0)
            if cutoff is not None:
                ax.axhline(cutoff / 1000.0, color="cyan", lw=1.0, ls="--")
            ax.set_title(name if band_title is None else band_title)
            ax.set_xlabel("time (s)")
        row_axes[0].set_ylabel("frequency (kHz)")
        return image

    n = len(arrays)
    image = draw(axes[:n], 0.0, top, None)
    fig.colorbar(image, ax=axes[:n], label="magnitude (dB)")
    if band and cutoff is not None:
        rows = freqs >= cutoff
        band_top = max(float(db[rows].max(initial=-np.inf)) for _, db in decibels.values())
        image = draw(axes[n:], cutoff, band_top, f"above {cutoff / 1000:g} kHz")
        fig.colorbar(image, ax=axes[n:], label=f"magnitude above {cutoff / 1000:g} kHz (dB)")
    if title is not None:
        fig.suptitle(title)
    return fig


def _check_panel(X_true: object, X_filled: object, hidden_mask: object) -> tuple:
    truth = np.asarray(X_true, dtype=float)
    if truth.ndim != 2:
        raise ValueError(
            f"X_true has shape {truth.shape}; pass a 2-D array (n_series, n_timesteps) "
            "(for several channels, one channel such as X[:, 0, :])."
        )
    if isinstance(X_filled, Mapping):
        if not X_filled:
            raise ValueError("X_filled is an empty dict; give at least one method's result.")
        fills = {str(k): np.asarray(v, dtype=float) for k, v in X_filled.items()}
    else:
        fills = {"filled": np.asarray(X_filled, dtype=float)}
    for name, fill in fills.items():
        if fill.shape != truth.shape:
            raise ValueError(
                f"X_filled[{name!r}] has shape {fill.shape} but X_true has {truth.shape}; "
                "they must match."
            )
    mask = np.asarray(hidden_mask)
    if mask.shape != truth.shape:
        raise ValueError(
            f"hidden_mask has shape {mask.shape} but X_true has {truth.shape}; they must match."
        )
    if mask.dtype != bool:
        if not np.isin(mask, (0, 1)).all():
            raise ValueError("hidden_mask must be boolean (True where a value was hidden).")
        mask = mask.astype(bool)
    return truth, fills, mask


def plot_imputation(
    X_true: np.ndarray,
    X_filled: Mapping[str, np.ndarray] | np.ndarray,
    hidden_mask: np.ndarray,
    *,
    series: Sequence[int] = (0, 1, 2),
    dates: Sequence[Any] | np.ndarray | None = None,
    title: str | None = None,
) -> Figure:
    """Plot a few series with their hidden values and each method's fill.

    Each panel shows one series: the values the methods saw as a line (broken where
    values were hidden or missing), the hidden true values as red crosses, and each
    method's fill at the hidden positions as markers of its own colour.

    Parameters
    ----------
    X_true : array-like of shape (n_series, n_timesteps)
        Complete data before hiding (NaN where the data itself is missing).
    X_filled : array-like of shape (n_series, n_timesteps), or mapping of str to such
        Output of one imputer, or method name to output for several.
    hidden_mask : array-like of bool, shape (n_series, n_timesteps)
        True where a value of ``X_true`` was hidden from the methods.
    series : sequence of int, default=(0, 1, 2)
        Rows of ``X_true`` to plot, one panel each, top to bottom.
    dates : array-like of shape (n_timesteps,), optional
        x-axis values such as ``numpy.datetime64`` days; time-step numbers by default.
    title : str, optional
        Title of the whole figure.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per entry of ``series``, each with ``2 + n_methods`` lines.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> X = np.arange(40.0).reshape(2, 20)
    >>> hidden = np.zeros(X.shape, dtype=bool)
    >>> hidden[:, 5:8] = True
    >>> fig = plot_imputation(X, {"mean": np.where(hidden, 9.0, X)}, hidden, series=(0, 1))
    >>> len(fig.axes), len(fig.axes[0].lines)
    (2, 3)
    """
    truth, fills, mask = _check_panel(X_true, X_filled, hidden_mask)
    rows = [series] if isinstance(series, numbers.Integral) else list(series)
    if not rows:
        raise ValueError("series is empty; give the rows to plot, e.g. series=(0, 1, 2).")
    n_series, n_steps = truth.shape
    for row in rows:
        if isinstance(row, bool) or not isinstance(row, numbers.Integral):
            raise ValueError(f"series must hold integer row numbers, got {row!r}.")
        if not 0 <= row < n_series:
            raise ValueError(f"series entry {row} is out of range for {n_series} series.")
    if dates is None:
        x = np.arange(n_steps)
    else:
        x = np.asarray(dates)
        if x.dtype.kind in "USO":
            try:
                x = x.astype("datetime64[ns]")
            except ValueError as exc:
                raise ValueError(
                    "dates must be numbers or dates (numpy.datetime64 or ISO strings)."
                ) from exc
        if x.shape != (n_steps,):
            raise ValueError(
                f"dates has shape {x.shape}; it needs one entry per time step ({n_steps},)."
            )

    n = len(rows)
    fig, grid = _pyplot().subplots(
        n, 1, figsize=(9.0, 2.2 * n + 0.6), sharex=True, squeeze=False, layout="constrained"
    )
    for ax, row in zip(grid[:, 0], rows, strict=True):
        hidden = mask[row]
        ax.plot(x, np.where(hidden, np.nan, truth[row]), color="0.3", lw=1.0, label="observed")
        ax.plot(x[hidden], truth[row, hidden], "x", color="red", ms=6, label="hidden (true)")
        for name, fill in fills.items():
            ax.plot(x[hidden], fill[row, hidden], "o", ms=4, mfc="none", label=name)
        ax.set_title(f"series {row}")
    first = grid[0, 0]
    first.legend(
        first.lines,
        [line.get_label() for line in first.lines],
        loc="upper right",
        fontsize="small",
        ncols=min(4, 2 + len(fills)),
    )
    grid[-1, 0].set_xlabel("date" if dates is not None else "time step")
    if title is not None:
        fig.suptitle(title)
    return fig


def _histories(histories: object) -> dict[str, list[Mapping[str, Any]]]:
    """Normalise the accepted inputs to name -> list of history entries."""
    if isinstance(histories, Mapping):
        items = [(str(name), h) for name, h in histories.items()]
    elif hasattr(histories, "history_"):
        items = [(type(histories).__name__, histories)]
    elif isinstance(histories, Sequence) and not isinstance(histories, str):
        if histories and all(isinstance(e, Mapping) for e in histories):
            items = [("model", histories)]  # one bare history
        else:
            items, seen = [], {}
            for est in histories:
                base = type(est).__name__
                seen[base] = seen.get(base, 0) + 1
                items.append((base if seen[base] == 1 else f"{base} ({seen[base]})", est))
    else:
        raise TypeError(
            "histories must be a dict of name to history_ list (or fitted estimator), "
            f"a list of fitted estimators, or one fitted estimator; got {type(histories)}."
        )
    if not items:
        raise ValueError("histories is empty; give at least one model's history_.")
    result = {}
    for name, h in items:
        h = getattr(h, "history_", h)
        if isinstance(h, str) or not isinstance(h, Sequence):
            raise TypeError(
                f"the history of {name!r} must be a list of dicts (an estimator's history_), "
                f"got {type(h).__name__}; is the estimator fitted?"
            )
        if not all(isinstance(e, Mapping) for e in h):
            raise TypeError(f"the history of {name!r} must be a list of dicts.")
        result[name] = list(h)
    return result


def _readable_axis(ax: Axes, values: Sequence[float], log: bool, epochs: bool) -> None:
    """Tick labels as plain numbers (no offset, no power of ten) and a y range that is
    never narrower than 10 % of its values, so that a flat or single-point curve does not
    zoom into rounding noise."""
    from matplotlib.ticker import (
        FuncFormatter,
        LogLocator,
        MaxNLocator,
        NullFormatter,
        ScalarFormatter,
    )

    plain = FuncFormatter(
        lambda v, _: np.format_float_positional(float(f"{v:.4g}"), trim="-") if v > 0 else ""
    )
    low, high = min(values), max(values)
    if log:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(NullFormatter())
        if high < 2 * low:
            middle = (low * high) ** 0.5
            ax.set_ylim(middle / 1.5, middle * 1.5)
    else:
        formatter = ScalarFormatter(useOffset=False)
        formatter.set_scientific(False)
        ax.yaxis.set_major_formatter(formatter)
        span = max(abs(low), abs(high), 1e-12) * 0.1
        if high - low < span:
            middle = (low + high) / 2
            ax.set_ylim(middle - span / 2, middle + span / 2)
    formatter = ScalarFormatter(useOffset=False)
    formatter.set_scientific(False)
    ax.xaxis.set_major_formatter(formatter)
    if epochs:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


@validate_params(
    {"x": [StrOptions({"epoch", "seconds"})], "log": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def plot_learning_curves(
    histories: Mapping[str, Sequence[Mapping[str, Any]] | Any] | Sequence[Any] | Any,
    *,
    metrics: Sequence[str] | None = None,
    x: str = "epoch",
    log: bool = False,
    title: str | None = None,
) -> Figure:
    """Plot training curves, one panel per metric and one line per model.

    Every entry of every history is a point, so the curves show the whole training,
    and tick labels are plain numbers (no offset such as ``+1e-5`` and no power of ten).

    Parameters
    ----------
    histories : dict, list of estimators, or an estimator
        Model name to its ``history_`` (a list of dicts with ``epoch``, ``train_loss``,
        ``valid_loss`` and ``seconds``, as fitted tsfilm estimators keep) or to the fitted
        estimator itself; or a list of fitted estimators (named after their class); or
        one fitted estimator.
    metrics : sequence of str, optional
        History keys to plot, one panel each. By default ``train_loss``, ``valid_loss``
        and any other ``train_*`` or ``valid_*`` key (such as ``valid_accuracy``) that
        has a value. Entries whose value is None (``valid_loss`` without a validation
        split) are left out; a default metric with no value at all gets no panel.
    x : {"epoch", "seconds"}, default="epoch"
        The x axis: the epoch number, or the training time in seconds at the end of each
        epoch (the running sum of the entries' ``seconds``), which suits models trained
        for a time budget.
    log : bool, default=False
        Logarithmic y axis (for losses that fall by orders of magnitude).
    title : str, optional
        Title of the whole figure.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per metric shown, each with one line per model that has values for it
        and a legend.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> history = [
    ...     {"epoch": 1, "train_loss": 0.9, "valid_loss": 1.0, "seconds": 0.1},
    ...     {"epoch": 2, "train_loss": 0.5, "valid_loss": 0.7, "seconds": 0.1},
    ... ]
    >>> fig = plot_learning_curves({"tfilm": history, "cnn": history})
    >>> [ax.get_title() for ax in fig.axes], len(fig.axes[0].lines)
    (['train_loss', 'valid_loss'], 2)
    >>> fig = plot_learning_curves({"tfilm": history}, x="seconds")
    >>> fig.axes[0].lines[0].get_xdata().tolist(), fig.axes[0].get_xlabel()
    ([0.1, 0.2], 'training time (s)')
    """
    named = _histories(histories)
    for name, h in named.items():
        if not h:
            raise ValueError(f"the history of {name!r} is empty; fit the model first.")
        if x == "seconds" and any(e.get("seconds") is None for e in h):
            raise ValueError(
                f"the history of {name!r} has entries without 'seconds'; use x='epoch'."
            )

    def has_values(metric: str) -> bool:
        return any(e.get(metric) is not None for h in named.values() for e in h)

    found = {key for h in named.values() for e in h for key in e}
    if metrics is None:
        extra = sorted(
            k for k in found - {"train_loss", "valid_loss"} if k.startswith(("train_", "valid_"))
        )
        shown = [m for m in ["train_loss", "valid_loss", *extra] if has_values(m)]
        if not shown:
            raise ValueError(
                "no history has a train_* or valid_* value; pass metrics= with the keys to plot."
            )
    else:
        shown = [metrics] if isinstance(metrics, str) else list(metrics)
        if not shown:
            raise ValueError("metrics is empty; name at least one history key.")
        for metric in shown:
            if not has_values(metric):
                raise ValueError(
                    f"no history has a value for {metric!r}; keys present: {sorted(found)}."
                )

    def positions(h: Sequence[Mapping[str, Any]]) -> list[float]:
        if x == "seconds":
            return np.cumsum([float(e["seconds"]) for e in h]).tolist()
        return [e.get("epoch", k + 1) for k, e in enumerate(h)]

    plt = _pyplot()
    fig, grid = plt.subplots(
        1, len(shown), figsize=(4.6 * len(shown), 3.4), squeeze=False, layout="constrained"
    )
    colours = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    for ax, metric in zip(grid[0], shown, strict=True):
        lines, names, values = [], [], []
        for i, (name, h) in enumerate(named.items()):
            points = [
                (at, float(e[metric]))
                for at, e in zip(positions(h), h, strict=True)
                if e.get(metric) is not None
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                values.extend(ys)
                # One colour per model in every panel.
                (line,) = ax.plot(xs, ys, "o-", ms=3, color=colours[i % len(colours)], label=name)
                lines.append(line)
                names.append(name)
        ax.set_title(metric)
        ax.set_xlabel("epoch" if x == "epoch" else "training time (s)")
        ax.set_ylabel(metric)
        ax.grid(True, alpha=0.3)
        _readable_axis(ax, values, log=log and min(values) > 0, epochs=x == "epoch")
        # Explicit handles: legend() alone would drop names that start with "_".
        ax.legend(lines, names, fontsize="small")
    if title is not None:
        fig.suptitle(title)
    return fig


@validate_params({"method": [StrOptions({"tsne", "pca"})]}, prefer_skip_nested_validation=True)
def plot_embedding(
    features: np.ndarray,
    labels: Sequence[Any] | np.ndarray,
    *,
    method: str = "tsne",
    perplexity: float | None = None,
    random_state: int | None = 0,
    title: str | None = None,
) -> Figure:
    """Scatter-plot a 2-D embedding of activations, coloured by label.

    The paper's figure 4 shows such a t-SNE of the last TFiLM layer's activations,
    coloured by speaker gender or review sentiment.

    Parameters
    ----------
    features : array-like of shape (n_samples, ...)
        One row of activations per sample; trailing axes (channels, time) are flattened.
    labels : array-like of shape (n_samples,)
        Class of each sample; one colour and one legend entry per distinct label.
    method : {"tsne", "pca"}, default="tsne"
        :class:`sklearn.manifold.TSNE` (PCA initialisation), or
        :class:`sklearn.decomposition.PCA` for a fast linear view.
    perplexity : float, optional
        t-SNE perplexity; by default ``min(30, (n_samples - 1) / 3)``, which keeps it
        below ``n_samples`` as scikit-learn requires.
    random_state : int or None, default=0
        Seed of t-SNE, for a reproducible picture.
    title : str, optional
        Axes title; defaults to the method's name.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with one scatter collection per distinct label.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> features = np.vstack([rng.normal(0, 1, (10, 5)), rng.normal(6, 1, (10, 5))])
    >>> fig = plot_embedding(features, ["low"] * 10 + ["high"] * 10, method="pca")
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['high', 'low']
    """
    X = np.asarray(features, dtype=float)
    if X.ndim < 2:
        raise ValueError(f"features has shape {X.shape}; pass one row per sample (2-D or more).")
    X = X.reshape(X.shape[0], -1)
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"labels has shape {y.shape} for {X.shape[0]} samples; pass one label per sample."
        )
    n_samples = X.shape[0]
    if n_samples < 3:
        raise ValueError(f"an embedding needs at least 3 samples, got {n_samples}.")
    if not np.isfinite(X).all():
        raise ValueError("features contains NaN or infinite values.")
    if method == "tsne":
        from sklearn.manifold import TSNE

        if perplexity is None:
            perplexity = min(30.0, (n_samples - 1) / 3)
        if not 0 < perplexity < n_samples:
            raise ValueError(
                f"perplexity must be positive and below n_samples={n_samples}, got {perplexity}."
            )
        embedded = TSNE(
            n_components=2, perplexity=perplexity, init="pca", random_state=random_state
        ).fit_transform(X)
        name = "t-SNE"
    else:
        from sklearn.decomposition import PCA

        embedded = PCA(n_components=2).fit_transform(X)
        name = "PCA"

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 4.4), layout="constrained")
    groups = []
    for label in np.unique(y):
        chosen = y == label
        groups.append(
            ax.scatter(embedded[chosen, 0], embedded[chosen, 1], s=14, alpha=0.8, label=str(label))
        )
    ax.legend(groups, [g.get_label() for g in groups], title="label", fontsize="small")
    ax.set_title(title if title is not None else f"{name} of activations")
    ax.set_xlabel(f"{name} 1")
    ax.set_ylabel(f"{name} 2")
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 150) -> Path:
    """Write a figure to a file atomically and close it.

    The image goes to a temporary file in the target folder, which then replaces
    ``path`` in one step (``os.replace``): a reader never sees half an image.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Figure to write; closed afterwards (pyplot forgets it, freeing its memory).
    path : str or path-like
        Target file ending in ``.png`` (or ``.pdf``/``.svg``); its folder is created
        when missing.
    dpi : int, default=150
        Resolution of PNG output.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import os, tempfile
    >>> fig = plot_learning_curves({"m": [{"epoch": 1, "train_loss": 1.0}]})
    >>> path = save_figure(fig, os.path.join(tempfile.mkdtemp(), "curves.png"))
    >>> path.read_bytes()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in _SAVE_FORMATS:
        raise ValueError(
            f"cannot tell the image format from {path.name!r}; end the name in .png, .pdf or .svg."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi)
    finally:
        # Figures from pyplot stay alive in its registry until closed; others have no
        # manager and nothing to release.
        if getattr(fig.canvas, "manager", None) is not None:
            _pyplot().close(fig)
    return path
