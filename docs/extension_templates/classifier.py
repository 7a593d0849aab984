"""Extension template: a sequence classifier with its own network body.

Copy this file into your package, rename the classes and the registered name, and change
the body. ``BaseSequenceClassifier`` gives label encoding, padded batches with masks, the
cross-entropy, ``predict``, ``predict_proba``, ``decision_function``, ``embed`` and the
training engine; ``SeriesInputMixin`` turns numeric series into standardised, padded
tensors and projects them to ``embedding_dim`` channels (use ``TextInputMixin`` instead
for texts). The estimator adds its hyper-parameters and the body (``build_body``). Run
the file to check the class with tsfilm's conformance kit.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from tsfilm.estimators import BaseSequenceClassifier, SeriesInputMixin, document_engine_params
from tsfilm.registry import register
from tsfilm.validation import int_at_least


class MeanPoolCNN(nn.Module):
    """A convolution, ReLU, the mean over the real time steps and a linear layer.

    ``forward(x, mask)`` takes features of shape (N, C, T) and a boolean mask of shape
    (N, T), true on real steps (None when no sequence of the batch is padded), and
    returns logits of shape (N, n_classes); ``features(x, mask)`` returns the pooled
    activations, shape (N, n_filters), which the estimator's ``embed`` gives.
    """

    def __init__(
        self, in_channels: int, n_classes: int, n_filters: int, kernel_size: int, dropout: float
    ) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, n_filters, kernel_size, padding="same")
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(n_filters, n_classes)

    def features(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = torch.relu(self.conv(x))
        if mask is None:
            return h.mean(dim=-1)
        weights = mask[:, None, :].to(h.dtype)
        return (h * weights).sum(dim=-1) / weights.sum(dim=-1).clamp(min=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.linear(self.dropout(self.features(x, mask)))


@register("meanpool_cnn", task="classification")
@document_engine_params
class MeanPoolCNNClassifier(SeriesInputMixin, BaseSequenceClassifier):
    """Classify numeric series with one convolution and mean pooling.

    Parameters
    ----------
    embedding_dim : int, default=16
        Channels of the 1x1 convolution in front of the body.
    n_filters : int, default=32
        Filters of the convolution (and width of the output of ``embed``).
    kernel_size : int, default=5
        Kernel length of the convolution.
    dropout : float, default=0.1
        Dropout rate before the linear layer.
    {engine}

    Attributes
    ----------
    module_ : tsfilm.nn.SequenceClassifierNet
        The trained network.
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``valid_loss``, ``seconds``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(64) / 64
    >>> X = np.stack([np.sin(2 * np.pi * f * t) for f in (2, 3, 2, 9, 10, 9)])
    >>> y = ["slow", "slow", "slow", "fast", "fast", "fast"]
    >>> clf = MeanPoolCNNClassifier(max_epochs=5, random_state=0).fit(X, y)
    >>> clf.classes_.tolist(), clf.predict_proba(X).shape
    (['fast', 'slow'], (6, 2))
    """

    # scikit-learn's convention: the accepted values of every parameter, the bases'
    # dicts (engine, dropout, embedding_dim) merged with this class's own entries.
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SeriesInputMixin._parameter_constraints,
        "n_filters": [int_at_least(1)],
        "kernel_size": [int_at_least(1)],
    }

    def __init__(
        self,
        *,
        embedding_dim: int = 16,
        n_filters: int = 32,
        kernel_size: int = 5,
        dropout: float = 0.1,
        max_epochs: int = 100,
        batch_size: int = 16,
        learning_rate: float = 1e-3,
        validation_fraction: float = 0.1,
        patience: int | None = 20,
        max_time: float | None = None,
        device: Any = "auto",
        precision: str = "auto",
        n_threads: int | str | None = "auto",
        random_state: Any = None,
        verbose: int = 0,
        warm_start: bool = False,
    ) -> None:
        self.embedding_dim = embedding_dim
        self.n_filters = n_filters
        self.kernel_size = kernel_size
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
        """Small, fast settings for the conformance checks (two or more)."""
        tiny = {
            "embedding_dim": 4,
            "n_filters": 4,
            "max_epochs": 3,
            "learning_rate": 1e-2,
            "validation_fraction": 0.0,
            "random_state": 0,
        }
        return [tiny, {**tiny, "kernel_size": 3, "dropout": 0.0}]

    def build_body(self, in_channels: int, n_classes: int) -> MeanPoolCNN:
        """The body, from hyper-parameters: (features, mask) in, logits out."""
        return MeanPoolCNN(in_channels, n_classes, self.n_filters, self.kernel_size, self.dropout)


if __name__ == "__main__":
    from tsfilm.testing import check_plugin

    check_plugin(MeanPoolCNNClassifier, task="classification")
    print("MeanPoolCNNClassifier passes tsfilm's conformance checks.")
