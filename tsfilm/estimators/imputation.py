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

import warnings
from collections.abc import Iterator
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
from tsfilm.preprocessing import missing_mask
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


class BaseSeriesImputer(TransformerMixin, BaseEstimator):
    """Base class of tsfilm's imputers: the contract, without a model.

    ``fit(X)`` validates ``X`` (2-D ``(n_series, n_timesteps)``, 3-D ``(n_series,
    n_channels, n_timesteps)`` or a list of series of different lengths), finds the
    missing entries (equal to ``missing_values``), sets ``n_channels_`` and
    ``fill_values_`` and calls ``self.fit_signals(signals, observed)``.

    ``transform(X)`` copies ``X``, asks ``self.impute_signals(values, observed)`` for estimates
    of the series that miss something, and writes them into the missing entries only,
    so observed values come back bit-for-bit and the dtype (float32 or float64) is kept.
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
        if signals.layout == "2d":
            # Feature names and n_features_in_, checked as every scikit-learn estimator does.
            validate_data(self, X, reset=reset, skip_check_array=True)
        elif reset:
            for name in ("n_features_in_", "feature_names_in_"):
                if hasattr(self, name):
                    delattr(self, name)
        if signals.is_dense:
            observed = ~missing_mask(signals.arrays, marker)
        else:
            observed = [~missing_mask(a, marker) for a in signals.arrays]
        return signals, observed

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
        signals, observed = self._validate_input(X, reset=False)
        if signals.n_channels != self.n_channels_:
            raise ValueError(
                f"X has {signals.n_channels} channel(s) but the imputer was fitted on "
                f"{self.n_channels_}."
            )
        output = (
            np.array(signals.arrays, copy=True)
            if signals.is_dense
            else [np.array(a, copy=True) for a in signals.arrays]
        )
        needs = [i for i, m in enumerate(observed) if not m.all()]
        if needs:
            estimates = self.impute_signals(
                [signals.series(i) for i in needs], [observed[i] for i in needs]
            )
            for i, estimate in zip(needs, estimates, strict=True):
                gaps = ~observed[i]
                output[i][gaps] = self._finite(estimate, gaps, output[i].dtype)
        n_empty = 0
        for out, m in zip(output, observed, strict=True):
            empty = ~m.any(axis=-1)  # channels with no observed value
            out[empty] = self.fill_values_[empty, None]
            n_empty += int(empty.sum())
        if n_empty:
            warnings.warn(
                f"{n_empty} series channel(s) of X have no observed value; they were "
                "filled with fill_values_, the mean of the observed training values of "
                "their channel.",
                UserWarning,
                stacklevel=2,
            )
        return signals.restore(output)

    def _finite(self, estimate, gaps: np.ndarray, dtype) -> np.ndarray:
        """The estimate (C, T) at ``gaps``, never NaN or infinite: an estimate that is not
        finite in ``dtype`` is replaced by its channel's ``fill_values_``, with a warning."""
        with np.errstate(over="ignore", invalid="ignore"):
            values = np.asarray(estimate).astype(dtype)
        bad = ~np.isfinite(values) & gaps
        if bad.any():
            channels = np.nonzero(bad)[0]
            values[bad] = self.fill_values_[channels].astype(dtype)
            warnings.warn(
                f"{int(bad.sum())} estimate(s) were not finite in {np.dtype(dtype).name} (values "
                "too large for the model's scaling); they were filled with fill_values_.",
                UserWarning,
                stacklevel=3,
            )
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

    # ------------------------------------------------------------------ impute
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
