"""The paper's imputation baselines: cubic B-spline, dense DNN, and Conv (no TFiLM).

Each is a scikit-learn transformer with the contract of :class:`tsfilm.TFiLMImputer`
(``fit(X)`` on series with missing values, ``transform(X)`` fills them and returns the
observed values bit-for-bit), shared through
:class:`tsfilm.estimators.BaseSeriesImputer`, so any of them can replace another in a
``Pipeline`` or ``GridSearchCV``. They are registered for the task ``"imputation"`` as
``"spline"``, ``"dnn"`` and ``"conv"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import torch
from scipy.interpolate import make_interp_spline
from torch import nn

from tsfilm.estimators import (
    BaseSeriesImputer,
    TorchImputer,
    UNetImputer,
    document_engine_params,
)
from tsfilm.nn import DenseDNN
from tsfilm.registry import register
from tsfilm.validation import StrictInterval

__all__ = ["ConvImputer", "DNNImputer", "SplineImputer"]


def _spline_fill(values: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Interpolate one sequence (T,) through its observed points; see SplineImputer."""
    times = np.flatnonzero(observed)
    if times.size == 0:
        return np.zeros(values.shape)
    known = values[times].astype(np.float64)
    grid = np.arange(values.shape[-1])
    if times.size < 4:
        # np.interp is linear between the points and holds the end values outside.
        return np.interp(grid, times, known)
    estimates = np.empty(values.shape)
    inside = slice(times[0], times[-1] + 1)
    estimates[inside] = make_interp_spline(times, known, k=3)(grid[inside])
    estimates[: times[0]] = known[0]
    estimates[times[-1] + 1 :] = known[-1]
    return estimates


@register("spline", task="imputation")
class SplineImputer(BaseSeriesImputer):
    """Cubic B-spline through the observed values: the paper's "Spline" baseline.

    Each series and channel is interpolated on its own with the cubic B-spline through
    its observed points (:func:`scipy.interpolate.make_interp_spline`, not-a-knot end
    conditions); with two or three observed points the interpolation is linear, with
    one it is constant. Before the first and after the last observed point the nearest
    observed value is held (clamped), because extrapolating a cubic explodes. Nothing
    is learned: ``fit`` only records the layout and the per-channel means used for
    series with no observed value.

    Parameters
    ----------
    missing_values : float, default=np.nan
        Marker of a missing value: NaN, or a number such as 0 for zero-coded data.

    Attributes
    ----------
    n_channels_ : int
        Number of channels per series.
    fill_values_ : ndarray of shape (n_channels_,)
        Mean of the observed training values of each channel, the value of a series
        channel with no observed value at all (a warning is issued).
    n_features_in_ : int
        Number of time steps of 2-D training input.
    feature_names_in_ : ndarray of str of shape (n_features_in_,)
        Column names of a training DataFrame.

    See Also
    --------
    tsfilm.TFiLMImputer : The TFiLM network.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm.registry import make_model
    >>> X = np.array([[0.0, np.nan, 2.0, np.nan, 4.0, 5.0, np.nan]])
    >>> make_model("spline", task="imputation").fit_transform(X)
    array([[0., 1., 2., 3., 4., 5., 5.]])
    """

    def __init__(self, *, missing_values: float = np.nan) -> None:
        self.missing_values = missing_values

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Test settings (``parameter_set="default"``)."""
        return [{}, {"missing_values": 0.0}]

    def fit_signals(self, signals, observed) -> None:
        """Nothing to learn: ``fit`` has read the layout and the channel means."""

    def impute_signals(self, values, observed) -> list[np.ndarray]:
        """The spline through the observed points of every series and channel."""
        return [
            np.stack([_spline_fill(v, m) for v, m in zip(series, mask, strict=True)])
            for series, mask in zip(values, observed, strict=True)
        ]


class _WindowDNN(nn.Module):
    """A :class:`~tsfilm.nn.DenseDNN` on flattened windows: (N, 2C, L) -> (N, C, L).

    The output is added to the value channels and its last layer starts near zero, so,
    like the TFiLM U-Net, the network starts at the series' mean (0 in scaled space).
    """

    def __init__(
        self, n_channels: int, length: int, hidden_sizes: Sequence[int], dropout: float
    ) -> None:
        super().__init__()
        self.n_channels = n_channels
        self.length = length
        self.dense = DenseDNN(
            2 * n_channels * length,
            n_channels * length,
            hidden_sizes=tuple(hidden_sizes),
            dropout=dropout,
        )
        nn.init.normal_(self.dense.output.weight, std=1e-3)
        nn.init.zeros_(self.dense.output.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        correction = self.dense(x.flatten(1)).view(-1, self.n_channels, self.length)
        return x[:, : self.n_channels] + correction


@register("dnn", task="imputation")
class DNNImputer(TorchImputer):
    """A fully connected network on fixed-length windows: the paper's "DNN" baseline.

    Trained exactly as :class:`tsfilm.TFiLMImputer` (same scaling, same self-supervised
    hiding of ``mask_rate`` of the observed values, loss on the hidden entries), but the
    network is a :class:`tsfilm.nn.DenseDNN` that reads a whole window of
    ``window_length`` time steps, values and observation mask of every channel
    flattened, and returns a correction to the window's values. ``transform`` runs it
    on windows overlapping by half, cross-faded; series shorter than the window are
    padded as missing.

    Parameters
    ----------
    missing_values : float, default=np.nan
        Marker of a missing value: NaN, or a number such as 0 for zero-coded data.
    window_length : int, default=64
        Time steps per window; the network's input size is ``2 * n_channels *
        window_length``.
    mask_rate : float, default=0.2
        Share of the observed values hidden in each training window.
    scaling : {"log1p", "standard"} or None, default="log1p"
        Per-series scaling, as in :class:`tsfilm.TFiLMImputer`.
    hidden_sizes : sequence of int, default=(512, 512)
        Width of each hidden layer.
    dropout : float, default=0.1
        Dropout rate after every hidden layer.
    {engine}

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network.
    n_channels_, window_length_, fill_values_, non_negative_, n_features_in_
        As in :class:`tsfilm.TFiLMImputer`.
    feature_names_in_, history_, n_epochs_, best_epoch_
        As in :class:`tsfilm.TFiLMImputer`.

    See Also
    --------
    tsfilm.TFiLMImputer : The TFiLM network.
    tsfilm.nn.DenseDNN : The network.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.preprocessing import hide_at_random
    >>> t = np.arange(64) / 64
    >>> X = np.stack([np.sin(2 * np.pi * f * t) for f in (1, 2, 3, 4)])
    >>> X_missing, _ = hide_at_random(X, 0.2, random_state=0)
    >>> imputer = make_model("dnn", task="imputation", window_length=16, hidden_sizes=(32,),
    ...                      max_epochs=2, random_state=0)
    >>> bool(np.isnan(imputer.fit_transform(X_missing)).any())
    False
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TorchImputer._parameter_constraints,
        "hidden_sizes": ["array-like"],
        "dropout": [StrictInterval(Real, 0, 1, closed="left")],
    }
    fixed_length: ClassVar[bool] = True

    def __init__(
        self,
        *,
        missing_values: float = np.nan,
        window_length: int = 64,
        mask_rate: float = 0.2,
        scaling: str | None = "log1p",
        hidden_sizes: Sequence[int] = (512, 512),
        dropout: float = 0.1,
        max_epochs: int = 50,
        batch_size: int = 64,
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
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
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
        """Test settings (``parameter_set="default"``): a one-layer network on 16-step windows, and
        a two-layer one with standard scaling.
        """
        tiny = {
            "window_length": 16,
            "hidden_sizes": (16,),
            "dropout": 0.0,
            "max_epochs": 2,
            "batch_size": 8,
            "random_state": 0,
        }
        return [tiny, {**tiny, "hidden_sizes": (16, 16), "scaling": "standard"}]

    def build_module(self) -> _WindowDNN:
        """The dense network on flattened windows of ``window_length_`` steps."""
        return _WindowDNN(self.n_channels_, self.window_length_, self.hidden_sizes, self.dropout)


document_engine_params(DNNImputer)


@register("conv", task="imputation")
class ConvImputer(UNetImputer):
    """The TFiLM imputer with its TFiLM layers removed: the paper's "Conv" baseline.

    The same U-Net convolutions, skip connections and residual, scaling,
    self-supervised training and chunked ``transform`` as :class:`tsfilm.TFiLMImputer`,
    which it shares its code with (:class:`tsfilm.estimators.UNetImputer`), and the same
    parameters except those of the TFiLM layers (``block_length``, ``rnn``,
    ``modulation``, ``tfilm``). ``TFiLMImputer(tfilm=False)`` builds the same network;
    the difference between the two models measures what TFiLM adds.

    Parameters
    ----------
    missing_values : float, default=np.nan
        Marker of a missing value: NaN, or a number such as 0 for zero-coded data.
    window_length : int, default=256
        Length of the random training windows.
    mask_rate : float, default=0.2
        Share of the observed values hidden in each training window.
    scaling : {"log1p", "standard"} or None, default="log1p"
        Per-series scaling, as in :class:`tsfilm.TFiLMImputer`.
    depth : int, default=3
        Number of down-sampling (and up-sampling) blocks of the U-Net.
    width : float, default=0.125
        Multiplies every block's number of filters.
    max_filters : int, default=256
        Cap on the filters of a block before ``width`` is applied.
    skip, residual : bool, default=True
        U-Net skip connections, residual from the value channels.
    dropout : float, default=0.1
        Dropout rate of every block.
    up_activation : {"relu", "leaky_relu"}, default="relu"
        Activation of the up blocks: ReLU (the paper's) or LeakyReLU, as in
        :class:`tsfilm.TFiLMImputer`.
    chunk_length : int or None, default=None
        Length of the chunks ``transform`` runs the network on (``window_length_``).
    {engine}

    Attributes
    ----------
    module_ : TFiLMUNet
        The trained network, built with ``tfilm=False``.
    n_channels_, window_length_, fill_values_, non_negative_, n_features_in_
        As in :class:`tsfilm.TFiLMImputer`.
    feature_names_in_, history_, n_epochs_, best_epoch_
        As in :class:`tsfilm.TFiLMImputer`.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.preprocessing import hide_at_random
    >>> t = np.arange(64) / 64
    >>> X = np.stack([np.sin(2 * np.pi * f * t) for f in (1, 2, 3, 4)])
    >>> X_missing, _ = hide_at_random(X, 0.2, random_state=0)
    >>> imputer = make_model("conv", task="imputation", window_length=32, depth=2,
    ...                      width=0.1, max_epochs=2, random_state=0).fit(X_missing)
    >>> imputer.module_.tfilm, imputer.transform(X_missing).shape
    (False, (4, 64))
    """

    network_defaults: ClassVar[dict[str, Any]] = {"tfilm": False}

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
        """Test settings (``parameter_set="default"``): a one-level U-Net, and a two-level one
        without skip connections.
        """
        tiny = {
            "window_length": 32,
            "depth": 1,
            "width": 0.1,
            "max_filters": 64,
            "dropout": 0.0,
            "max_epochs": 2,
            "batch_size": 16,
            "random_state": 0,
        }
        return [tiny, {**tiny, "depth": 2, "skip": False}]


document_engine_params(ConvImputer)
