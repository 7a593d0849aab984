"""Hostile and careless input to the four estimators: every case gets a clear error that
names the problem, or a documented, finite result; inputs are never modified."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV

from tsfilm import (
    TFiLMImputer,
    TFiLMSequenceClassifier,
    TFiLMSuperResolver,
    TFiLMTextClassifier,
    TrainingDivergedError,
)
from tsfilm.validation import InvalidParameterError

SR = TFiLMSuperResolver.get_test_params()[0]
IMP = TFiLMImputer.get_test_params()[0]
CLF = TFiLMSequenceClassifier.get_test_params()[0]
TXT = TFiLMTextClassifier.get_test_params()[0]


def _signals(n: int = 6, length: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    return np.sin(2 * np.pi * rng.uniform(2, 8, (n, 1)) * t).astype(np.float32)


def _missing(n: int = 6, length: int = 64) -> np.ndarray:
    X = _signals(n, length).astype(np.float64)
    X[:, 5::7] = np.nan
    return X


# ---------------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    ("cls", "base", "param", "value"),
    [
        (TFiLMSuperResolver, SR, "learning_rate", float("inf")),
        (TFiLMSuperResolver, SR, "learning_rate", float("nan")),
        (TFiLMSuperResolver, SR, "learning_rate", "0.01"),
        (TFiLMSuperResolver, SR, "validation_fraction", "0.1"),
        (TFiLMSuperResolver, SR, "validation_fraction", -0.1),
        (TFiLMSuperResolver, SR, "ratio", 1),
        (TFiLMSuperResolver, SR, "ratio", True),
        (TFiLMSuperResolver, SR, "depth", 2.0),
        (TFiLMSuperResolver, SR, "width", 0),
        (TFiLMSuperResolver, SR, "dropout", 1.0),
        (TFiLMSuperResolver, SR, "rnn", "LSTM"),
        (TFiLMSuperResolver, SR, "chunk_length", 4),
        (TFiLMSuperResolver, SR, "max_time", float("nan")),
        (TFiLMSuperResolver, SR, "n_threads", 0),
        (TFiLMSuperResolver, SR, "batch_size", True),
        (TFiLMImputer, IMP, "mask_rate", 0),
        (TFiLMImputer, IMP, "missing_values", np.inf),
        (TFiLMImputer, IMP, "missing_values", "NA"),
        (TFiLMImputer, IMP, "scaling", "minmax"),
        (TFiLMImputer, IMP, "window_length", -3),
        (TFiLMSequenceClassifier, CLF, "n_layers", 0),
        (TFiLMSequenceClassifier, CLF, "tfilm", 1),
        (TFiLMSequenceClassifier, CLF, "embedding_dim", None),
        (TFiLMTextClassifier, TXT, "tokenizer", "sentencepiece"),
        (TFiLMTextClassifier, TXT, "max_length", 0),
        (TFiLMTextClassifier, TXT, "lowercase", "yes"),
    ],
)
def test_bad_parameters_raise_invalid_parameter_error_naming_them(cls, base, param, value):
    data = {
        TFiLMSuperResolver: (_signals(),),
        TFiLMImputer: (_missing(),),
        TFiLMSequenceClassifier: (_signals(), [0, 1] * 3),
        TFiLMTextClassifier: (["good", "bad"] * 3, [1, 0] * 3),
    }[cls]
    est = cls(**{**base, "ratio": 2} if cls is TFiLMSuperResolver else base)
    est.set_params(**{param: value})
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter of {cls.__name__}"):
        est.fit(*data)


def test_numpy_float32_learning_rate_is_accepted():
    est = TFiLMSuperResolver(ratio=2, **{**SR, "learning_rate": np.float32(0.01)})
    assert est.fit(_signals()).n_epochs_ == 2


@pytest.mark.parametrize("device", ["meta", "tpu", "cuda:abc", 3])
def test_devices_that_cannot_run_a_network_are_refused(device):
    est = TFiLMSuperResolver(ratio=2, **{**SR, "device": device})
    with pytest.raises(ValueError, match="device"):
        est.fit(_signals())


# ---------------------------------------------------------------------- divergence
def test_divergence_on_the_last_step_never_leaves_non_finite_weights(monkeypatch):
    original = torch.optim.Adam.step

    def poisoned(self, closure=None):
        out = original(self, closure)
        for group in self.param_groups:
            for p in group["params"]:
                p.data.fill_(float("nan"))
        return out

    monkeypatch.setattr(torch.optim.Adam, "step", poisoned)
    est = TFiLMSuperResolver(ratio=2, **{**SR, "max_epochs": 1, "validation_fraction": 0.0})
    with pytest.raises(TrainingDivergedError, match="weights became NaN or infinite at epoch 1"):
        est.fit(_signals())
    assert not hasattr(est, "module_")


# ---------------------------------------------------------------------- super-resolution
def test_float64_beyond_float32_range_gives_finite_float64_output():
    X = _signals().astype(np.float64) * 1e39
    est = TFiLMSuperResolver(ratio=2, **SR).fit(X)
    out = est.predict(X[:, ::2])
    assert out.dtype == np.float64 and np.isfinite(out).all()
    assert np.abs(out).max() > 1e38


def test_float32_input_gives_float32_output():
    X = _signals()
    assert TFiLMSuperResolver(ratio=2, **SR).fit(X).predict(X[:, ::2]).dtype == np.float32


@pytest.fixture(scope="module")
def resolver():
    return TFiLMSuperResolver(ratio=2, **SR).fit(_signals())


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (_signals()[:, ::2], _signals(length=96), "not paired with X at the fitted ratio 2"),
        (_signals()[:, ::2], _signals()[:4], "X has 6 series but y has 4"),
        (_signals()[:, ::2], _signals()[:, ::2], "ratio >= 2"),
        (_signals()[:, ::2], np.zeros(6), "y must be 2-D"),
        (_signals()[:, ::2], _signals()[:, None].repeat(2, axis=1), "channel"),
    ],
)
def test_score_refuses_unpaired_references(resolver, X, y, match):
    with pytest.raises(ValueError, match=match):
        resolver.score(X, y)


def test_score_on_high_rate_signals_alone_degrades_as_fit_does(resolver):
    X = _signals(seed=3)
    from tsfilm.preprocessing import degrade

    assert resolver.score(X) == pytest.approx(resolver.score(degrade(X, 2), X))


def test_grid_search_in_the_fit_high_rate_mode_scores_every_fold():
    search = GridSearchCV(
        TFiLMSuperResolver(ratio=2, **SR), {"depth": [1, 2]}, cv=2, error_score="raise"
    )
    search.fit(_signals(n=8))
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (np.array([[1.0, np.nan] * 16]), ValueError, "NaN"),
        (np.array([[1.0, np.inf] * 16]), ValueError, "infinity"),
        (np.array([["a", "b"] * 16]), ValueError, "could not convert|numeric"),
        (np.zeros((2, 0)), ValueError, "0 feature|at least"),
        (np.zeros((0, 8)), ValueError, "0 sample"),
        (np.zeros((1, 1, 1, 8)), ValueError, "2-D or 3-D"),
        ("signal", TypeError, "string"),
        ([np.zeros(8), np.zeros((2, 8))], ValueError, "mixes 1-D and 2-D"),
    ],
)
def test_bad_signals_are_refused_and_never_modified(resolver, X, error, match):
    copy = np.array(X, copy=True) if isinstance(X, np.ndarray) else X
    with pytest.raises(error, match=match):
        resolver.predict(X)
    if isinstance(X, np.ndarray):
        np.testing.assert_array_equal(X, copy)


def test_predict_with_other_channels_is_refused(resolver):
    with pytest.raises(ValueError, match="2 channel\\(s\\) but the model was trained on 1"):
        resolver.predict(np.zeros((2, 2, 16), dtype=np.float32))


def test_warm_start_on_other_data_is_refused():
    est = TFiLMSuperResolver(ratio=2, **{**SR, "warm_start": True}).fit(_signals())
    with pytest.raises(ValueError, match="warm_start needs data with the ratio"):
        est.set_params(ratio=None).fit(_signals()[:, ::4], _signals())


# ---------------------------------------------------------------------- imputation
@pytest.mark.parametrize("scaling", ["standard", "log1p"])
def test_huge_values_never_put_nan_in_the_gaps(scaling):
    X = _missing() * 1e160
    est = TFiLMImputer(**{**IMP, "scaling": scaling}).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = est.transform(X)
    assert np.isfinite(out).all()
    observed = ~np.isnan(X)
    np.testing.assert_array_equal(out[observed], X[observed])


def test_unscaled_values_beyond_float32_are_refused_clearly():
    with pytest.raises(ValueError, match="beyond float32's range after scaling=None"):
        TFiLMImputer(**{**IMP, "scaling": None}).fit(_missing() * 1e160)


@pytest.mark.parametrize(
    ("X", "params", "match"),
    [
        (np.full((3, 16), np.nan), {}, "no observed value"),
        (np.array([[1.0, np.inf, np.nan] * 8]), {}, "infinity"),
        (np.array([[1.0, np.nan, 0.0] * 8]), {"missing_values": 0.0}, "X contains NaN but"),
        (np.zeros(24), {}, "Reshape your data"),
    ],
)
def test_imputer_bad_input(X, params, match):
    with pytest.raises(ValueError, match=match):
        TFiLMImputer(**{**IMP, **params}).fit(X)


def test_imputer_transform_other_length_or_channels():
    est = TFiLMImputer(**IMP).fit(_missing())
    with pytest.raises(ValueError, match="features"):
        est.transform(_missing(length=32))
    with pytest.raises(ValueError, match="channel"):
        est.transform(np.stack([_missing(), _missing()], axis=1))


# ---------------------------------------------------------------------- classification
@pytest.mark.parametrize(
    ("y", "match"),
    [
        ([0, 0, 0, 0, 0, 0], "at least two classes"),
        ([0.5, 1.5, 2.5, 3.5, 4.5, 5.5], "Unknown label type|continuous"),
        ([0, 1, 0], "X has 6 samples but y has 3"),
        (None, "requires y"),
        ([[0, 1]] * 6, "y should be a 1d array|Unknown label type|multilabel|column"),
    ],
)
def test_classifier_bad_targets(y, match):
    with pytest.raises(ValueError, match=match):
        TFiLMSequenceClassifier(**CLF).fit(_signals(), y)


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        ("a single document", TypeError, "single str"),
        ([b"bytes", b"more"], TypeError, "bytes|str"),
        (["ok", None], TypeError, "missing values"),
        ([], ValueError, "empty"),
        ([1.0, 2.0], TypeError, "is a float"),
    ],
)
def test_text_classifier_bad_documents(X, error, match):
    with pytest.raises(error, match=match):
        TFiLMTextClassifier(**TXT).fit(X, [0, 1][: max(len(X), 1)] if X else [])


def test_text_classifier_takes_a_huge_document_in_bounded_ids():
    clf = TFiLMTextClassifier(**TXT).fit(["good film", "bad film"] * 3, [1, 0] * 3)
    ids, lengths = clf.tokenizer_.encode(["word " * 200_000])
    assert ids.shape == (1, TXT["max_length"]) and lengths.tolist() == [TXT["max_length"]]
    assert clf.predict(["word " * 200_000]).shape == (1,)
