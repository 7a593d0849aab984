"""The paper's super-resolution baselines: cubic spline, dense DNN, and Conv (no TFiLM).

Each is a scikit-learn regressor with the contract of :class:`tsfilm.TFiLMSuperResolver`
(``fit(X_low, y_high)`` or ``fit(X_high)`` with ``ratio``; ``predict(X_low)``;
``upsample``; ``score`` = mean SNR), shared through
:class:`tsfilm.estimators.SuperResolverMixin`, so any of them can replace another in a
``Pipeline`` or ``GridSearchCV``. They are registered for the task ``"super_resolution"``
as ``"spline"``, ``"dnn"`` and ``"conv"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator

from tsfilm.estimators import (
    SuperResolverMixin,
    TorchEstimator,
    UNetSuperResolver,
    document_engine_params,
    grid_windows,
    random_windows,
)
from tsfilm.nn import DenseDNN
from tsfilm.registry import register
from tsfilm.validation import Signals, StrictInterval, int_at_least

__all__ = ["ConvSuperResolver", "DNNSuperResolver", "SplineSuperResolver"]


@register("spline", task="super_resolution")
class SplineSuperResolver(SuperResolverMixin, BaseEstimator):
    """Cubic B-spline interpolation to the high rate: the paper's "Spline" baseline.

    Nothing is learned: ``fit`` only reads the ratio and the number of channels, and
    ``predict`` is :func:`tsfilm.preprocessing.spline_upsample`, the same interpolation
    that prepares the input of the networks.

    Parameters
    ----------
    ratio : int or None, default=None
        Up-sampling ratio r. With ``fit(X_low, y_high)`` it is read from the shapes (and
        checked against this value if given); ``fit(X_high)`` needs it.
    lowpass : bool, default=True
        How ``fit(X_high)`` degrades its input, as in :class:`tsfilm.TFiLMSuperResolver`;
        ``fit`` validates the pairs the same way, so the two estimators accept and refuse
        the same data.

    Attributes
    ----------
    ratio_ : int
        The up-sampling ratio.
    n_channels_ : int
        Number of channels per series.
    n_features_in_ : int
        Number of low-rate time steps of the training series when they were passed as one
        2-D array (``predict`` accepts any length).

    See Also
    --------
    tsfilm.preprocessing.spline_upsample : The interpolation itself.
    DNNSuperResolver, ConvSuperResolver : The learned baselines.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm.registry import make_model
    >>> t = np.arange(64) / 64
    >>> y = np.stack([np.sin(2 * np.pi * f * t) for f in (2, 3)])
    >>> est = make_model("spline", task="super_resolution").fit(y[:, ::4], y)
    >>> est.ratio_, est.predict(y[:, ::4]).shape
    (4, (2, 64))
    """

    def __init__(self, ratio: int | None = None, *, lowpass: bool = True) -> None:
        self.ratio = ratio
        self.lowpass = lowpass

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Test settings (``parameter_set="default"``)."""
        return [{}, {"lowpass": False}]

    def fit_signals(self, low: Signals, high: Signals) -> None:
        """Nothing to learn: ``fit`` has read the ratio and the channels."""

    def predict_signals(self, low: Signals) -> np.ndarray | list[np.ndarray]:
        """The cubic spline to the high rate (float32 for float32 input)."""
        return self.spline(low)


@register("dnn", task="super_resolution")
class DNNSuperResolver(SuperResolverMixin, TorchEstimator):
    """A fully connected network on fixed-length patches: the paper's "DNN" baseline.

    Every patch of ``patch_length`` samples at the high rate is interpolated with a cubic
    spline, flattened (all channels), and mapped by a :class:`tsfilm.nn.DenseDNN` to a
    correction of the same size that is added to it (the network starts at the spline,
    as the TFiLM network does). ``predict`` runs the network on windows of
    ``patch_length`` samples that overlap by ``overlap`` samples and cross-fades them
    (:func:`~tsfilm.preprocessing.chunk_spans`, :func:`~tsfilm.preprocessing.overlap_add`);
    the last window is shifted back to end with the signal, so any length of at least
    ``patch_length`` samples is covered by whole windows. Shorter signals (in ``fit`` and
    ``predict``) are padded with zeros at the end to ``patch_length`` and the output is
    cropped back.

    The defaults suit a CPU. The authors' code uses patches of 8192 samples, hidden
    layers of 8192 / 6 then 8192 / 2 units with batch normalisation and LeakyReLU(0.2),
    no dropout, and Adam; ``patch_length=8192, hidden_sizes=(1365, 4096)`` gives a
    network of that size (about 56 million weights).

    Parameters
    ----------
    ratio : int or None, default=None
        Up-sampling ratio r, as in :class:`tsfilm.TFiLMSuperResolver`.
    lowpass : bool, default=True
        How ``fit(X_high)`` degrades: low-pass decimation or plain subsampling.
    patch_length : int, default=256
        Samples per patch at the high rate; the network's input and output size is
        ``n_channels * patch_length``.
    hidden_sizes : sequence of int, default=(1024, 1024)
        Width of each hidden layer.
    dropout : float, default=0.0
        Dropout rate after every hidden layer.
    overlap : int or None, default=None
        Samples shared by neighbouring windows in ``predict``; None uses
        ``patch_length // 4``. 0 runs non-overlapping windows (the last one still shifted
        back to end with the signal).
    sample_rate : int or None, default=None
        Sample rate (Hz) of the high-rate signals, kept with the model for audio tools;
        not used in computation.
    {engine}

    Attributes
    ----------
    module_ : DenseDNN
        The trained network.
    ratio_ : int
        The up-sampling ratio.
    n_channels_ : int
        Number of channels per series.
    scale_ : float
        Root mean square of the training targets; the network sees signals divided by it.
    n_features_in_ : int
        Number of low-rate time steps of the training series when they were passed as one
        2-D array (``predict`` accepts any length).
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``valid_loss``, ``seconds``.
    n_epochs_ : int
        Epochs trained.
    best_epoch_ : int
        Epoch whose weights were kept.

    See Also
    --------
    tsfilm.TFiLMSuperResolver : The TFiLM network.
    tsfilm.nn.DenseDNN : The network.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm.registry import make_model
    >>> t = np.arange(256) / 256
    >>> X_high = np.stack([np.sin(2 * np.pi * f * t) for f in (3, 5, 7, 11)])
    >>> est = make_model("dnn", task="super_resolution", ratio=2, patch_length=64,
    ...                  hidden_sizes=(32,), max_epochs=2, random_state=0)
    >>> est.fit(X_high).predict(X_high[:, ::2]).shape
    (4, 256)
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SuperResolverMixin._parameter_constraints,
        **TorchEstimator._parameter_constraints,
        "patch_length": [int_at_least(2)],
        "hidden_sizes": ["array-like"],
        "dropout": [StrictInterval(Real, 0, 1, closed="left")],
        "overlap": [int_at_least(0), None],
        "sample_rate": [int_at_least(1), None],
    }
    _saved_attributes: ClassVar[tuple[str, ...]] = UNetSuperResolver._saved_attributes

    def __init__(
        self,
        ratio: int | None = None,
        *,
        lowpass: bool = True,
        patch_length: int = 256,
        hidden_sizes: Sequence[int] = (1024, 1024),
        dropout: float = 0.0,
        overlap: int | None = None,
        sample_rate: int | None = None,
        max_epochs: int = 50,
        batch_size: int = 64,
        learning_rate: float = 3e-4,
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
        self.ratio = ratio
        self.lowpass = lowpass
        self.patch_length = patch_length
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.overlap = overlap
        self.sample_rate = sample_rate
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
        """Test settings (``parameter_set="default"``): a one-layer network on 32-sample patches,
        and a two-layer one with dropout and non-overlapping windows.
        """
        tiny = {
            "patch_length": 32,
            "hidden_sizes": (16,),
            "max_epochs": 2,
            "batch_size": 8,
            "random_state": 0,
        }
        return [tiny, {**tiny, "hidden_sizes": (16, 16), "dropout": 0.1, "overlap": 0}]

    def _overlap(self) -> int:
        overlap = int(self.patch_length) // 4 if self.overlap is None else int(self.overlap)
        if overlap >= self.patch_length:
            raise ValueError(
                f"overlap must be smaller than patch_length={self.patch_length}, got {overlap}."
            )
        return overlap

    # ------------------------------------------------------------------ fit
    def fit_signals(self, low: Signals, high: Signals) -> None:
        """Train the network on spline-upsampled ``low`` against ``high``."""
        self._overlap()
        if not self.continues_training():
            self.scale_ = self.signal_scale(high)

        def tensors(arrays) -> list[torch.Tensor]:
            return [torch.from_numpy(self.normalize(a)) for a in arrays]

        inputs, targets = tensors(self.spline(low, high.lengths)), tensors(high.arrays)
        self.run_training((inputs, targets))

    def build_module(self) -> DenseDNN:
        """The dense network on flattened patches of every channel."""
        size = int(self.n_channels_) * int(self.patch_length)
        return DenseDNN(
            size,
            size,
            hidden_sizes=tuple(int(h) for h in self.hidden_sizes),
            dropout=self.dropout,
            residual=True,
        )

    def train_batches(self, data, generator: torch.Generator) -> Iterator[tuple]:
        """Random patches (zero-padded when a series is shorter), flattened."""
        for x, y in random_windows(data, int(self.patch_length), self.batch_size, generator):
            yield x.flatten(1), y.flatten(1)

    def valid_batches(self, data) -> Iterator[tuple]:
        """Patches covering every validation series, flattened."""
        for x, y in grid_windows(data, int(self.patch_length), self.batch_size):
            yield x.flatten(1), y.flatten(1)

    def compute_loss(self, module: torch.nn.Module, batch: tuple) -> torch.Tensor:
        """Root mean squared error per patch, averaged: the loss of the TFiLM network."""
        x, y = batch
        return torch.sqrt(torch.mean((module(x).float() - y) ** 2, dim=1) + 1e-6).mean()

    def splits_batches(self) -> bool:
        """True for this loss, a mean over patches (rows): training on the CPU may run a
        batch in halves on two threads."""
        return type(self).compute_loss is DNNSuperResolver.compute_loss

    # ------------------------------------------------------------------ predict
    def predict_signals(self, low: Signals) -> list[np.ndarray]:
        """The network on overlapping windows of the spline, cross-faded."""
        size = int(self.patch_length)
        dtype = low.series(0).dtype
        upsampled = self.spline(low)
        with self.inference() as device:

            def forward(x: np.ndarray) -> np.ndarray:
                n, channels, length = x.shape
                x = np.pad(self.normalize(x), ((0, 0), (0, 0), (0, size - length)))
                out = self.module_(torch.from_numpy(x).to(device).flatten(1)).float().cpu()
                return self.denormalize(out.numpy().reshape(n, channels, size)[..., :length], dtype)

            outputs = self.forward_windows(
                low.lengths * self.ratio_,
                lambda i, start, stop: upsampled[i][:, start:stop],
                forward,
                window=size,
                overlap=self._overlap(),
            )
            return list(outputs)


document_engine_params(DNNSuperResolver)


@register("conv", task="super_resolution")
class ConvSuperResolver(UNetSuperResolver):
    """The TFiLM U-Net with its TFiLM layers removed: the paper's "Conv" baseline.

    The same convolutions, sub-pixel up-sampling, skip connections, additive residual,
    training and chunked prediction as :class:`tsfilm.TFiLMSuperResolver`, which it
    shares its code with (:class:`tsfilm.estimators.UNetSuperResolver`), and the same
    parameters except those of the TFiLM layers (``block_length``, ``rnn``,
    ``modulation``, ``tfilm``). ``TFiLMSuperResolver(tfilm=False)`` builds the same
    network; the difference between the two models measures what TFiLM adds.

    Parameters
    ----------
    ratio : int or None, default=None
        Up-sampling ratio r, as in :class:`tsfilm.TFiLMSuperResolver`.
    lowpass : bool, default=True
        How ``fit(X_high)`` degrades: low-pass decimation or plain subsampling.
    patch_length : int, default=8192
        Length of the training patches at the high rate.
    depth : int, default=4
        Number of down-sampling (and up-sampling) blocks.
    width : float, default=1.0
        Multiplies every block's number of filters.
    max_filters : int, default=512
        Cap on the filters of a block.
    skip, residual : bool, default=True
        U-Net skip connections and the additive residual.
    stft_weight : float, default=0.0
        Weight of the multi-resolution STFT loss added to the RMSE, as in
        :class:`tsfilm.TFiLMSuperResolver`.
    dropout : float, default=0.5
        Dropout rate of every block.
    up_activation : {"relu", "leaky_relu"}, default="relu"
        Activation of the up blocks: ReLU (the paper's) or LeakyReLU, as in
        :class:`tsfilm.TFiLMSuperResolver`.
    chunk_length : int or None, default=None
        Length of the chunks ``predict`` runs the network on (``4 * patch_length``).
    sample_rate : int or None, default=None
        Sample rate (Hz) of the high-rate signals, kept with the model.
    {engine}

    Attributes
    ----------
    module_ : TFiLMUNet
        The trained network, built with ``tfilm=False``.
    ratio_, n_channels_, scale_, n_features_in_, history_, n_epochs_, best_epoch_
        As in :class:`tsfilm.TFiLMSuperResolver`.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm.registry import make_model
    >>> t = np.arange(256) / 256
    >>> X_high = np.stack([np.sin(2 * np.pi * f * t) for f in (3, 5, 7, 11)])
    >>> est = make_model("conv", task="super_resolution", ratio=2, depth=2, width=0.05,
    ...                  patch_length=128, max_epochs=2, random_state=0)
    >>> est.fit(X_high).predict(X_high[:, ::2]).shape
    (4, 256)
    >>> est.module_.tfilm
    False
    """

    network_defaults: ClassVar[dict[str, Any]] = {"tfilm": False}

    def __init__(
        self,
        ratio: int | None = None,
        *,
        lowpass: bool = True,
        patch_length: int = 8192,
        depth: int = 4,
        width: float = 1.0,
        max_filters: int = 512,
        skip: bool = True,
        residual: bool = True,
        stft_weight: float = 0.0,
        dropout: float = 0.5,
        up_activation: str = "relu",
        chunk_length: int | None = None,
        sample_rate: int | None = None,
        max_epochs: int = 50,
        batch_size: int = 16,
        learning_rate: float = 3e-4,
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
        self.ratio = ratio
        self.lowpass = lowpass
        self.patch_length = patch_length
        self.depth = depth
        self.width = width
        self.max_filters = max_filters
        self.skip = skip
        self.residual = residual
        self.stft_weight = stft_weight
        self.dropout = dropout
        self.up_activation = up_activation
        self.chunk_length = chunk_length
        self.sample_rate = sample_rate
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
        """Test settings (``parameter_set="default"``): a tiny U-Net, and a deeper one without skip
        connections.
        """
        tiny = {
            "depth": 2,
            "width": 0.05,
            "max_filters": 16,
            "patch_length": 64,
            "dropout": 0.0,
            "max_epochs": 2,
            "batch_size": 8,
            "random_state": 0,
        }
        return [tiny, {**tiny, "depth": 3, "skip": False}]


document_engine_params(ConvSuperResolver)
