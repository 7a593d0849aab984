"""Extension template: an imputer with a network, trained without complete data.

Copy this file into your package, rename the classes and the registered name, and change
the network. ``TorchImputer`` holds the whole method of :class:`tsfilm.TFiLMImputer`:
per-series scaling, self-supervised training (random windows of ``window_length`` steps
in which a further ``mask_rate`` of the observed values is hidden, loss on the hidden
entries), chunked ``transform`` with cross-fades, and the training engine. The estimator
adds its hyper-parameters and the network (``build_module``), which maps ``(N, 2C, L)``
(the scaled values, 0 where hidden or missing, then the mask of visible entries) to the
``(N, C, L)`` estimates. Run the file to check the class with tsfilm's conformance kit.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from tsfilm.estimators import TorchImputer, document_engine_params
from tsfilm.registry import register
from tsfilm.validation import int_at_least


class MaskedCNN(nn.Module):
    """Values and mask in, (N, 2C, L); a correction of the values out, (N, C, L)."""

    def __init__(self, channels: int, n_filters: int, kernel_size: int) -> None:
        super().__init__()
        self.channels = channels
        self.layers = nn.Sequential(
            nn.Conv1d(2 * channels, n_filters, kernel_size, padding="same"),
            nn.ReLU(),
            nn.Conv1d(n_filters, channels, kernel_size, padding="same"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, : self.channels] + self.layers(x)


@register("masked_cnn", task="imputation")
@document_engine_params
class MaskedCNNImputer(TorchImputer):
    """Fill missing values with a small convolutional network.

    Parameters
    ----------
    missing_values : float, default=np.nan
        Marker of a missing value: NaN, or a number such as 0 for zero-coded data.
    window_length : int, default=128
        Length of the training windows and of the chunks ``transform`` runs on.
    mask_rate : float, default=0.2
        Share of the observed values hidden in each training window.
    scaling : {"log1p", "standard"} or None, default="standard"
        Per-series scaling, as in :class:`tsfilm.TFiLMImputer`.
    n_filters : int, default=32
        Channels of the hidden convolution.
    kernel_size : int, default=9
        Length of both convolution kernels.
    {engine}

    Attributes
    ----------
    module_ : MaskedCNN
        The trained network.
    n_channels_ : int
        Number of channels per series.
    window_length_ : int
        Length of the training windows.
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``valid_loss``, ``seconds``.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm.preprocessing import hide_at_random
    >>> t = np.arange(64) / 64
    >>> X = np.stack([np.sin(2 * np.pi * f * t) for f in (1, 2, 3, 4)])
    >>> X_missing, hidden = hide_at_random(X, 0.2, random_state=0)
    >>> imputer = MaskedCNNImputer(window_length=32, n_filters=4, max_epochs=2,
    ...                            random_state=0)
    >>> bool(np.isnan(imputer.fit_transform(X_missing)).any())
    False
    """

    # scikit-learn's convention: the accepted values of every parameter, the base
    # class's dict (engine, missing_values, window_length, mask_rate, scaling) merged
    # with this class's own entries.
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TorchImputer._parameter_constraints,
        "n_filters": [int_at_least(1)],
        "kernel_size": [int_at_least(1)],
    }

    def __init__(
        self,
        *,
        missing_values: float = np.nan,
        window_length: int = 128,
        mask_rate: float = 0.2,
        scaling: str | None = "standard",
        n_filters: int = 32,
        kernel_size: int = 9,
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
        self.n_filters = n_filters
        self.kernel_size = kernel_size
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
        tiny = {"window_length": 16, "n_filters": 4, "max_epochs": 2, "random_state": 0}
        return [tiny, {**tiny, "kernel_size": 3, "scaling": "log1p"}]

    def build_module(self) -> MaskedCNN:
        """The network, from hyper-parameters and fitted attributes."""
        return MaskedCNN(self.n_channels_, self.n_filters, self.kernel_size)


if __name__ == "__main__":
    from tsfilm.testing import check_plugin

    check_plugin(MaskedCNNImputer, task="imputation")
    print("MaskedCNNImputer passes tsfilm's conformance checks.")
