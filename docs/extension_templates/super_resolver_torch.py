"""Extension template: a super-resolver with a network, on tsfilm's training engine.

Copy this file into your package, rename the classes and the registered name, and change
the network. ``SuperResolverMixin`` gives the data contract (validation, pairing,
layouts, ``upsample``, ``score``); ``TorchEstimator`` gives the training engine (device,
seeding, Adam, validation split and early stopping, ``max_time``, ``history_``,
``warm_start``, progress bar, pickling, model files). The estimator adds its
hyper-parameters, the network (``build_module``), the batches (``train_batches``,
``valid_batches``), the loss (``compute_loss``) and prediction (``predict_signals``).
Run the file to check the class with tsfilm's conformance kit.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from tsfilm.estimators import (
    SuperResolverMixin,
    TorchEstimator,
    document_engine_params,
    grid_windows,
    random_windows,
)
from tsfilm.registry import register
from tsfilm.validation import Signals, int_at_least


class ResidualCNN(nn.Module):
    """Two convolutions that add a correction to their input: (N, C, T) to (N, C, T)."""

    def __init__(self, channels: int, n_filters: int, kernel_size: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv1d(channels, n_filters, kernel_size, padding="same"),
            nn.ReLU(),
            nn.Conv1d(n_filters, channels, kernel_size, padding="same"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layers(x)


def shortest(data: list[list[torch.Tensor]], length: int) -> int:
    """``length``, or the length of the shortest series if that is shorter."""
    return min(length, min(x.shape[-1] for x in data[0]))


@register("residual_cnn", task="super_resolution")
@document_engine_params
class ResidualCNNSuperResolver(SuperResolverMixin, TorchEstimator):
    """A small convolutional network that corrects the cubic spline.

    The low-rate signal is up-sampled with a cubic spline; the network learns the
    residual that turns the spline into the high-rate signal, on random patches of
    ``patch_length`` samples, and predicts in overlapping windows.

    Parameters
    ----------
    ratio : int or None, default=None
        Up-sampling ratio. ``fit(X_low, y_high)`` reads it from the shapes;
        ``fit(X_high)`` needs it to degrade ``X_high``.
    lowpass : bool, default=True
        How ``fit(X_high)`` degrades its input: low-pass decimation or plain subsampling.
    n_filters : int, default=32
        Channels of the hidden convolution.
    kernel_size : int, default=9
        Length of both convolution kernels.
    patch_length : int, default=1024
        Training patch length at the high rate; prediction runs on windows four times
        as long.
    {engine}

    Attributes
    ----------
    module_ : ResidualCNN
        The trained network.
    ratio_ : int
        The up-sampling ratio.
    n_channels_ : int
        Number of channels per series.
    scale_ : float
        Root mean square of the training targets; the network sees signals divided by it.
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``valid_loss``, ``seconds``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(256) / 256
    >>> X_high = np.stack([np.sin(2 * np.pi * f * t) for f in (3, 5, 7, 11)])
    >>> est = ResidualCNNSuperResolver(ratio=2, n_filters=4, patch_length=64, max_epochs=2,
    ...                                random_state=0).fit(X_high)
    >>> est.predict(X_high[:, ::2]).shape
    (4, 256)
    """

    # scikit-learn's convention: the accepted values of every parameter, the bases'
    # dicts merged with this class's own entries.
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SuperResolverMixin._parameter_constraints,
        **TorchEstimator._parameter_constraints,
        "n_filters": [int_at_least(1)],
        "kernel_size": [int_at_least(1)],
        "patch_length": [int_at_least(2)],
    }
    # Fitted attributes that a model file stores besides the weights: those that
    # build_module and predict need (tsfilm.save, tsfilm.load).
    _saved_attributes: ClassVar[tuple[str, ...]] = (
        *TorchEstimator._saved_attributes,
        "ratio_",
        "n_channels_",
        "scale_",
        "n_features_in_",
    )

    def __init__(
        self,
        ratio: int | None = None,
        *,
        lowpass: bool = True,
        n_filters: int = 32,
        kernel_size: int = 9,
        patch_length: int = 1024,
        max_epochs: int = 50,
        batch_size: int = 16,
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
        self.ratio = ratio
        self.lowpass = lowpass
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.patch_length = patch_length
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
        """Small, fast settings for the conformance checks (two or more)."""
        tiny = {"n_filters": 4, "patch_length": 32, "max_epochs": 2, "random_state": 0}
        return [tiny, {**tiny, "kernel_size": 3, "validation_fraction": 0.0}]

    # ------------------------------------------------------------------ fit
    def fit_signals(self, low: Signals, high: Signals) -> None:
        """Train on the spline of ``low`` against ``high``, both divided by ``scale_``."""
        if not self.continues_training():
            self.scale_ = self.signal_scale(high)
        # normalize: divided by scale_ in the signal's precision, as float32
        inputs = [torch.from_numpy(self.normalize(a)) for a in self.spline(low, high.lengths)]
        targets = [torch.from_numpy(self.normalize(a)) for a in high.arrays]
        # Splits the series, builds the network (build_module) and trains it, seeded by
        # random_state.
        self.run_training((inputs, targets))

    def build_module(self) -> ResidualCNN:
        """The network, from hyper-parameters and fitted attributes."""
        return ResidualCNN(self.n_channels_, self.n_filters, self.kernel_size)

    def train_batches(self, data, generator: torch.Generator):
        """One epoch of random (input, target) patches, drawn with ``generator``."""
        return random_windows(data, shortest(data, self.patch_length), self.batch_size, generator)

    def valid_batches(self, data):
        """Patches covering every validation series, the same at every epoch."""
        return grid_windows(data, shortest(data, self.patch_length), self.batch_size)

    def compute_loss(self, module: nn.Module, batch: tuple) -> torch.Tensor:
        """Mean squared error of one batch (already on the device)."""
        x, y = batch
        return torch.mean((module(x).float() - y) ** 2)

    # ------------------------------------------------------------------ predict
    def predict_signals(self, low: Signals) -> list[np.ndarray]:
        """The network on overlapping windows of the spline, cross-faded."""
        upsampled = self.spline(low)
        window, dtype = 4 * self.patch_length, low.series(0).dtype
        with self.inference() as device:

            def forward(x: np.ndarray) -> np.ndarray:
                batch = torch.from_numpy(self.normalize(x)).to(device)
                return self.denormalize(self.module_(batch).float().cpu().numpy(), dtype)

            outputs = self.forward_windows(
                low.lengths * self.ratio_,
                lambda i, start, stop: upsampled[i][:, start:stop],
                forward,
                window=window,
                overlap=window // 8,
            )
            return list(outputs)


if __name__ == "__main__":
    from tsfilm.testing import check_plugin

    check_plugin(ResidualCNNSuperResolver, task="super_resolution")
    print("ResidualCNNSuperResolver passes tsfilm's conformance checks.")
