"""The paper's classification baselines: SmallCNN (no TFiLM) and a one-layer LSTM.

Each combines the input mixin of the TFiLM model it is compared with
(:class:`tsfilm.estimators.SeriesInputMixin` or :class:`tsfilm.estimators.TextInputMixin`)
with :class:`tsfilm.estimators.BaseSequenceClassifier` and its own body and
hyper-parameters, so input handling, training,
``predict``/``predict_proba``/``decision_function``/``embed`` and model files are the
same. The SmallCNN baselines are the TFiLM networks with ``tfilm=False``, without the
TFiLM parameters. Registered for the task ``"classification"``:

- ``"smallcnn"``: :class:`SmallCNNSequenceClassifier`, numeric series;
- ``"lstm"``: :class:`LSTMSequenceClassifier`, numeric series;
- ``"smallcnn_text"``: :class:`SmallCNNTextClassifier`, texts;
- ``"lstm_text"``: :class:`LSTMTextClassifier`, texts.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any, ClassVar

import torch

from tsfilm.estimators import (
    SMALLCNN_CONSTRAINTS,
    BaseSequenceClassifier,
    SeriesInputMixin,
    TextInputMixin,
    document_engine_params,
)
from tsfilm.nn import LSTMClassifier
from tsfilm.registry import register
from tsfilm.validation import int_at_least

__all__ = [
    "LSTMSequenceClassifier",
    "LSTMTextClassifier",
    "SmallCNNSequenceClassifier",
    "SmallCNNTextClassifier",
]

_TEXT_PARAMS_DOC = """\
    tokenizer : {"word", "char", "byte"}, default="word"
        How documents are split (see :class:`tsfilm.preprocessing.TextTokenizer`).
    max_vocabulary : int or None, default=20000
        Most frequent tokens kept, not counting ``<pad>`` and ``<unk>``.
    min_count : int, default=1
        Tokens seen fewer times in training become ``<unk>``.
    max_length : int or None, default=256
        Tokens read per document; None reads whole documents.
    lowercase : bool, default=True
        Lower-case documents before splitting them."""

_CNN_PARAMS_DOC = """\
    n_filters : int, default={n_filters}
        Filters of every convolution (and width of the output of ``embed``).
    kernel_size : int, default={kernel_size}
        Kernel length of every convolution.
    n_layers : int, default=3
        Number of convolution layers.
    pool : int, default=2
        Max-pool size and stride between layers; 1 disables it.
    dropout : float, default={dropout}
        Dropout rate before the linear layer."""

_LSTM_PARAMS_DOC = """\
    hidden_size : int, default={hidden_size}
        LSTM units per direction (and width of the output of ``embed``).
    bidirectional : bool, default=False
        Run a second LSTM backwards in time.
    dropout : float, default={dropout}
        Dropout rate before the linear layer."""

_LSTM_BODY_DOC = """\
    The final hidden state goes through dropout and a linear layer; padding is
    packed away, so it never reaches the logits. The LSTM reads every step in turn,
    which makes it several times slower per epoch than the convolutional models on
    long sequences (the paper's Table 5)."""


def _fill(doc: str, **parts: str) -> str:
    """Put each part where the docstring has its ``{name}`` line, at that line's indentation."""
    for key, value in parts.items():

        def indent(match: re.Match, text: str = textwrap.dedent(value)) -> str:
            return textwrap.indent(text, match.group(1))

        doc = re.sub(r"^([ \t]*)\{" + key + r"\}[ \t]*$", indent, doc, flags=re.M)
    return doc


#: The SmallCNN parameters the baselines expose: TFiLM's, without the TFiLM layers'.
_CNN_CONSTRAINTS = {
    k: v
    for k, v in SMALLCNN_CONSTRAINTS.items()
    if k in ("n_filters", "kernel_size", "n_layers", "pool")
}


class _LSTMBody:
    """The one-layer LSTM body of the LSTM baselines."""

    _body_constraints: ClassVar[dict[str, list]] = {
        "hidden_size": [int_at_least(1)],
        "bidirectional": ["boolean"],
    }

    def build_body(self, in_channels: int, n_classes: int) -> torch.nn.Module:
        """A :class:`tsfilm.nn.LSTMClassifier`."""
        return LSTMClassifier(
            in_channels,
            n_classes,
            hidden_size=int(self.hidden_size),
            bidirectional=bool(self.bidirectional),
            dropout=self.dropout,
        )


# ---------------------------------------------------------------------- numeric series
@register("smallcnn", task="classification")
class SmallCNNSequenceClassifier(SeriesInputMixin, BaseSequenceClassifier):
    """Time-series classification with the SmallCNN baseline: TFiLM's network without TFiLM.

    :class:`tsfilm.TFiLMSequenceClassifier` with the TFiLM layers removed: per-channel
    standardisation, a 1x1 convolution, ``n_layers`` convolutions with ReLU and
    max-pooling, a global max-pool and a linear layer.

    Parameters
    ----------
    embedding_dim : int, default=32
        Channels of the 1x1 convolution in front of the body.
    {cnn}
    {engine}

    Attributes
    ----------
    module_, classes_, n_channels_, mean_, scale_, n_features_in_, history_, n_epochs_, \
best_epoch_
        As for :class:`tsfilm.TFiLMSequenceClassifier`.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm_baselines.classification import SmallCNNSequenceClassifier
    >>> X = np.random.default_rng(0).normal(size=(6, 32))
    >>> clf = SmallCNNSequenceClassifier(**SmallCNNSequenceClassifier.get_test_params()[0])
    >>> clf.fit(X, [0, 1, 0, 1, 0, 1]).predict_proba(X).shape
    (6, 2)
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SeriesInputMixin._parameter_constraints,
        **_CNN_CONSTRAINTS,
    }
    network_defaults: ClassVar[dict[str, Any]] = {"tfilm": False}

    def __init__(
        self,
        *,
        embedding_dim: int = 32,
        n_filters: int = 64,
        kernel_size: int = 5,
        n_layers: int = 3,
        pool: int = 2,
        dropout: float = 0.2,
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
        self.n_layers = n_layers
        self.pool = pool
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
        """Test settings (``parameter_set="default"``): a two-layer CNN, and a one-layer one without
        pooling.
        """
        tiny = {
            "embedding_dim": 8,
            "dropout": 0.0,
            "max_epochs": 5,
            "batch_size": 32,
            "learning_rate": 1e-2,
            "validation_fraction": 0.0,
            "random_state": 0,
            "n_filters": 8,
            "kernel_size": 3,
            "n_layers": 2,
        }
        return [tiny, {**tiny, "n_layers": 1, "pool": 1}]


@register("lstm", task="classification")
class LSTMSequenceClassifier(_LSTMBody, SeriesInputMixin, BaseSequenceClassifier):
    """Time-series classification with the one-layer LSTM baseline.

    Per-channel standardisation and a 1x1 convolution, as in
    :class:`tsfilm.TFiLMSequenceClassifier`, then :class:`tsfilm.nn.LSTMClassifier`.

    {lstm_body}

    Parameters
    ----------
    embedding_dim : int, default=32
        Channels of the 1x1 convolution in front of the LSTM.
    {lstm}
    {engine}

    Attributes
    ----------
    module_, classes_, n_channels_, mean_, scale_, n_features_in_, history_, n_epochs_, \
best_epoch_
        As for :class:`tsfilm.TFiLMSequenceClassifier`.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm_baselines.classification import LSTMSequenceClassifier
    >>> X = np.random.default_rng(0).normal(size=(6, 32))
    >>> clf = LSTMSequenceClassifier(**LSTMSequenceClassifier.get_test_params()[0])
    >>> clf.fit(X, [0, 1, 0, 1, 0, 1]).embed(X).shape
    (6, 8)
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SeriesInputMixin._parameter_constraints,
        **_LSTMBody._body_constraints,
    }

    def __init__(
        self,
        *,
        embedding_dim: int = 32,
        hidden_size: int = 64,
        bidirectional: bool = False,
        dropout: float = 0.2,
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
        self.hidden_size = hidden_size
        self.bidirectional = bidirectional
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
        """Test settings (``parameter_set="default"``): a unidirectional LSTM, and a bidirectional
        one.
        """
        tiny = {
            "embedding_dim": 8,
            "dropout": 0.0,
            "max_epochs": 5,
            "batch_size": 32,
            "learning_rate": 1e-2,
            "validation_fraction": 0.0,
            "random_state": 0,
            "hidden_size": 8,
        }
        return [tiny, {**tiny, "bidirectional": True}]


# ---------------------------------------------------------------------- texts
@register("smallcnn_text", task="classification")
class SmallCNNTextClassifier(TextInputMixin, BaseSequenceClassifier):
    """Text classification with the SmallCNN baseline of the paper's Table 5.

    :class:`tsfilm.TFiLMTextClassifier` with the TFiLM layers removed: token
    embeddings, ``n_layers`` convolutions with ReLU and max-pooling, a global
    max-pool and a linear layer.

    Parameters
    ----------
    {text}
    embedding_dim : int, default=64
        Dimension of the token embeddings.
    {cnn}
    {engine}

    Attributes
    ----------
    module_, classes_, tokens_, tokenizer_, history_, n_epochs_, best_epoch_
        As for :class:`tsfilm.TFiLMTextClassifier`.

    Examples
    --------
    >>> from tsfilm_baselines.classification import SmallCNNTextClassifier
    >>> clf = SmallCNNTextClassifier(**SmallCNNTextClassifier.get_test_params()[0])
    >>> clf.fit(["good", "bad", "so good", "so bad"], [1, 0, 1, 0]).classes_.tolist()
    [0, 1]
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TextInputMixin._parameter_constraints,
        **_CNN_CONSTRAINTS,
    }
    network_defaults: ClassVar[dict[str, Any]] = {"tfilm": False}

    def __init__(
        self,
        *,
        tokenizer: str = "word",
        max_vocabulary: int | None = 20000,
        min_count: int = 1,
        max_length: int | None = 256,
        lowercase: bool = True,
        embedding_dim: int = 64,
        n_filters: int = 128,
        kernel_size: int = 3,
        n_layers: int = 3,
        pool: int = 2,
        dropout: float = 0.5,
        max_epochs: int = 20,
        batch_size: int = 64,
        learning_rate: float = 1e-3,
        validation_fraction: float = 0.1,
        patience: int | None = 3,
        max_time: float | None = None,
        device: Any = "auto",
        precision: str = "auto",
        n_threads: int | str | None = "auto",
        random_state: Any = None,
        verbose: int = 0,
        warm_start: bool = False,
    ) -> None:
        self.tokenizer = tokenizer
        self.max_vocabulary = max_vocabulary
        self.min_count = min_count
        self.max_length = max_length
        self.lowercase = lowercase
        self.embedding_dim = embedding_dim
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.n_layers = n_layers
        self.pool = pool
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
        """Test settings (``parameter_set="default"``): a two-layer CNN on words, and a one-layer
        one on characters.
        """
        tiny = {
            "max_length": 16,
            "embedding_dim": 8,
            "dropout": 0.0,
            "max_epochs": 15,
            "batch_size": 8,
            "learning_rate": 1e-2,
            "validation_fraction": 0.0,
            "random_state": 0,
            "n_filters": 8,
            "kernel_size": 3,
            "n_layers": 2,
        }
        return [tiny, {**tiny, "tokenizer": "char", "max_length": 32, "n_layers": 1}]


@register("lstm_text", task="classification")
class LSTMTextClassifier(_LSTMBody, TextInputMixin, BaseSequenceClassifier):
    """Text classification with the one-layer LSTM baseline of the paper's Table 5.

    Token embeddings, as in :class:`tsfilm.TFiLMTextClassifier`, then
    :class:`tsfilm.nn.LSTMClassifier`.

    {lstm_body}

    Parameters
    ----------
    {text}
    embedding_dim : int, default=64
        Dimension of the token embeddings.
    {lstm}
    {engine}

    Attributes
    ----------
    module_, classes_, tokens_, tokenizer_, history_, n_epochs_, best_epoch_
        As for :class:`tsfilm.TFiLMTextClassifier`.

    Examples
    --------
    >>> from tsfilm_baselines.classification import LSTMTextClassifier
    >>> clf = LSTMTextClassifier(**LSTMTextClassifier.get_test_params()[0])
    >>> clf.fit(["good", "bad", "so good", "so bad"], ["+", "-", "+", "-"]).embed(["ok"]).shape
    (1, 8)
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TextInputMixin._parameter_constraints,
        **_LSTMBody._body_constraints,
    }

    def __init__(
        self,
        *,
        tokenizer: str = "word",
        max_vocabulary: int | None = 20000,
        min_count: int = 1,
        max_length: int | None = 256,
        lowercase: bool = True,
        embedding_dim: int = 64,
        hidden_size: int = 128,
        bidirectional: bool = False,
        dropout: float = 0.5,
        max_epochs: int = 20,
        batch_size: int = 64,
        learning_rate: float = 1e-3,
        validation_fraction: float = 0.1,
        patience: int | None = 3,
        max_time: float | None = None,
        device: Any = "auto",
        precision: str = "auto",
        n_threads: int | str | None = "auto",
        random_state: Any = None,
        verbose: int = 0,
        warm_start: bool = False,
    ) -> None:
        self.tokenizer = tokenizer
        self.max_vocabulary = max_vocabulary
        self.min_count = min_count
        self.max_length = max_length
        self.lowercase = lowercase
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.bidirectional = bidirectional
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
        """Test settings (``parameter_set="default"``): a unidirectional LSTM on words, and a
        bidirectional one.
        """
        tiny = {
            "max_length": 16,
            "embedding_dim": 8,
            "dropout": 0.0,
            "max_epochs": 15,
            "batch_size": 8,
            "learning_rate": 1e-2,
            "validation_fraction": 0.0,
            "random_state": 0,
            "hidden_size": 8,
        }
        return [tiny, {**tiny, "bidirectional": True}]


SmallCNNSequenceClassifier.__doc__ = _fill(
    SmallCNNSequenceClassifier.__doc__,
    cnn=_CNN_PARAMS_DOC.format(n_filters=64, kernel_size=5, dropout=0.2),
)
LSTMSequenceClassifier.__doc__ = _fill(
    LSTMSequenceClassifier.__doc__,
    lstm_body=_LSTM_BODY_DOC,
    lstm=_LSTM_PARAMS_DOC.format(hidden_size=64, dropout=0.2),
)
SmallCNNTextClassifier.__doc__ = _fill(
    SmallCNNTextClassifier.__doc__,
    text=_TEXT_PARAMS_DOC,
    cnn=_CNN_PARAMS_DOC.format(n_filters=128, kernel_size=3, dropout=0.5),
)
LSTMTextClassifier.__doc__ = _fill(
    LSTMTextClassifier.__doc__,
    text=_TEXT_PARAMS_DOC,
    lstm_body=_LSTM_BODY_DOC,
    lstm=_LSTM_PARAMS_DOC.format(hidden_size=128, dropout=0.5),
)
for _cls in (
    SmallCNNSequenceClassifier,
    LSTMSequenceClassifier,
    SmallCNNTextClassifier,
    LSTMTextClassifier,
):
    document_engine_params(_cls)
