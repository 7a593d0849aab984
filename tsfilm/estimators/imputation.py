"""Imputation: fill the missing values of time series.

:class:`TFiLMImputer` is the paper's imputation model: a TFiLM U-Net that sees the
observed values and where they are, trained without complete data by hiding some of
the observed values and learning to predict them.

Two base classes carry what every imputer shares, for the built-in baselines and for
third-party ones:

- :class:`BaseSeriesImputer`: input validation, the missing-value marker, series with
  no observed value, feature names and ``set_output``, and the rule that observed values
  come back bit-for-bit. A subclass implements ``fit_signals`` and ``impute_signals``.
- :class:`TorchImputer`: adds self-supervised training of a network on the shared
  engine, per-series scaling, training windows and overlap-add at transform time. A
  subclass implements ``__init__`` and ``build_module``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils.validation import check_is_fitted, validate_data

from tsfilm.estimators._base import (
    UNET_CONSTRAINTS,
    TorchEstimator,
    document_engine_params,
    grid_windows,
    random_windows,
    unet_kwargs,
)
from tsfilm.nn import TFiLMUNet
from tsfilm.preprocessing import chunk_spans, missing_mask
from tsfilm.registry import register
from tsfilm.validation import (
    MISSING_VALUES,
    Signals,
    StrictInterval,
    StrOptions,
    check_signals,
    int_at_least,
)

__all__ = ["BaseSeriesImputer", "TFiLMImputer", "TorchImputer", "UNetImputer"]

#: Series read, filled and written at a time by ``transform`` and ``transform_to``.
CHUNK_SIZE = 1024


class BaseSeriesImputer(TransformerMixin, BaseEstimator):
    """Base class of tsfilm's imputers: the contract, without a model.

    ``fit(X)`` validates ``X`` (2-D ``(n_series, n_timesteps)``, 3-D ``(n_series,
    n_channels, n_timesteps)`` or a list of series of different lengths), finds the
    missing entries (equal to ``missing_values``), sets ``n_channels_`` and
    ``fill_values_`` and calls ``self.fit_signals(signals, observed)``.

    ``transform(X)`` copies ``X``, asks ``self.impute_signals(values, observed)`` for estimates
    of the series that miss something, and writes them into the missing entries only,
    so observed values come back bit-for-bit and the dtype (float32 or float64) is kept.
    It works through the series in chunks of :data:`CHUNK_SIZE`, so memory holds the
    output and one chunk's work; ``transform_to(X, out)`` does the same from and into
    arrays on disk (a NumPy memmap, a Zarr array), for panels larger than memory.
    A channel of a series with no observed value at all cannot be placed on any scale;
    it is filled with ``fill_values_`` (the mean of that channel's observed training
    values) and a warning says how many were.

    Two-dimensional input is scikit-learn's ``X``: ``n_features_in_`` (the number of
    time steps) and ``feature_names_in_`` are set and checked, and
    ``set_output(transform="pandas")`` returns DataFrames. 3-D and ragged input may
    have any length at ``transform``.

    Subclasses define ``__init__`` with a ``missing_values`` parameter, and

    ``fit_signals(self, signals, observed) -> None``
        Learn from the validated series (``signals.arrays``: ``(n, C, T)`` array or list
        of ``(C, T_i)`` arrays, float32 or float64) and the matching boolean
        ``observed`` masks.
    ``impute_signals(self, values, observed) -> estimates``
        Estimates for every entry of the given series: ``values`` and ``observed`` are
        lists of ``(C, T_i)`` arrays (missing entries of ``values`` hold arbitrary
        numbers); one estimate of the same shape per series. Only the estimates at
        missing entries are used.
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {"missing_values": MISSING_VALUES}

    # ------------------------------------------------------------------ hooks
    def fit_signals(self, signals: Signals, observed) -> None:
        """Learn from validated series and their observed masks."""
        raise NotImplementedError  # pragma: no cover - abstract

    def impute_signals(self, values, observed):
        """Estimates for every entry of the given series (used at missing entries)."""
        raise NotImplementedError  # pragma: no cover - abstract

    # ------------------------------------------------------------------ validation
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # NaN is input only where it marks the missing values.
        marker = self.missing_values
        tags.input_tags.allow_nan = isinstance(marker, float) and bool(np.isnan(marker))
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _validate_input(self, X, *, reset: bool) -> tuple[Signals, np.ndarray | list[np.ndarray]]:
        """Validated series and their observed masks (True where a value is present)."""
        signals = self._check_signals(X)
        self._check_features(X, signals.layout, reset=reset)
        marker = float(self.missing_values)
        if signals.is_dense:
            observed = ~missing_mask(signals.arrays, marker)
        else:
            observed = [~missing_mask(a, marker) for a in signals.arrays]
        return signals, observed

    def _check_signals(self, X) -> Signals:
        """``X`` validated by :func:`~tsfilm.validation.check_signals`, with imputers' messages."""
        marker = float(self.missing_values)
        try:
            signals = check_signals(X, name="X", allow_nan=bool(np.isnan(marker)))
        except ValueError as exc:
            if not np.isnan(marker) and "NaN" in str(exc):
                raise ValueError(
                    f"X contains NaN but missing_values={self.missing_values!r} marks the "
                    "missing entries; use missing_values=np.nan, or write the marker "
                    "instead of NaN."
                ) from exc
            if "1-D array" in str(exc):
                # scikit-learn's own phrase, which users (and its checks) know.
                raise ValueError(
                    f"{exc} Reshape your data: rows are series, columns are time steps."
                ) from exc
            raise
        return signals

    def _check_features(self, X, layout: str, *, reset: bool) -> None:
        """``n_features_in_`` and feature names of 2-D input (reading no values)."""
        if layout == "2d":
            # Checked as every scikit-learn estimator does.
            validate_data(self, X, reset=reset, skip_check_array=True)
        elif reset:
            for name in ("n_features_in_", "feature_names_in_"):
                if hasattr(self, name):
                    delattr(self, name)

    def _check_channels(self, n_channels: int) -> None:
        if n_channels != self.n_channels_:
            raise ValueError(
                f"X has {n_channels} channel(s) but the imputer was fitted on {self.n_channels_}."
            )

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None) -> BaseSeriesImputer:
        """Learn to fill the missing values of series like ``X``.

        Parameters
        ----------
        X : array-like of shape (n_series, n_timesteps) or (n_series, n_channels, \
n_timesteps), or list of arrays
            Series with missing entries marked by ``missing_values`` (NaN by default).
            A list may hold series of different lengths, each ``(n_timesteps_i,)`` or
            ``(n_channels, n_timesteps_i)``. Not modified.
        y : None
            Ignored; present for the scikit-learn API.

        Returns
        -------
        self : BaseSeriesImputer
            The fitted imputer.

        Raises
        ------
        ValueError
            If ``X`` has no observed value in some channel, contains infinity (or NaN
            when ``missing_values`` is a number), or has the wrong number of
            dimensions.
        TypeError
            If ``X`` is not numeric.
        """
        signals, observed = self._validate_input(X, reset=True)
        per_channel = _channel_sums(signals.arrays, observed)
        counts, sums = per_channel
        if not counts.any():
            raise ValueError(
                "X has no observed value: every entry equals missing_values="
                f"{self.missing_values!r}. An imputer needs observed values to learn from."
            )
        if (counts == 0).any():
            empty = np.flatnonzero(counts == 0).tolist()
            raise ValueError(
                f"Channel(s) {empty} of X have no observed value in any series; an imputer "
                "cannot learn what to fill them with. Drop those channels."
            )
        warm = getattr(self, "warm_start", False) and hasattr(self, "n_channels_")
        if warm and signals.n_channels != self.n_channels_:
            raise ValueError(
                f"warm_start needs data with {self.n_channels_} channel(s), as in the first "
                f"fit; X has {signals.n_channels}."
            )
        self.n_channels_ = signals.n_channels
        self.fill_values_ = sums / counts
        self.fit_signals(signals, observed)
        return self

    # ------------------------------------------------------------------ transform
    def transform(self, X):
        """Fill every missing value of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_series, n_timesteps) or (n_series, n_channels, \
n_timesteps), or list of arrays
            Series with missing entries, in the layout used for ``fit`` (2-D input
            must have the ``n_features_in_`` time steps of ``fit``; 3-D and ragged
            input may have any length). Not modified.

        Returns
        -------
        X_filled : ndarray or list of ndarray, in the layout of ``X``
            A copy of ``X`` with the missing entries filled and every observed value
            unchanged, float32 if ``X`` is float32 and float64 otherwise (a DataFrame
            with ``set_output(transform="pandas")`` and 2-D input).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the imputer is not fitted.
        ValueError
            If ``X`` has the wrong number of time steps (2-D) or channels, contains
            infinity, or has the wrong number of dimensions.

        Warns
        -----
        UserWarning
            When a channel of a series has no observed value; it is filled with
            ``fill_values_``.
        """
        check_is_fitted(self)
        signals = self._check_signals(X)
        self._check_features(X, signals.layout, reset=False)
        self._check_channels(signals.n_channels)
        arrays = signals.arrays
        if signals.is_dense:
            output = np.empty(arrays.shape, dtype=arrays.dtype)
            n_series, length = arrays.shape[0], int(arrays.shape[-1])
            chunk_size = CHUNK_SIZE
            group = self._series_per_call(length, chunk_size)
        else:
            # Lists of different lengths are filled in one call.
            output = [np.empty_like(a) for a in arrays]
            n_series = chunk_size = group = len(arrays)

        def write(start: int, rows: list[np.ndarray]) -> None:
            output[start : start + len(rows)] = rows if not signals.is_dense else np.stack(rows)

        self._fill_in_chunks(lambda a, b: arrays[a:b], write, n_series, chunk_size, group)
        return signals.restore(output)

    def transform_to(self, X, out, *, chunk_size: int = CHUNK_SIZE):
        """Fill the missing values of ``X`` into ``out``, ``chunk_size`` series at a time.

        For panels larger than memory: ``X`` and ``out`` may be arrays on disk (a NumPy
        memmap, a Zarr or HDF5 array: anything with ``shape``, ``dtype`` and slicing
        along the first axis). Each chunk of series is read, filled and written before
        the next is read, so memory holds a few chunks whatever the number of series.
        The values written are exactly those of ``transform(X)``, whatever
        ``chunk_size``: tsfilm's imputers choose the series they impute together so
        that the network sees the batches of one call on every series (compare with
        the same ``n_threads``: other thread counts may change the last bits).

        Parameters
        ----------
        X : array-like of shape (n_series, n_timesteps) or (n_series, n_channels, \
n_timesteps)
            Series with missing entries, read chunk by chunk and not modified (unless
            ``out`` is ``X``: filling in place is allowed).
        out : array-like of the shape of ``X``
            Where the filled series are written: float32 when ``X`` is float32,
            float64 otherwise (the dtype ``transform`` returns), writable.
        chunk_size : int, default=1024
            Series read and written at a time.

        Returns
        -------
        out : array-like
            ``out``, filled.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the imputer is not fitted.
        TypeError
            If ``X`` or ``out`` has no ``shape`` (a list of series: use ``transform``).
        ValueError
            If ``out`` has another shape or dtype or is read-only, if ``X`` has the
            wrong number of time steps (2-D) or channels, or if a chunk of ``X``
            contains infinity (the chunks before it are then written already).

        Warns
        -----
        UserWarning
            When a channel of a series has no observed value; it is filled with
            ``fill_values_``.

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from tsfilm import TFiLMImputer
        >>> from tsfilm.preprocessing import hide_at_random
        >>> t = np.arange(64) / 64
        >>> X = np.stack([np.sin(2 * np.pi * f * t) for f in (1, 2, 3, 4)]).astype(np.float32)
        >>> X_missing, _ = hide_at_random(X, 0.2, random_state=0)
        >>> imputer = TFiLMImputer(**TFiLMImputer.get_test_params()[0]).fit(X_missing)
        >>> folder = tempfile.mkdtemp()
        >>> X_disk = np.lib.format.open_memmap(
        ...     os.path.join(folder, "X.npy"), mode="w+", dtype=np.float32, shape=X.shape
        ... )
        >>> X_disk[:] = X_missing
        >>> out = np.lib.format.open_memmap(
        ...     os.path.join(folder, "filled.npy"), mode="w+", dtype=np.float32, shape=X.shape
        ... )
        >>> _ = imputer.transform_to(X_disk, out, chunk_size=3)
        >>> bool(np.array_equal(out, imputer.transform(X_missing)))
        True
        >>> import shutil; shutil.rmtree(folder)
        """
        check_is_fitted(self)
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
            raise TypeError(f"chunk_size must be an int; got {chunk_size!r}.")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1; got {chunk_size}.")
        for name, array in (("X", X), ("out", out)):
            if not hasattr(array, "shape") or not hasattr(array, "dtype"):
                raise TypeError(
                    f"transform_to needs arrays with a shape and a dtype (a NumPy array or "
                    f"memmap, a Zarr or HDF5 array); {name} is a {type(array).__name__}. "
                    "Fill a list of series with transform."
                )
        shape = tuple(int(n) for n in X.shape)
        if len(shape) not in (2, 3):
            raise ValueError(
                f"X must be 2-D (n_series, n_timesteps) or 3-D (n_series, n_channels, "
                f"n_timesteps); got shape {shape}."
            )
        if tuple(int(n) for n in out.shape) != shape:
            raise ValueError(f"out has shape {tuple(out.shape)}; X has {shape}.")
        dtype = np.dtype(np.float32 if np.dtype(X.dtype) == np.float32 else np.float64)
        if np.dtype(out.dtype) != dtype:
            raise ValueError(
                f"out has dtype {np.dtype(out.dtype).name}; filling X ({np.dtype(X.dtype).name}) "
                f"needs {dtype.name}, the dtype transform returns, so that observed values are "
                "written unchanged."
            )
        if isinstance(out, np.ndarray) and not out.flags.writeable:
            raise ValueError("out is read-only; open it writable (a memmap with mode='r+').")
        layout = "2d" if len(shape) == 2 else "3d"
        self._check_features(X, layout, reset=False)
        self._check_channels(1 if layout == "2d" else shape[1])

        def read(start: int, stop: int) -> np.ndarray:
            return self._check_signals(np.asarray(X[start:stop])).arrays

        def write(start: int, rows: list[np.ndarray]) -> None:
            block = np.stack(rows)
            out[start : start + len(rows)] = block[:, 0] if layout == "2d" else block

        chunk_size = int(chunk_size)
        group = self._series_per_call(shape[-1], chunk_size)
        self._fill_in_chunks(read, write, shape[0], chunk_size, group)
        return out

    def _series_per_call(self, n_timesteps: int, chunk_size: int) -> int:
        """Series per call of ``impute_signals`` when series of ``n_timesteps`` are filled
        in chunks of ``chunk_size``; a subclass whose estimates depend on which series are
        imputed together returns a number that keeps them the same."""
        return chunk_size

    def _fill_in_chunks(
        self,
        read: Callable[[int, int], Any],
        write: Callable[[int, list[np.ndarray]], None],
        n_series: int,
        chunk_size: int,
        group: int,
    ) -> None:
        """Fill series ``0..n_series`` read ``chunk_size`` at a time, imputing ``group`` at a
        time, and write them in order; warn once about what needed ``fill_values_``.

        ``read(start, stop)`` returns validated ``(C, T)`` series (missing entries equal to
        ``missing_values``); ``write(start, rows)`` stores filled series from ``start`` on.
        Rows wait in memory until every series before them is filled.
        """
        marker = float(self.missing_values)
        written = 0  # rows before this one are written
        filled: list[np.ndarray] = []  # rows from `written` on, read and (maybe) not filled
        waiting: list[tuple[int, np.ndarray, np.ndarray]] = []  # (row, values, observed)
        counts = {"empty": 0, "not_finite": 0}

        def impute(rows: list[tuple[int, np.ndarray, np.ndarray]]) -> None:
            estimates = self.impute_signals([v for _, v, _ in rows], [m for _, _, m in rows])
            for (row, _, observed), estimate in zip(rows, estimates, strict=True):
                target = filled[row - written]
                gaps = ~observed
                target[gaps] = self._finite(estimate, gaps, target.dtype, counts)
                empty = ~observed.any(axis=-1)  # channels with no observed value
                target[empty] = self.fill_values_[empty, None]

        def flush(stop: int) -> None:
            nonlocal written, filled
            if stop > written:
                write(written, filled[: stop - written])
                filled = filled[stop - written :]
                written = stop

        for start in range(0, n_series, chunk_size):
            block = read(start, min(start + chunk_size, n_series))
            for offset, values in enumerate(block):
                observed = ~missing_mask(values, marker)
                filled.append(np.array(values, copy=True))
                if not observed.all():
                    waiting.append((start + offset, values, observed))
                    counts["empty"] += int((~observed.any(axis=-1)).sum())
            while len(waiting) >= group:
                impute(waiting[:group])
                waiting = waiting[group:]
            flush(waiting[0][0] if waiting else start + len(block))
        if waiting:
            impute(waiting)
        flush(n_series)
        if counts["not_finite"]:
            warnings.warn(
                f"{counts['not_finite']} estimate(s) were not finite in the dtype of X (values "
                "too large for the model's scaling); they were filled with fill_values_.",
                UserWarning,
                stacklevel=3,
            )
        if counts["empty"]:
            warnings.warn(
                f"{counts['empty']} series channel(s) of X have no observed value; they were "
                "filled with fill_values_, the mean of the observed training values of "
                "their channel.",
                UserWarning,
                stacklevel=3,
            )

    def _finite(self, estimate, gaps: np.ndarray, dtype, counts: dict[str, int]) -> np.ndarray:
        """The estimate (C, T) at ``gaps``, never NaN or infinite: an estimate that is not
        finite in ``dtype`` is replaced by its channel's ``fill_values_`` (and counted)."""
        with np.errstate(over="ignore", invalid="ignore"):
            values = np.asarray(estimate).astype(dtype)
        bad = ~np.isfinite(values) & gaps
        if bad.any():
            channels = np.nonzero(bad)[0]
            values[bad] = self.fill_values_[channels].astype(dtype)
            counts["not_finite"] += int(bad.sum())
        return values[gaps]

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the output columns: the input's time-step names, unchanged.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Column names of the input; defaults to ``feature_names_in_``, or
            ``x0, x1, ...`` when ``fit`` saw no names.

        Returns
        -------
        ndarray of str of shape (n_features_in_,)

        Raises
        ------
        ValueError
            If the imputer was fitted on 3-D or ragged series, which have no columns.
        """
        check_is_fitted(self)
        if not hasattr(self, "n_features_in_"):
            raise ValueError(
                f"{type(self).__name__} was fitted on 3-D or ragged series, which have no "
                "feature names; feature names and set_output(transform='pandas') apply "
                "to 2-D input of shape (n_series, n_timesteps)."
            )
        return OneToOneFeatureMixin.get_feature_names_out(self, input_features)


def _channel_sums(arrays, observed) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: number and sum of the observed values."""
    counts = sum(m.sum(axis=-1) for m in observed)
    sums = sum(
        np.where(m, a, 0).sum(axis=-1, dtype=np.float64)
        for a, m in zip(arrays, observed, strict=True)
    )
    return np.asarray(counts), np.asarray(sums)


# ---------------------------------------------------------------------- scaling
def _signed_log1p(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def _signed_expm1(y: np.ndarray) -> np.ndarray:
    return np.sign(y) * np.expm1(np.abs(y))


class _SeriesScale:
    """Per series and channel: the scaled values the network sees, and the way back.

    ``scaling="log1p"`` maps ``x -> sign(x) log1p(|x|)`` (plain ``log1p`` for counts)
    and then standardises each series and channel with the mean and standard deviation
    of its observed values; ``"standard"`` only standardises; None leaves values as
    they are. Missing entries become 0, the series' mean after standardisation.
    """

    def __init__(self, values: np.ndarray, observed: np.ndarray, scaling: str | None) -> None:
        self.scaling = scaling
        values = np.asarray(values, dtype=np.float64)
        mapped = _signed_log1p(values) if scaling == "log1p" else values
        mapped = np.where(observed, mapped, 0.0)
        count = np.maximum(observed.sum(axis=-1, keepdims=True), 1)
        if scaling is None:
            self.loc = np.zeros(count.shape)
            self.scale = np.ones(count.shape)
        else:
            # Relative to the peak, so that huge values (1e160) give no overflow.
            peak = np.abs(mapped).max(axis=-1, keepdims=True)
            peak = np.where(peak > 0, peak, 1.0)
            unit = mapped / peak
            mean = unit.sum(axis=-1, keepdims=True) / count
            centred = np.where(observed, unit - mean, 0.0)
            std = np.sqrt(np.square(centred).sum(axis=-1, keepdims=True) / count)
            self.loc = mean * peak
            # A constant series (or a single observation) has no spread to divide by.
            self.scale = np.where(std > 0, std * peak, 1.0)
        self.z = np.where(observed, (mapped - self.loc) / self.scale, 0.0)
        # Estimates are kept within the observed range widened by one standard
        # deviation: the inverse of log1p grows exponentially and must stay finite.
        seen = observed.any(axis=-1, keepdims=True)
        low = np.where(observed, self.z, np.inf).min(axis=-1, keepdims=True)
        high = np.where(observed, self.z, -np.inf).max(axis=-1, keepdims=True)
        self.low = np.where(seen, low, 0.0) - 1.0
        self.high = np.where(seen, high, 0.0) + 1.0

    def inverse(self, z: np.ndarray) -> np.ndarray:
        z = np.clip(z, self.low, self.high)
        mapped = z * self.scale + self.loc
        return _signed_expm1(mapped) if self.scaling == "log1p" else mapped


def _network_input(values: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Values (0 where not visible) stacked on the visibility mask: (N, 2C, L)."""
    return torch.cat([values * visible, visible], dim=1)


class TorchImputer(BaseSeriesImputer, TorchEstimator):
    """Base class of imputers trained without complete data on tsfilm's engine.

    Training is self-supervised. Each batch takes random windows of
    ``window_length`` time steps, hides a further ``mask_rate`` of the observed values
    (drawn with the engine's seeded ``torch.Generator``) and trains the network to
    predict them: the loss is the mean squared error on the hidden entries only, in
    the scaled space (see ``scaling`` in :class:`TFiLMImputer`). The network receives
    ``2 * C`` channels, the scaled values (0 where missing or hidden) and the mask of
    the values it may see, so a true zero and a missing value differ; it returns ``C``
    channels.

    At ``transform`` each series is scaled with its own observed values, run through
    the network in chunks (``chunk_length`` time steps if the estimator has that
    parameter, else ``window_length_``, overlapping by half and cross-faded with
    :func:`~tsfilm.preprocessing.overlap_add`) and scaled back. If every observed
    training value was non-negative (counts, sales), estimates are clipped at 0.

    Subclasses list their hyper-parameters in ``__init__`` (``missing_values``,
    ``window_length``, ``mask_rate``, ``scaling`` and the engine's parameters are
    read here) and implement ``build_module``, a network mapping ``(N, 2C, L)`` to
    ``(N, C, L)`` built from hyper-parameters and fitted attributes. A network that
    needs inputs of one length sets the class attribute ``fixed_length = True``: its
    windows are then always ``window_length_`` long (shorter ones padded as missing).
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **BaseSeriesImputer._parameter_constraints,
        **TorchEstimator._parameter_constraints,
        "window_length": [int_at_least(1)],
        "mask_rate": [StrictInterval(Real, 0, 1, closed="neither")],
        "scaling": [StrOptions({"log1p", "standard"}), None],
    }
    _saved_attributes: ClassVar[tuple[str, ...]] = (
        *TorchEstimator._saved_attributes,
        "n_channels_",
        "fill_values_",
        "window_length_",
        "non_negative_",
        "n_features_in_",
        "feature_names_in_",
    )
    #: Whether the network needs inputs of exactly ``window_length_`` steps.
    fixed_length: ClassVar[bool] = False

    # ------------------------------------------------------------------ fit
    def fit_signals(self, signals: Signals, observed) -> None:
        """Scale every series and train the network to recover hidden values."""
        arrays = list(signals.arrays)
        masks = list(observed)
        self.non_negative_ = bool(
            all((a[m] >= 0).all() for a, m in zip(arrays, masks, strict=True))
        )
        if not self.continues_training():
            self.window_length_ = int(min(self.window_length, int(signals.lengths.max())))
        # Series without any observed value teach nothing.
        keep = [i for i, m in enumerate(masks) if m.any()]
        values = [
            torch.as_tensor(_SeriesScale(arrays[i], masks[i], self.scaling).z, dtype=torch.float32)
            for i in keep
        ]
        if not all(torch.isfinite(v).all() for v in values):
            raise ValueError(
                f"X has values beyond float32's range after scaling={self.scaling!r}; use "
                "scaling='standard' or 'log1p', which scale every series to unit spread."
            )
        visible = [torch.as_tensor(masks[i], dtype=torch.float32) for i in keep]
        self.run_training((values, visible))

    def _hide(self, visible: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return visible * (torch.rand(visible.shape, generator=generator) < self.mask_rate)

    def train_batches(self, data, generator: torch.Generator) -> Iterator[tuple]:
        """Random windows with ``mask_rate`` of their observed values hidden."""
        for x, m in random_windows(data, self.window_length_, self.batch_size, generator):
            hidden = self._hide(m, generator)
            yield _network_input(x, m - hidden), x, hidden

    def valid_batches(self, data) -> Iterator[tuple]:
        """Windows covering every series, with the same hidden entries at every epoch."""
        generator = torch.Generator().manual_seed(0)
        for x, m in grid_windows(data, self.window_length_, self.batch_size):
            hidden = self._hide(m, generator)
            yield _network_input(x, m - hidden), x, hidden

    def compute_loss(self, module: torch.nn.Module, batch: tuple) -> torch.Tensor:
        """Mean squared error on the hidden entries (0 when nothing is hidden)."""
        inputs, target, hidden = batch
        error = (module(inputs).float() - target) ** 2 * hidden
        return error.sum() / hidden.sum().clamp(min=1.0)

    def splits_batches(self) -> bool:
        """True for this class's loss, a mean over the hidden entries (:meth:`loss_weight`);
        False for a subclass with a loss of its own (it says so itself)."""
        return type(self).compute_loss is TorchImputer.compute_loss

    def loss_weight(self, batch: tuple) -> float:
        """The hidden entries of the part, over which its loss averages."""
        return float(batch[2].sum())

    # ------------------------------------------------------------------ impute
    def _series_per_call(self, n_timesteps: int, chunk_size: int) -> int:
        """A multiple of the series whose windows fill whole batches, near ``chunk_size``.

        Windows of consecutive series share batches; when each call ends on a full
        batch, the batches, and so the estimates, are those of one call on all series.
        """
        window = int(getattr(self, "chunk_length", None) or self.window_length_)
        per_series = len(chunk_spans(n_timesteps, window, window // 2))
        unit = self.batch_size // math.gcd(self.batch_size, per_series)
        return max(1, chunk_size // unit) * unit

    def impute_signals(self, values, observed) -> list[np.ndarray]:
        """Scale, run the network in overlapping chunks, scale back (clipped at 0)."""
        scales = [_SeriesScale(v, m, self.scaling) for v, m in zip(values, observed, strict=True)]
        inputs = [
            np.concatenate([scale.z, m]).astype(np.float32)
            for scale, m in zip(scales, observed, strict=True)
        ]
        chunk = int(getattr(self, "chunk_length", None) or self.window_length_)
        fixed = self.window_length_ if self.fixed_length else None
        with self.inference() as device:

            def forward(x: np.ndarray) -> np.ndarray:
                length = x.shape[-1]
                if fixed is not None and length < fixed:  # padded as missing
                    x = np.pad(x, ((0, 0), (0, 0), (0, fixed - length)))
                out = self.module_(torch.as_tensor(x).to(device)).float().cpu().numpy()
                return out[..., :length]

            outputs = self.forward_windows(
                [x.shape[-1] for x in inputs],
                lambda i, start, stop: inputs[i][:, start:stop],
                forward,
                window=chunk,
                overlap=chunk // 2,
            )
            estimates = [scale.inverse(out) for scale, out in zip(scales, outputs, strict=True)]
        return [np.maximum(e, 0.0) if self.non_negative_ else e for e in estimates]


class UNetImputer(TorchImputer):
    """Imputation with a :class:`~tsfilm.nn.TFiLMUNet`: the shared body of
    :class:`TFiLMImputer` and the Conv baseline.

    A subclass defines ``__init__`` with the parameters of :class:`TorchImputer`,
    ``chunk_length`` and any of the U-Net's (:data:`~tsfilm.estimators.UNET_CONSTRAINTS`);
    U-Net arguments it does not expose take the class attribute ``network_defaults``
    or the U-Net's defaults.
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TorchImputer._parameter_constraints,
        **UNET_CONSTRAINTS,
        "chunk_length": [int_at_least(2), None],
    }

    #: U-Net arguments fixed by the class (the Conv baseline sets ``{"tfilm": False}``).
    network_defaults: ClassVar[dict[str, Any]] = {}
    #: Parameters added after model files were first written, with the value that
    #: reproduces a file that lacks them.
    _legacy_params: ClassVar[dict[str, Any]] = {"up_activation": "relu"}

    def build_module(self) -> TFiLMUNet:
        """The U-Net: values and mask in (``2 * n_channels_``), values out."""
        return TFiLMUNet(
            **unet_kwargs(self, in_channels=2 * self.n_channels_, out_channels=self.n_channels_)
        )


@register("tfilm", task="imputation")
class TFiLMImputer(UNetImputer):
    """Fill missing values in time series with a TFiLM U-Net (Birnbaum et al., 2019).

    The network (:class:`~tsfilm.nn.TFiLMUNet`) receives each series scaled with its
    own observed values, with missing entries set to 0, together with the mask of
    observed entries, so a true zero and a missing value differ; a residual connection
    from the value channels makes it start from the series' mean and learn
    corrections. It learns from incomplete data alone: every training batch hides a
    further ``mask_rate`` of the observed values of random windows and the loss is
    taken on those hidden entries only. ``transform`` fills every missing entry and
    returns observed values bit-for-bit.

    Parameters
    ----------
    missing_values : float, default=np.nan
        Marker of a missing value: NaN, or a number such as 0 for the paper's
        zero-coded setting (then every 0 counts as missing).
    window_length : int, default=256
        Length of the random training windows; longer series are filled in chunks of
        ``chunk_length`` blended with cross-fades.
    mask_rate : float, default=0.2
        Share of the observed values hidden in each training window.
    scaling : {"log1p", "standard"} or None, default="log1p"
        Per-series scaling, undone on output. "log1p" maps ``x`` to
        ``sign(x) log1p(|x|)`` (``log1p`` for non-negative data, which tames heavy
        tails such as sales counts) and then standardises each series and channel with
        the mean and standard deviation of its observed values; "standard" only
        standardises; None feeds the raw values.
    depth : int, default=3
        Number of down-sampling (and up-sampling) blocks of the U-Net.
    width : float, default=0.125
        Multiplies every block's number of filters (0.125 gives 16 to 32 filters per
        block, a network that trains on a CPU).
    max_filters : int, default=256
        Cap on the filters of a block before ``width`` is applied.
    block_length : int, default=16
        TFiLM block length in time steps at the input rate.
    rnn : {"lstm", "gru", "bilstm"}, default="bilstm"
        The recurrent network of the TFiLM layers. A gap has data on both sides, so
        the default reads the blocks in both directions; "lstm" is the paper's
        causal choice for super-resolution.
    modulation : {"affine", "scale"}, default="affine"
        The paper's FiLM (gamma and beta) or the authors' code (gamma only).
    tfilm, skip, residual : bool, default=True
        TFiLM layers, U-Net skip connections, residual from the value channels.
        ``tfilm=False`` is the paper's "Conv." baseline.
    dropout : float, default=0.1
        Dropout rate of every block.
    up_activation : {"relu", "leaky_relu"}, default="relu"
        Activation of the up blocks (:class:`~tsfilm.nn.TFiLMUNet`): ReLU as in the
        paper's code, or LeakyReLU with slope 0.2, whose units cannot die in training.
    chunk_length : int or None, default=None
        Length of the chunks ``transform`` runs the network on; None uses the fitted
        ``window_length_``. Neighbouring chunks overlap by half and are cross-faded.
    {engine}

    Attributes
    ----------
    module_ : TFiLMUNet
        The trained network, ``2 * n_channels_`` channels in and ``n_channels_`` out.
    n_channels_ : int
        Number of channels per series.
    window_length_ : int
        Length of the training windows (``window_length``, or the longest series if
        shorter).
    fill_values_ : ndarray of shape (n_channels_,)
        Mean of the observed training values of each channel, the value of a series
        channel with no observed value at all (a warning is issued).
    non_negative_ : bool
        Whether every observed training value was non-negative; then estimates are
        clipped at 0.
    n_features_in_ : int
        Number of time steps of 2-D training input, which 2-D input to ``transform``
        must have (absent after 3-D or ragged input, which may have any length).
    feature_names_in_ : ndarray of str of shape (n_features_in_,)
        Column names of a training DataFrame.
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``valid_loss`` (None without validation),
        ``seconds``; losses are mean squared errors on the hidden entries, scaled.
    n_epochs_ : int
        Epochs trained.
    best_epoch_ : int
        Epoch whose weights were kept.

    See Also
    --------
    tsfilm.preprocessing.hide_at_random : Hide observed values to score an imputer.
    tsfilm.metrics.masked_l2_scorer : Score an imputer in ``GridSearchCV``.
    sklearn.impute.KNNImputer : Fill from the nearest other series.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm import TFiLMImputer
    >>> from tsfilm.preprocessing import hide_at_random
    >>> t = np.arange(64) / 64
    >>> X = np.stack([np.sin(2 * np.pi * f * t) for f in (1, 2, 3, 4)])
    >>> X_missing, hidden = hide_at_random(X, 0.2, random_state=0)
    >>> imputer = TFiLMImputer(**TFiLMImputer.get_test_params()[0]).fit(X_missing)
    >>> X_filled = imputer.transform(X_missing)
    >>> X_filled.shape, bool(np.isnan(X_filled).any())
    ((4, 64), False)
    >>> bool(np.array_equal(X_filled[~hidden], X[~hidden]))
    True
    """

    def __init__(
        self,
        *,
        missing_values: float = np.nan,
        window_length: int = 256,
        mask_rate: float = 0.2,
        scaling: str | None = "log1p",
        depth: int = 3,
        width: float = 0.125,
        max_filters: int = 256,
        block_length: int = 16,
        rnn: str = "bilstm",
        modulation: str = "affine",
        tfilm: bool = True,
        skip: bool = True,
        residual: bool = True,
        dropout: float = 0.1,
        up_activation: str = "relu",
        chunk_length: int | None = None,
        max_epochs: int = 50,
        batch_size: int = 32,
        learning_rate: float = 1e-3,
        validation_fraction: float = 0.1,
        patience: int | None = 10,
        max_time: float | None = None,
        device: Any = "auto",
        precision: str = "auto",
        n_threads: int | str | None = "auto",
        random_state: Any = None,
        verbose: int = 0,
        warm_start: bool = False,
    ) -> None:
        self.missing_values = missing_values
        self.window_length = window_length
        self.mask_rate = mask_rate
        self.scaling = scaling
        self.depth = depth
        self.width = width
        self.max_filters = max_filters
        self.block_length = block_length
        self.rnn = rnn
        self.modulation = modulation
        self.tfilm = tfilm
        self.skip = skip
        self.residual = residual
        self.dropout = dropout
        self.up_activation = up_activation
        self.chunk_length = chunk_length
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.max_time = max_time
        self.device = device
        self.precision = precision
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Test settings (``parameter_set="default"``): a one-level U-Net, and a two-level one with
        LSTM TFiLM and standard scaling.
        """
        tiny = {
            "window_length": 32,
            "depth": 1,
            "width": 0.1,
            "max_filters": 64,
            "block_length": 8,
            "dropout": 0.0,
            "max_epochs": 2,
            "batch_size": 16,
            "random_state": 0,
        }
        return [tiny, {**tiny, "depth": 2, "rnn": "lstm", "scaling": "standard"}]


document_engine_params(TFiLMImputer)
