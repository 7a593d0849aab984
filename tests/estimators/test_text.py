"""TFiLMTextClassifier: the sklearn contract on lists of strings, learning, persistence.

scikit-learn's check_estimator feeds numeric arrays, which a text classifier rightly
refuses, so the contract (clone, pickle, Pipeline, GridSearchCV, model files, labels,
errors, reproducibility) is tested here directly.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError

from tsfilm import TFiLMTextClassifier
from tsfilm.preprocessing import TextTokenizer
from tsfilm.registry import get_model

TINY = TFiLMTextClassifier.get_test_params()[0]
_POSITIVE = ["great", "superb", "lovely"]
_NEGATIVE = ["awful", "boring", "dull"]
_FILLER = ["the", "film", "plot", "was", "a", "and", "cast", "really", "quite", "story"]


def _reviews(n: int = 40, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Short documents of filler words with one sentiment word at a random place."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        positive = i % 2 == 0
        words = list(rng.choice(_FILLER, size=rng.integers(4, 12)))
        cue = rng.choice(_POSITIVE if positive else _NEGATIVE)
        words.insert(int(rng.integers(0, len(words) + 1)), cue)
        texts.append(" ".join(words).capitalize() + rng.choice([".", "!", ""]))
        labels.append("pos" if positive else "neg")
    return texts, np.array(labels, dtype=object)


@pytest.fixture(scope="module")
def fitted() -> tuple[TFiLMTextClassifier, list[str], np.ndarray]:
    texts, y = _reviews()
    return TFiLMTextClassifier(**TINY).fit(texts, y), texts, y


def test_registered_as_tfilm_text():
    assert get_model("tfilm_text", task="classification") is TFiLMTextClassifier
    tags = TFiLMTextClassifier().__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array


def test_learns_the_sentiment_words():
    texts, y = _reviews(n=200, seed=1)
    test_texts, y_test = _reviews(n=60, seed=2)
    clf = TFiLMTextClassifier(**{**TINY, "max_epochs": 8}).fit(texts, y)
    assert clf.score(test_texts, y_test) >= 0.9


def test_outputs_and_fitted_state(fitted):
    clf, texts, _ = fitted
    assert clf.classes_.tolist() == ["neg", "pos"]
    proba = clf.predict_proba(texts)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(texts), clf.classes_[proba.argmax(axis=1)])
    assert clf.decision_function(texts).shape == (len(texts),)
    assert clf.embed(texts).shape == (len(texts), TINY["n_filters"])
    assert clf.tokens_[:2] == ["<pad>", "<unk>"] and "great" in clf.tokens_
    assert isinstance(clf.tokenizer_, TextTokenizer)
    assert clf.tokenizer_.tokens_ == clf.tokens_
    assert clf.module_.front.embedding.num_embeddings == len(clf.tokens_)


def test_unseen_tokens_and_empty_strings_work(fitted):
    clf, _, _ = fitted
    proba = clf.predict_proba(["", "zzz qqq", "great", "   ", "xyzzy plugh"])
    assert proba.shape == (5, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Unseen words all read as <unk>, and blank documents as one padding step.
    np.testing.assert_array_equal(proba[1], proba[4])
    np.testing.assert_array_equal(proba[0], proba[3])
    assert not np.array_equal(proba[1], proba[2])


def test_long_documents_are_truncated_to_max_length(fitted):
    clf, _, _ = fitted
    prefix = "great " * TINY["max_length"]
    a = clf.predict_proba([prefix])
    b = clf.predict_proba([prefix + "awful " * 50])
    np.testing.assert_array_equal(a, b)


def test_documents_are_scored_independently_of_their_batch(fitted):
    clf, texts, _ = fitted
    full = clf.predict_proba(texts)
    np.testing.assert_allclose(clf.predict_proba(texts[3:4]), full[3:4], atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(texts[::-1]), full[::-1], atol=1e-6)


def test_same_random_state_identical_probabilities():
    texts, y = _reviews(n=24)
    a = TFiLMTextClassifier(**TINY).fit(texts, y).predict_proba(texts)
    b = TFiLMTextClassifier(**TINY).fit(texts, y).predict_proba(texts)
    np.testing.assert_array_equal(a, b)


def test_clone_and_pickle(fitted):
    clf, texts, _ = fitted
    assert clone(clf).get_params() == clf.get_params()
    assert not hasattr(clone(clf), "tokens_")
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(texts), clf.predict_proba(texts))


def _lower(texts):
    return [t.lower() for t in texts]


def test_pipeline_and_grid_search_with_string_labels():
    texts, y = _reviews(n=24)
    pipe = make_pipeline(FunctionTransformer(_lower), TFiLMTextClassifier(**TINY))
    assert set(pipe.fit(texts, y).predict(texts)) <= {"neg", "pos"}
    search = GridSearchCV(
        TFiLMTextClassifier(**TINY), {"embedding_dim": [4, 8]}, cv=2, error_score="raise"
    ).fit(texts, y)
    assert search.best_params_["embedding_dim"] in (4, 8)
    assert search.predict(["great", "dull"]).shape == (2,)


def test_inputs_as_array_series_and_generator():
    texts, y = _reviews(n=16)
    expected = TFiLMTextClassifier(**TINY).fit(texts, y).predict_proba(texts)
    for docs in (np.array(texts, dtype=object), pd.Series(texts)):
        got = TFiLMTextClassifier(**TINY).fit(docs, y).predict_proba(docs)
        np.testing.assert_array_equal(got, expected)
    clf = TFiLMTextClassifier(**TINY).fit((t for t in texts), list(y))
    np.testing.assert_array_equal(clf.predict_proba(texts), expected)


@pytest.mark.parametrize(
    ("params", "n_tokens"),
    [({"tokenizer": "char", "max_length": 40}, None), ({"max_length": None}, None)],
)
def test_char_tokens_and_unbounded_length(params, n_tokens):
    texts, y = _reviews(n=16)
    clf = TFiLMTextClassifier(**{**TINY, **params}).fit(texts, y)
    assert clf.predict([*texts, "", "a much longer document " * 10]).shape == (18,)
    if params.get("tokenizer") == "char":
        assert all(len(t) == 1 for t in clf.tokens_[2:])


def test_warm_start_keeps_the_vocabulary():
    texts, y = _reviews(n=16)
    clf = TFiLMTextClassifier(**{**TINY, "max_epochs": 1, "warm_start": True}).fit(texts, y)
    tokens = list(clf.tokens_)
    clf.fit(["entirely new words here", "and more of them"], ["pos", "neg"])
    assert clf.tokens_ == tokens and clf.n_epochs_ == 2


@pytest.mark.parametrize(
    ("X", "y", "error", "match"),
    [
        (["good", 3], ["a", "b"], TypeError, r"X\[1\] is a int"),
        ("good film", ["a"], TypeError, "single str"),
        ([], [], ValueError, "empty"),
        (["good", "bad"], ["a", "a"], ValueError, "at least two classes"),
        (["good", "bad", "ok"], ["a", "b"], ValueError, "X has 3 samples but y has 2"),
        (["good", None], ["a", "b"], TypeError, "missing values"),
    ],
)
def test_bad_input_is_refused_clearly(X, y, error, match):
    with pytest.raises(error, match=match):
        TFiLMTextClassifier(**TINY).fit(X, y)


def test_bad_input_at_predict(fitted):
    clf, _, _ = fitted
    with pytest.raises(TypeError, match="single str"):
        clf.predict("great")
    with pytest.raises(TypeError, match=r"X\[0\] is a float"):
        clf.predict([1.5])


def test_bad_tokenizer_parameter():
    texts, y = _reviews(n=8)
    with pytest.raises(InvalidParameterError, match="'tokenizer' parameter"):
        TFiLMTextClassifier(**{**TINY, "tokenizer": "sentencepiece"}).fit(texts, y)
