"""Sequence classifiers: numeric series or texts in, class labels out.

:class:`BaseSequenceClassifier` holds what every tsfilm sequence classifier shares
(numeric or text, TFiLM or baseline): label encoding, batches of padded sequences with
their lengths, the cross-entropy loss, and ``predict``/``predict_proba``/
``decision_function``/``embed``. An input mixin adds how ``X`` becomes padded tensors and
the network's front (:class:`SeriesInputMixin` here, :class:`~tsfilm.estimators.TextInputMixin`
for texts); the estimator adds its body (``build_body``) and its hyper-parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from tsfilm.estimators._base import TorchEstimator, document_engine_params
from tsfilm.nn import LinearFront, SequenceClassifierNet, SmallCNN
from tsfilm.registry import register
from tsfilm.validation import Signals, StrictInterval, StrOptions, check_signals, int_at_least

__all__ = [
    "SMALLCNN_CONSTRAINTS",
    "BaseSequenceClassifier",
    "SeriesInputMixin",
    "TFiLMSequenceClassifier",
    "smallcnn_kwargs",
]

#: Constraints of the :class:`~tsfilm.nn.SmallCNN` hyper-parameters that the
#: convolutional classifiers (TFiLM and the SmallCNN baseline) expose.
SMALLCNN_CONSTRAINTS: dict[str, list] = {
    "n_filters": [int_at_least(1)],
    "kernel_size": [int_at_least(1)],
    "n_layers": [int_at_least(1)],
    "pool": [int_at_least(1)],
    "block_length": [int_at_least(1)],
    "rnn": [StrOptions({"lstm", "gru", "bilstm"})],
    "modulation": [StrOptions({"affine", "scale"})],
    "tfilm": ["boolean"],
}


def smallcnn_kwargs(estimator: TorchEstimator) -> dict[str, Any]:
    """Keyword arguments of :class:`~tsfilm.nn.SmallCNN` from an estimator's parameters.

    Every :data:`SMALLCNN_CONSTRAINTS` parameter the estimator has, and ``dropout``, is
    passed on; the class attribute ``network_defaults`` (``{"tfilm": False}`` for the
    SmallCNN baseline) completes them.
    """
    params = estimator.get_params(deep=False)
    chosen = {k: params[k] for k in (*SMALLCNN_CONSTRAINTS, "dropout") if k in params}
    return {**getattr(estimator, "network_defaults", {}), **chosen}


#: Rows of every network call in CPU prediction (see ``BaseSequenceClassifier._outputs``).
_ROWS = 8


class BaseSequenceClassifier(ClassifierMixin, TorchEstimator):
    """Base of tsfilm's sequence classifiers, on the shared training engine.

    Inputs are held as one padded tensor (numeric ``(n, C, T)`` or token ids
    ``(n, T)``) with the real length of every sequence; a batch is cut to its
    longest member and carries a padding mask only when some member is shorter, so a
    sequence gets the same prediction alone or among longer ones.

    A subclass (usually an input mixin plus this class) provides:

    ``encode(X, fitting) -> (inputs, lengths)``
        Validated, padded inputs and their lengths; sets input statistics when
        ``fitting`` (and not warm-starting).
    ``build_front() -> torch.nn.Module`` and ``front_channels() -> int``
        The layer that turns inputs into ``(n, channels, T)`` features.
    ``build_body(in_channels, n_classes) -> torch.nn.Module``
        Takes ``(features, mask)`` and returns logits; ``features(x, mask)`` gives
        the pooled activations that :meth:`embed` returns.
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TorchEstimator._parameter_constraints,
        "dropout": [StrictInterval(Real, 0, 1, closed="left")],
    }
    _saved_attributes: ClassVar[tuple[str, ...]] = (
        *TorchEstimator._saved_attributes,
        "classes_",
    )
    #: Network arguments fixed by the class (the SmallCNN baseline: ``{"tfilm": False}``).
    network_defaults: ClassVar[dict[str, Any]] = {}

    # ------------------------------------------------------------------ hooks
    def encode(self, X: Any, *, fitting: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Validated, padded inputs and their lengths."""
        raise NotImplementedError  # pragma: no cover - abstract

    def build_front(self) -> torch.nn.Module | None:
        """The front layer (embedding or projection)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def front_channels(self) -> int:
        """Channels the front gives the body."""
        return int(self.embedding_dim)

    def build_body(self, in_channels: int, n_classes: int) -> torch.nn.Module:
        """The classifier body; by default a SmallCNN from :func:`smallcnn_kwargs`."""
        return SmallCNN(in_channels, n_classes, **smallcnn_kwargs(self))

    def build_module(self) -> SequenceClassifierNet:
        """Front and body together."""
        body = self.build_body(self.front_channels(), len(self.classes_))
        return SequenceClassifierNet(self.build_front(), body)

    # ------------------------------------------------------------------ fit
    def _targets(self, y: Any, n_samples: int) -> np.ndarray:
        """Class indices of ``y``; sets ``classes_`` unless warm-starting."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None; "
                "give the class label of every sample."
            )
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if len(y) != n_samples:
            raise ValueError(
                f"X has {n_samples} samples but y has {len(y)} labels; give one label per sample."
            )
        if self.continues_training():
            unknown = np.setdiff1d(np.unique(y), self.classes_)
            if unknown.size:
                raise ValueError(
                    f"warm_start continues training on the classes of the first fit "
                    f"{self.classes_.tolist()}; y has new labels {unknown.tolist()[:5]}."
                )
            return np.searchsorted(self.classes_, y)
        encoder = LabelEncoder()
        codes = encoder.fit_transform(y)
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least two classes to learn from; y has 1 "
                f"class ({encoder.classes_[0]!r})."
            )
        self.classes_ = encoder.classes_
        return codes

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any):
        """Train on labelled sequences.

        Parameters
        ----------
        X : array-like or list
            The sequences: numeric series of shape (n_series, n_timesteps) or
            (n_series, n_channels, n_timesteps), a list of series of different lengths,
            or an iterable of str for the text classifiers.
        y : array-like of shape (n_samples,)
            Class labels of any type (numbers, strings...), at least two classes.

        Returns
        -------
        self : object
            The fitted classifier.

        Raises
        ------
        ValueError
            Invalid input (see :func:`tsfilm.validation.check_signals`), fewer than two
            classes, continuous targets, or ``X`` and ``y`` of different lengths.
        TypeError
            Input of the wrong type (a single string, non-numeric series).
        """
        inputs, lengths = self.encode(X, fitting=True)
        codes = torch.as_tensor(self._targets(y, len(lengths)), dtype=torch.int64)
        self.run_training((inputs, lengths, codes), prepare=_stack_fields)
        return self

    # ------------------------------------------------------------------ engine hooks
    @staticmethod
    def _trimmed(inputs: torch.Tensor, lengths: torch.Tensor, index) -> tuple[torch.Tensor, ...]:
        """Rows ``index``, cut after the longest of them (padding costs time)."""
        part = lengths[index]
        return inputs[index][..., : int(part.max())], part

    def train_batches(self, data, generator: torch.Generator) -> Iterator[tuple]:
        """Shuffled batches of whole sequences."""
        inputs, lengths, codes = data
        order = torch.randperm(len(lengths), generator=generator)
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            yield (*self._trimmed(inputs, lengths, index), codes[index])

    def valid_batches(self, data) -> Iterator[tuple]:
        """Batches of whole sequences, in order."""
        inputs, lengths, codes = data
        for start in range(0, len(lengths), self.batch_size):
            index = torch.arange(start, min(start + self.batch_size, len(lengths)))
            yield (*self._trimmed(inputs, lengths, index), codes[index])

    @staticmethod
    def _mask(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor | None:
        steps = x.shape[-1]
        if int(lengths.min()) == steps:
            return None
        return torch.arange(steps, device=x.device) < lengths.unsqueeze(1)

    def compute_loss(self, module: torch.nn.Module, batch: tuple) -> torch.Tensor:
        """Cross-entropy of the logits."""
        x, lengths, codes = batch
        logits = module(x, self._mask(x, lengths))
        return torch.nn.functional.cross_entropy(logits.float(), codes)

    def splits_batches(self) -> bool:
        """True for this class's loss, the cross-entropy averaged over rows; False for a
        subclass with a loss of its own (it says so itself)."""
        return type(self).compute_loss is BaseSequenceClassifier.compute_loss

    # ------------------------------------------------------------------ predict
    def _outputs(self, X: Any, method: str) -> np.ndarray:
        """``module_.forward`` or ``module_.features`` over ``X`` in batches, as float64."""
        check_is_fitted(self)
        inputs, lengths = self.encode(X, fitting=False)
        with self.inference() as device:
            run = getattr(self.module_, method)
            # On the CPU every call runs _ROWS rows (the last batch topped up with copies of
            # its first row): kernels round differently for other batch sizes, and a
            # sample's scores must not depend on the other samples of the call. One series
            # thus costs _ROWS rows, not batch_size.
            rows = _ROWS if device.type == "cpu" else int(self.batch_size)

            def forward(index: list[int]) -> np.ndarray:
                index = torch.as_tensor(index)
                padded = torch.cat([index, index[:1].expand(rows - len(index))])
                x, part = self._trimmed(inputs, lengths, padded)
                x, part = x.to(device), part.to(device)
                return run(x, self._mask(x, part))[: len(index)].double().cpu().numpy()

            return np.stack(
                list(self.forward_batches(range(len(lengths)), forward, rows, parallel=True))
            )

    def decision_function(self, X: Any) -> np.ndarray:
        """Class scores: the network's logits.

        Parameters
        ----------
        X : input as for ``fit``
            Samples to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
            Logits, float64. With two classes, the logit of ``classes_[1]`` minus that of
            ``classes_[0]`` (positive means ``classes_[1]``), as scikit-learn expects.
        """
        logits = self._outputs(X, "forward")
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: the softmax of the logits.

        Parameters
        ----------
        X : input as for ``fit``
            Samples to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Float64; rows sum to 1; columns follow ``classes_``.
        """
        logits = self._outputs(X, "forward")
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class of every sample.

        Parameters
        ----------
        X : input as for ``fit``
            Samples to classify.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Elements of ``classes_``.
        """
        logits = self._outputs(X, "forward")
        return self.classes_[np.argmax(logits, axis=1)]

    def embed(self, X: Any) -> np.ndarray:
        """Pooled activations of the network's last layer, one vector per sample.

        For the TFiLM networks these are the final TFiLM activations, max-pooled over
        time (the paper's figure 4 shows them in two dimensions with t-SNE:
        ``sklearn.manifold.TSNE().fit_transform(est.embed(X))``); for an LSTM body,
        the final hidden state.

        Parameters
        ----------
        X : input as for ``fit``
            Samples to embed.

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_features_out)
            Float64; ``n_features_out`` is ``n_filters`` for the convolutional bodies
            and ``hidden_size`` for the LSTM.
        """
        return self._outputs(X, "features")


def _stack_fields(fields: list[list[torch.Tensor]]) -> tuple[torch.Tensor, ...]:
    """Rows picked by the validation split, back into tensors."""
    return tuple(torch.stack(rows) for rows in fields)


class SeriesInputMixin:
    """Numeric series as classifier input: per-channel standardisation, 1x1 projection.

    Every time step is standardised per channel (mean and standard deviation of the
    training data) and projected to ``embedding_dim`` channels by a 1x1 convolution
    (:class:`~tsfilm.nn.LinearFront`). Series of different lengths are padded at the
    end and masked; ``predict`` accepts any length (a 2-D array, scikit-learn's table of
    features, must have the training length; pass other lengths as a 3-D array or a
    list). Goes before :class:`BaseSequenceClassifier` among the bases.
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **BaseSequenceClassifier._parameter_constraints,
        "embedding_dim": [int_at_least(1)],
    }
    _saved_attributes: ClassVar[tuple[str, ...]] = (
        *BaseSequenceClassifier._saved_attributes,
        "n_channels_",
        "mean_",
        "scale_",
        "n_features_in_",
    )

    def build_front(self) -> LinearFront:
        """The 1x1 projection to ``embedding_dim`` channels."""
        return LinearFront(self.n_channels_, int(self.embedding_dim))

    def encode(self, X: Any, *, fitting: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Standardised series padded to the longest, and their lengths."""
        if isinstance(X, np.ndarray) and X.ndim == 1:
            raise ValueError(
                f"X must be 2-D (n_series, n_timesteps) or 3-D (n_series, n_channels, "
                f"n_timesteps); got a 1-D array of shape {X.shape}. Reshape your data with "
                "X.reshape(1, -1) if it is a single series."
            )
        signals = check_signals(X, name="X")
        if fitting and not self.continues_training():
            self.n_channels_ = signals.n_channels
            self.mean_, self.scale_ = _channel_statistics(signals)
        elif signals.n_channels != self.n_channels_:
            raise ValueError(
                f"X has {signals.n_channels} channel(s) but the model was trained on "
                f"{self.n_channels_}."
            )
        if fitting:
            if signals.layout == "2d":
                self.n_features_in_ = int(signals.arrays.shape[-1])
            elif hasattr(self, "n_features_in_"):
                del self.n_features_in_
        elif signals.layout == "2d" and getattr(self, "n_features_in_", None) not in (
            None,
            signals.arrays.shape[-1],
        ):
            # A 2-D array is scikit-learn's table, whose columns are features; series of
            # other lengths are classified when passed as a 3-D array or a ragged list.
            raise ValueError(
                f"X has {signals.arrays.shape[-1]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input: a 2-D array must have "
                "the training length. To classify series of another length pass them as a "
                "3-D array (n_series, 1, n_timesteps), e.g. X[:, None, :]."
            )
        lengths = signals.lengths
        padded = np.zeros((signals.n_series, signals.n_channels, int(lengths.max())), np.float32)
        mean = np.asarray(self.mean_, dtype=np.float64)[:, None]
        scale = np.asarray(self.scale_, dtype=np.float64)[:, None]
        for i in range(signals.n_series):
            padded[i, :, : lengths[i]] = (signals.series(i) - mean) / scale
        return torch.from_numpy(padded), torch.from_numpy(lengths)


@register("tfilm", task="classification")
class TFiLMSequenceClassifier(SeriesInputMixin, BaseSequenceClassifier):
    """Time-series classification with a small CNN and TFiLM layers (Birnbaum et al., 2019).

    Every time step is standardised per channel (mean and standard deviation of the
    training data) and projected to ``embedding_dim`` channels by a 1x1 convolution
    (:class:`~tsfilm.nn.LinearFront`); the body is :class:`~tsfilm.nn.SmallCNN` with a
    TFiLM layer after every convolution, a global max-pool and a linear layer. Training
    minimises the cross-entropy. Series of different lengths are padded at the end and
    masked, so a series gets the same prediction alone or among longer ones, and
    ``predict`` accepts any length (a 2-D array, scikit-learn's table of features, must
    have the training length; pass other lengths as a 3-D array or a list).

    Parameters
    ----------
    embedding_dim : int, default=32
        Channels of the 1x1 convolution in front of the body.
    n_filters : int, default=64
        Filters of every convolution (and width of the output of :meth:`embed`).
    kernel_size : int, default=5
        Kernel length of every convolution.
    n_layers : int, default=3
        Number of convolution (+ TFiLM) layers.
    pool : int, default=2
        Max-pool size and stride between layers; 1 disables it.
    block_length : int, default=8
        TFiLM block length, in steps of the layer it modulates.
    rnn : {"lstm", "gru", "bilstm"}, default="lstm"
        The recurrent network of the TFiLM layers ("bilstm" sees later blocks).
    modulation : {"affine", "scale"}, default="affine"
        The paper's FiLM (gamma and beta) or the authors' code (gamma only).
    tfilm : bool, default=True
        The TFiLM layers; False is the paper's SmallCNN baseline (registered as
        "smallcnn"), for ablations with every other setting equal.
    dropout : float, default=0.2
        Dropout rate before the linear layer.
    {engine}

    Attributes
    ----------
    module_ : tsfilm.nn.SequenceClassifierNet
        The trained network.
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    n_channels_ : int
        Channels per series.
    mean_, scale_ : ndarray of shape (n_channels,)
        Per-channel mean and standard deviation of the training series (1 where
        a channel is constant).
    n_features_in_ : int
        Time steps of the training series when they were passed as one 2-D array;
        ``predict`` then expects 2-D arrays of this length (3-D arrays and lists may
        have any length).
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``valid_loss`` (cross-entropy; None
        without validation), ``seconds``.
    n_epochs_ : int
        Epochs trained.
    best_epoch_ : int
        Epoch whose weights were kept.

    See Also
    --------
    TFiLMTextClassifier : The same network on token embeddings of texts.
    tsfilm.nn.SmallCNN : The body.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm import TFiLMSequenceClassifier
    >>> t = np.arange(64) / 64
    >>> X = np.stack([np.sin(2 * np.pi * f * t) for f in (2, 3, 2, 9, 10, 9)])
    >>> y = np.array(["slow", "slow", "slow", "fast", "fast", "fast"])
    >>> clf = TFiLMSequenceClassifier(**TFiLMSequenceClassifier.get_test_params()[0])
    >>> clf = clf.fit(X, y)
    >>> clf.classes_.tolist(), clf.predict_proba(X).shape, clf.embed(X).shape
    (['fast', 'slow'], (6, 2), (6, 8))
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SeriesInputMixin._parameter_constraints,
        **SMALLCNN_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        embedding_dim: int = 32,
        n_filters: int = 64,
        kernel_size: int = 5,
        n_layers: int = 3,
        pool: int = 2,
        block_length: int = 8,
        rnn: str = "lstm",
        modulation: str = "affine",
        tfilm: bool = True,
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
        self.block_length = block_length
        self.rnn = rnn
        self.modulation = modulation
        self.tfilm = tfilm
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
        """Test settings (``parameter_set="default"``): a two-layer TFiLM CNN, and a one-layer one
        with GRU scale-only modulation and no pooling.
        """
        tiny = {
            "embedding_dim": 8,
            "n_filters": 8,
            "kernel_size": 3,
            "n_layers": 2,
            "block_length": 4,
            "dropout": 0.0,
            "max_epochs": 5,
            "batch_size": 32,
            "learning_rate": 1e-2,
            "validation_fraction": 0.0,
            "random_state": 0,
        }
        return [tiny, {**tiny, "n_layers": 1, "pool": 1, "rnn": "gru", "modulation": "scale"}]


def _channel_statistics(signals: Signals) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation per channel over every time step of every series."""
    if signals.is_dense:
        data = signals.arrays
        mean = data.mean(axis=(0, 2), dtype=np.float64)
        std = data.std(axis=(0, 2), dtype=np.float64)
    else:
        joined = np.concatenate(list(signals.arrays), axis=-1)
        mean = joined.mean(axis=-1, dtype=np.float64)
        std = joined.std(axis=-1, dtype=np.float64)
    # A constant channel carries no information to scale; dividing by 1 keeps it finite.
    std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
    return mean, std


document_engine_params(TFiLMSequenceClassifier)
