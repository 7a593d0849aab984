"""The classification baselines of plugins/tsfilm_baselines/classification.py.

The classes are looked up through the registry, as users find them, so the entry point
(not a direct import) is what these tests exercise.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from tsfilm import TFiLMSequenceClassifier, TFiLMTextClassifier
from tsfilm.estimators import BaseSequenceClassifier, SeriesInputMixin, TextInputMixin
from tsfilm.nn import LSTMClassifier, SmallCNN
from tsfilm.registry import get_model

SmallCNNSeries = get_model("smallcnn", task="classification")
LSTMSeries = get_model("lstm", task="classification")
SmallCNNText = get_model("smallcnn_text", task="classification")
LSTMText = get_model("lstm_text", task="classification")
SERIES = (SmallCNNSeries, LSTMSeries)
TEXT = (SmallCNNText, LSTMText)
_TFILM_ONLY = {"block_length", "rnn", "modulation"}


def _series(n: int = 12, length: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = np.arange(length) / length
    X = np.sin(2 * np.pi * (2 + 4 * y[:, None]) * t) + 0.3 * rng.normal(size=(n, length))
    return X, y


_TEXTS = ["a fine warm film", "dull and slow", "warm and fine", "slow, dull plot"] * 3
_LABELS = ["pos", "neg", "pos", "neg"] * 3


def test_registered_names_and_sources():
    assert SmallCNNSeries.__name__ == "SmallCNNSequenceClassifier"
    assert LSTMSeries.__name__ == "LSTMSequenceClassifier"
    assert SmallCNNText.__name__ == "SmallCNNTextClassifier"
    assert LSTMText.__name__ == "LSTMTextClassifier"
    for cls in (*SERIES, *TEXT):
        assert cls.__module__ == "tsfilm_baselines.classification"
    assert get_model("tfilm_text", task="classification") is TFiLMTextClassifier


@pytest.mark.parametrize("cls", (*SERIES, *TEXT), ids=lambda c: c.__name__)
def test_hyper_parameters_are_the_bodys_own(cls):
    params = set(inspect.signature(cls.__init__).parameters) - {"self"}
    assert params == set(cls().get_params())
    assert not params & _TFILM_ONLY
    tfilm_model = TFiLMSequenceClassifier if cls in SERIES else TFiLMTextClassifier
    inputs = SeriesInputMixin if cls in SERIES else TextInputMixin
    engine = {"max_epochs", "batch_size", "learning_rate", "patience", "max_time", "random_state"}
    assert engine <= params
    assert issubclass(cls, inputs) and issubclass(cls, BaseSequenceClassifier)
    assert not issubclass(cls, tfilm_model)
    if cls in (LSTMSeries, LSTMText):
        assert {"hidden_size", "bidirectional"} <= params and "n_filters" not in params


def test_numeric_bodies_and_embeddings():
    X, y = _series()
    cnn = SmallCNNSeries(**SmallCNNSeries.get_test_params()[0]).fit(X, y)
    assert isinstance(cnn.module_.body, SmallCNN) and not cnn.module_.body.tfilm
    assert len(cnn.module_.body.tfilms) == 0
    assert cnn.embed(X).shape == (12, cnn.n_filters)
    lstm = LSTMSeries(**{**LSTMSeries.get_test_params()[0], "bidirectional": True}).fit(X, y)
    assert isinstance(lstm.module_.body, LSTMClassifier) and lstm.module_.body.bidirectional
    assert lstm.embed(X).shape == (12, 2 * lstm.hidden_size)


def test_text_bodies_share_the_tokenizer():
    cnn = SmallCNNText(**SmallCNNText.get_test_params()[0]).fit(_TEXTS, _LABELS)
    lstm = LSTMText(**LSTMText.get_test_params()[0]).fit(_TEXTS, _LABELS)
    assert cnn.tokens_ == lstm.tokens_
    assert not cnn.module_.body.tfilm
    assert isinstance(lstm.module_.body, LSTMClassifier)
    for clf in (cnn, lstm):
        proba = clf.predict_proba(["", "never seen", "fine film"])
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_lstm_ignores_padding_of_ragged_series():
    X, y = _series()
    ragged = [x[: 20 + i] for i, x in enumerate(X)]
    clf = LSTMSeries(**LSTMSeries.get_test_params()[0]).fit(ragged, y)
    alone = clf.decision_function([ragged[0]])
    among = clf.decision_function([ragged[0], X[1], X[2]])[:1]
    np.testing.assert_allclose(alone, among, atol=1e-5)


def test_bad_hidden_size():
    X, y = _series()
    with pytest.raises(InvalidParameterError, match="'hidden_size' parameter"):
        LSTMSeries(**{**LSTMSeries.get_test_params()[0], "hidden_size": 0}).fit(X, y)
