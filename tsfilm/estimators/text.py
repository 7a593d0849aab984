"""Text classification: documents in, class labels out (the paper's sentiment model).

:class:`TextInputMixin` turns documents into token ids and embeddings for any
:class:`~tsfilm.estimators.BaseSequenceClassifier`; :class:`TFiLMTextClassifier` is the
paper's model.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from tsfilm.estimators._base import document_engine_params
from tsfilm.estimators.classification import SMALLCNN_CONSTRAINTS, BaseSequenceClassifier
from tsfilm.nn import TokenEmbedding
from tsfilm.preprocessing.text import TextTokenizer, check_texts
from tsfilm.registry import register
from tsfilm.validation import int_at_least

__all__ = ["TFiLMTextClassifier", "TextInputMixin"]

#: Standard deviation of the initial token embeddings.
_EMBEDDING_STD = 0.1


class TextInputMixin:
    """Documents as classifier input: a tokenizer fitted in ``fit``, token embeddings.

    Documents are split into tokens by a :class:`~tsfilm.preprocessing.TextTokenizer`
    fitted on the training texts, cut to ``max_length`` tokens and embedded
    (:class:`~tsfilm.nn.TokenEmbedding`, ``embedding_dim`` channels). Tokens unseen in
    training map to ``<unk>``; an empty document is a single padding step. The
    vocabulary is kept as ``tokens_`` (saved with the model). Goes before
    :class:`~tsfilm.estimators.BaseSequenceClassifier` among the bases; the estimator
    lists ``tokenizer``, ``max_vocabulary``, ``min_count``, ``max_length``,
    ``lowercase`` and ``embedding_dim`` among its parameters.
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **BaseSequenceClassifier._parameter_constraints,
        **TextTokenizer._parameter_constraints,
        "embedding_dim": [int_at_least(1)],
    }
    _saved_attributes: ClassVar[tuple[str, ...]] = (
        *BaseSequenceClassifier._saved_attributes,
        "tokens_",
    )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags

    def _tokenizer_params(self) -> dict[str, Any]:
        return {
            "tokenizer": self.tokenizer,
            "max_vocabulary": self.max_vocabulary,
            "min_count": self.min_count,
            "max_length": self.max_length,
            "lowercase": self.lowercase,
        }

    @property
    def tokenizer_(self) -> TextTokenizer:
        """The fitted tokenizer (built from ``tokens_`` and the tokenizer parameters)."""
        check_is_fitted(self, "tokens_")
        return TextTokenizer.from_tokens(self.tokens_, **self._tokenizer_params())

    def build_front(self) -> TokenEmbedding:
        """Token embeddings, started small so that Adam moves them from the first epoch."""
        front = TokenEmbedding(len(self.tokens_), int(self.embedding_dim))
        embedding = front.embedding
        # torch starts embeddings at N(0, 1), where Adam's steps (about learning_rate
        # each) barely move them and the first epochs learn next to nothing; a small
        # start trains at once (on IMDB: 72-76 % instead of 53-62 % after 3 epochs).
        with torch.no_grad():
            embedding.weight.normal_(0.0, _EMBEDDING_STD)
            embedding.weight[embedding.padding_idx].zero_()
        return front

    def encode(self, X: Any, *, fitting: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids padded to the longest document, and the documents' lengths."""
        texts = check_texts(X, name="X")
        if fitting and not self.continues_training():
            tokenizer = TextTokenizer(**self._tokenizer_params()).fit(texts)
            self.tokens_ = tokenizer.tokens_
        else:
            tokenizer = self.tokenizer_
        ids, lengths = tokenizer.encode(texts)
        # A document without tokens is read as one padding step (a zero embedding):
        # the network needs a real step in every row.
        lengths = np.maximum(lengths, 1)
        return torch.from_numpy(ids), torch.from_numpy(lengths)


@register("tfilm_text", task="classification")
class TFiLMTextClassifier(TextInputMixin, BaseSequenceClassifier):
    """Text classification with a small CNN and TFiLM layers (Birnbaum et al., 2019).

    Documents are split into tokens by a :class:`~tsfilm.preprocessing.TextTokenizer`
    fitted on the training texts (words by default), cut to ``max_length`` tokens,
    embedded (:class:`~tsfilm.nn.TokenEmbedding`) and classified by
    :class:`~tsfilm.nn.SmallCNN` with a TFiLM layer after each convolution: the model
    of the paper's sentiment experiments (Table 5). Padding is masked, so a document's
    prediction does not depend on the other documents of its batch. Tokens unseen in
    training map to ``<unk>``; an empty document is a single padding step.

    Parameters
    ----------
    tokenizer : {"word", "char", "byte"}, default="word"
        How documents are split (see :class:`~tsfilm.preprocessing.TextTokenizer`).
    max_vocabulary : int or None, default=20000
        Most frequent tokens kept, not counting ``<pad>`` and ``<unk>``.
    min_count : int, default=1
        Tokens seen fewer times in training become ``<unk>``.
    max_length : int or None, default=256
        Tokens read per document (the paper's 256); None reads whole documents.
    lowercase : bool, default=True
        Lower-case documents before splitting them.
    embedding_dim : int, default=64
        Dimension of the token embeddings.
    n_filters : int, default=128
        Filters of every convolution (and width of the output of :meth:`embed`).
    kernel_size : int, default=3
        Kernel length of every convolution.
    n_layers : int, default=3
        Number of convolution (+ TFiLM) layers; the paper uses three.
    pool : int, default=2
        Max-pool size and stride between layers; 1 disables it.
    block_length : int, default=8
        TFiLM block length, in steps of the layer it modulates.
    rnn : {"lstm", "gru", "bilstm"}, default="lstm"
        The recurrent network of the TFiLM layers.
    modulation : {"affine", "scale"}, default="affine"
        The paper's FiLM (gamma and beta) or the authors' code (gamma only).
    tfilm : bool, default=True
        The TFiLM layers; False is the paper's SmallCNN baseline (registered as
        "smallcnn_text"), for ablations with every other setting equal.
    dropout : float, default=0.5
        Dropout rate before the linear layer.
    {engine}

    Attributes
    ----------
    module_ : tsfilm.nn.SequenceClassifierNet
        The trained network.
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    tokens_ : list of str
        The vocabulary by id (``tokens_[0] == "<pad>"``, ``tokens_[1] == "<unk>"``),
        saved with the model.
    tokenizer_ : TextTokenizer
        The fitted tokenizer, rebuilt from ``tokens_`` on access.
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``valid_loss`` (cross-entropy; None
        without validation), ``seconds``.
    n_epochs_ : int
        Epochs trained.
    best_epoch_ : int
        Epoch whose weights were kept.

    See Also
    --------
    TFiLMSequenceClassifier : The same network on numeric series.
    tsfilm.preprocessing.TextTokenizer : The tokenizer.

    Examples
    --------
    >>> from tsfilm import TFiLMTextClassifier
    >>> texts = ["a great film", "great acting", "a dull film", "dull and slow"]
    >>> labels = ["pos", "pos", "neg", "neg"]
    >>> clf = TFiLMTextClassifier(**TFiLMTextClassifier.get_test_params()[0])
    >>> clf = clf.fit(texts, labels)
    >>> clf.predict(["a great film", "dull and slow"]).tolist()
    ['pos', 'neg']
    >>> clf.embed(["an unseen word", ""]).shape
    (2, 8)
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TextInputMixin._parameter_constraints,
        **SMALLCNN_CONSTRAINTS,
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
        n_filters: int = 128,
        kernel_size: int = 3,
        n_layers: int = 3,
        pool: int = 2,
        block_length: int = 8,
        rnn: str = "lstm",
        modulation: str = "affine",
        tfilm: bool = True,
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
        """Test settings (``parameter_set="default"``): a two-layer TFiLM CNN on words, and a
        one-layer one on characters with a GRU.
        """
        tiny = {
            "max_length": 16,
            "embedding_dim": 8,
            "n_filters": 8,
            "n_layers": 2,
            "block_length": 2,
            "dropout": 0.0,
            "max_epochs": 15,
            "batch_size": 8,
            "learning_rate": 1e-2,
            "validation_fraction": 0.0,
            "random_state": 0,
        }
        return [tiny, {**tiny, "tokenizer": "char", "max_length": 32, "n_layers": 1, "rnn": "gru"}]


document_engine_params(TFiLMTextClassifier)
