"""TFiLMSequenceClassifier: contract, learning, labels, ragged input, persistence."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError

import tsfilm
from tsfilm import TFiLMSequenceClassifier
from tsfilm.nn import SequenceClassifierNet, SmallCNN
from tsfilm.registry import get_model

TINY = TFiLMSequenceClassifier.get_test_params()[0]


def _waves(n: int = 40, length: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy sines (label "sine") and square waves ("square") of random frequency and phase."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    freq = rng.uniform(2, 5, size=(n, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    y = np.where(np.arange(n) % 2 == 0, "sine", "square").astype(object)
    clean = np.where(
        (y == "sine")[:, None],
        np.sin(2 * np.pi * freq * t + phase),
        signal.square(2 * np.pi * freq * t + phase),
    )
    X = (clean + 0.2 * rng.normal(size=(n, length))).astype(np.float32)
    return X, y


@pytest.fixture(scope="module")
def fitted() -> tuple[TFiLMSequenceClassifier, np.ndarray, np.ndarray]:
    X, y = _waves()
    return TFiLMSequenceClassifier(**TINY).fit(X, y), X, y


def test_registered_as_tfilm_for_classification():
    assert get_model("tfilm", task="classification") is TFiLMSequenceClassifier


def test_separates_sines_from_square_waves():
    X, y = _waves(n=120, seed=1)
    X_test, y_test = _waves(n=60, seed=2)
    clf = TFiLMSequenceClassifier(**{**TINY, "max_epochs": 15, "batch_size": 16}).fit(X, y)
    assert clf.score(X_test, y_test) >= 0.9
    assert clf.n_epochs_ == 15 == len(clf.history_)
    assert clf.history_[-1]["train_loss"] < clf.history_[0]["train_loss"]


def test_outputs_are_consistent(fitted):
    clf, X, _ = fitted
    assert clf.classes_.tolist() == ["sine", "square"]
    proba = clf.predict_proba(X)
    scores = clf.decision_function(X)
    assert proba.shape == (len(X), 2) and scores.shape == (len(X),)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_array_equal(scores > 0, proba[:, 1] > 0.5)
    # The binary score is the logit difference, so the softmax is its sigmoid.
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-10)


def test_multiclass_integer_labels_and_3d_input():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2, 40))
    y = np.repeat([3, 7, 11], 10)
    X[y == 7, 0] += 2.0
    X[y == 11, 1] -= 2.0
    clf = TFiLMSequenceClassifier(**TINY).fit(X, y)
    assert clf.classes_.tolist() == [3, 7, 11]
    assert clf.n_channels_ == 2 and not hasattr(clf, "n_features_in_")
    assert clf.decision_function(X).shape == (30, 3)
    assert set(clf.predict(X)) <= {3, 7, 11}
    with pytest.raises(ValueError, match="X has 1 channel"):
        clf.predict(X[:, :1])


def test_embed_gives_the_pooled_final_tfilm_activations(fitted):
    clf, X, _ = fitted
    emb = clf.embed(X)
    assert emb.shape == (len(X), TINY["n_filters"])
    assert isinstance(clf.module_, SequenceClassifierNet)
    assert isinstance(clf.module_.body, SmallCNN) and clf.module_.body.tfilm
    # The logits are the linear layer applied to the embedding.
    linear = clf.module_.body.classifier
    logits = emb @ linear.weight.detach().double().numpy().T + linear.bias.detach().double().numpy()
    np.testing.assert_allclose(logits[:, 1] - logits[:, 0], clf.decision_function(X), atol=1e-5)


def test_standardisation_per_channel():
    rng = np.random.default_rng(0)
    X = np.stack([rng.normal(5.0, 3.0, size=(8, 50)), np.full((8, 50), 2.0)], axis=1)
    clf = TFiLMSequenceClassifier(**{**TINY, "max_epochs": 1}).fit(X, [0, 1] * 4)
    np.testing.assert_allclose(clf.mean_, [X[:, 0].mean(), 2.0])
    # A constant channel is not scaled (its standard deviation would be 0).
    np.testing.assert_allclose(clf.scale_, [X[:, 0].std(), 1.0])
    # Predictions follow the statistics, not the scale of the input.
    assert np.isfinite(clf.predict_proba(X)).all()


def test_ragged_series_are_masked_not_mixed():
    X, y = _waves(n=20)
    ragged = [x[: 30 + 2 * i] for i, x in enumerate(X)]
    clf = TFiLMSequenceClassifier(**TINY).fit(ragged, y)
    assert not hasattr(clf, "n_features_in_")
    alone = clf.predict_proba([ragged[0]])
    among_longer = clf.predict_proba([ragged[0], X[1], X[2]])[:1]
    np.testing.assert_allclose(alone, among_longer, atol=1e-5)
    # Series of any length are accepted as lists, including multichannel ones.
    assert clf.predict([X[0, :17], X[1]]).shape == (2,)
    assert clf.predict([X[0][None, :9]]).shape == (1,)


def test_2d_arrays_keep_the_training_length_lists_do_not(fitted):
    clf, X, _ = fitted
    assert clf.n_features_in_ == X.shape[1]
    with pytest.raises(ValueError, match="X has 10 features, but TFiLMSequenceClassifier"):
        clf.predict(X[:, :10])
    assert clf.predict(X[:3, None, :10]).shape == (3,)
    assert clf.predict([X[0, :10], X[1, :12]]).shape == (2,)


def test_scores_do_not_depend_on_the_other_series_of_the_call(fitted):
    clf, X, _ = fitted
    full = clf.decision_function(X)
    np.testing.assert_array_equal(clf.decision_function(X[5:6]), full[5:6])
    np.testing.assert_array_equal(clf.decision_function(X[::-1]), full[::-1])


def test_one_series_costs_a_few_rows_not_a_batch(fitted, monkeypatch):
    clf, X, _ = fitted
    clf = clone(clf).set_params(batch_size=64).fit(*fitted[1:])
    rows = []
    original = type(clf.module_).forward

    def spy(module, x, mask=None):
        rows.append(x.shape[0])
        return original(module, x, mask)

    monkeypatch.setattr(type(clf.module_), "forward", spy)
    clf.predict(X[:1])
    assert rows == [8]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 39), min_size=1, max_size=40))
def test_scores_of_any_selection_match(fitted, rows):
    clf, X, _ = fitted
    np.testing.assert_array_equal(
        clf.predict_proba(X[rows]), clf.predict_proba(X)[rows], err_msg=str(rows)
    )


def test_same_random_state_same_model_and_global_rng_untouched():
    X, y = _waves(n=16)
    before = torch.random.get_rng_state()
    a = TFiLMSequenceClassifier(**TINY).fit(X, y).predict_proba(X)
    assert torch.equal(torch.random.get_rng_state(), before)
    b = TFiLMSequenceClassifier(**TINY).fit(X, y).predict_proba(X)
    c = TFiLMSequenceClassifier(**{**TINY, "random_state": 1}).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_save_load_and_pickle_keep_string_labels(fitted, tmp_path):
    clf, X, _ = fitted
    path = tmp_path / "clf.tsfilm"
    clf.save(path)
    loaded = tsfilm.load(path)
    assert type(loaded) is TFiLMSequenceClassifier
    assert loaded.classes_.tolist() == ["sine", "square"]
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_allclose(loaded.mean_, clf.mean_)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_pipeline_and_grid_search():
    X, y = _waves(n=24)
    pipe = make_pipeline(FunctionTransformer(np.diff), TFiLMSequenceClassifier(**TINY))
    assert pipe.fit(X, y).predict(X).shape == (24,)
    search = GridSearchCV(
        TFiLMSequenceClassifier(**TINY), {"n_filters": [4, 8]}, cv=2, error_score="raise"
    ).fit(X, y)
    assert search.best_params_["n_filters"] in (4, 8)
    assert clone(search.best_estimator_).get_params() == search.best_estimator_.get_params()


@pytest.mark.slow
def test_grid_search_in_two_processes():
    X, y = _waves(n=24)
    search = GridSearchCV(
        TFiLMSequenceClassifier(**{**TINY, "n_threads": 1}),
        {"n_filters": [4, 8]},
        cv=2,
        n_jobs=2,
        error_score="raise",
    ).fit(X, y)
    assert search.predict(X).shape == (24,)


def test_warm_start_continues_and_refuses_new_labels():
    X, y = _waves(n=16)
    clf = TFiLMSequenceClassifier(**{**TINY, "max_epochs": 2, "warm_start": True}).fit(X, y)
    module, mean = clf.module_, clf.mean_
    clf.fit(X * 10, y)
    assert clf.n_epochs_ == 4 and clf.module_ is module
    np.testing.assert_array_equal(clf.mean_, mean)  # statistics of the first fit are kept
    with pytest.raises(ValueError, match="new labels"):
        clf.fit(X, np.where(y == "sine", "sine", "noise"))


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (None, "requires y to be passed"),
        (["a"] * 8, "at least two classes.*1 class"),
        (["a", "b"] * 3, "X has 8 samples but y has 6 labels"),
        (np.linspace(0, 1, 8), "Unknown label type"),
    ],
)
def test_bad_targets(y, match):
    X, _ = _waves(n=8)
    with pytest.raises(ValueError, match=match):
        TFiLMSequenceClassifier(**TINY).fit(X, y)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_filters": 0}, "'n_filters' parameter"),
        ({"kernel_size": 2.5}, "'kernel_size' parameter"),
        ({"rnn": "transformer"}, "'rnn' parameter"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"tfilm": "no"}, "'tfilm' parameter"),
    ],
)
def test_bad_parameters(params, match):
    X, y = _waves(n=8)
    with pytest.raises(InvalidParameterError, match=match):
        TFiLMSequenceClassifier(**{**TINY, **params}).fit(X, y)


def test_numpy_integer_parameters_are_accepted():
    X, y = _waves(n=8)
    clf = TFiLMSequenceClassifier(**{**TINY, "n_filters": np.int64(4), "max_epochs": 1})
    assert clf.fit(X, y).embed(X).shape == (8, 4)


def test_bad_series():
    X, y = _waves(n=8)
    with pytest.raises(ValueError, match="Reshape your data"):
        TFiLMSequenceClassifier(**TINY).fit(X[0], y)
    bad = X.copy()
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        TFiLMSequenceClassifier(**TINY).fit(bad, y)
    with pytest.raises(TypeError, match="string"):
        TFiLMSequenceClassifier(**TINY).fit("series", y)


def test_predict_before_fit_raises_not_fitted():
    X, _ = _waves(n=4)
    for method in ("predict", "predict_proba", "decision_function", "embed"):
        with pytest.raises(NotFittedError):
            getattr(TFiLMSequenceClassifier(), method)(X)
