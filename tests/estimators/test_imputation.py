"""TFiLMImputer: contract, missing markers, layouts, reproducibility, persistence, learning."""

from __future__ import annotations

import functools
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError

import tsfilm
from tsfilm import TFiLMImputer
from tsfilm.metrics import masked_l2, masked_l2_scorer
from tsfilm.preprocessing import hide_at_random

TINY = TFiLMImputer.get_test_params()[0]
LENGTH = 64


def _series(n: int = 8, length: int = LENGTH, channels: int | None = None, seed: int = 0):
    """Smooth sines with random frequency and phase, float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    freqs = rng.uniform(1, 4, size=(n, 1))
    phases = rng.uniform(0, 2 * np.pi, size=(n, 1))
    x = (np.sin(2 * np.pi * freqs * t + phases) + 2.0).astype(np.float32)
    if channels is not None:
        x = np.stack([x * (c + 1) for c in range(channels)], axis=1)
    return x


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = _series()
    X_missing, hidden = hide_at_random(X, 0.2, random_state=0)
    return X, X_missing, hidden


@pytest.fixture(scope="module")
def fitted(data) -> TFiLMImputer:
    return TFiLMImputer(**TINY).fit(data[1])


def test_registered_and_exported():
    assert tsfilm.registry.get_model("tfilm", task="imputation") is TFiLMImputer
    assert tsfilm.TFiLMImputer is TFiLMImputer


def test_fills_missing_keeps_observed_bit_for_bit(fitted, data):
    X, X_missing, _ = data
    out = fitted.transform(X_missing)
    assert out.shape == X.shape and out.dtype == np.float32
    assert not np.isnan(out).any()
    observed = ~np.isnan(X_missing)
    assert np.array_equal(out[observed], X_missing[observed])
    assert out.tobytes() != X_missing.tobytes()
    out64 = fitted.transform(X_missing.astype(np.float64))
    assert out64.dtype == np.float64
    np.testing.assert_array_equal(out64[observed], X_missing.astype(np.float64)[observed])


def test_network_sees_values_and_mask(fitted):
    assert fitted.n_channels_ == 1 and fitted.window_length_ == TINY["window_length"]
    assert fitted.module_.in_channels == 2 and fitted.module_.out_channels == 1
    assert fitted.module_.tfilm and fitted.n_features_in_ == LENGTH
    assert fitted.non_negative_ and fitted.fill_values_.shape == (1,)


def test_inputs_are_not_modified(data):
    _, X_missing, _ = data
    before = X_missing.copy()
    est = TFiLMImputer(**TINY).fit(X_missing)
    est.transform(X_missing)
    np.testing.assert_array_equal(X_missing, before)


def test_same_random_state_same_output_and_global_rng_untouched(data):
    _, X_missing, _ = data
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = TFiLMImputer(**TINY).fit(X_missing).transform(X_missing)
    assert torch.equal(torch.rand(1), expected_next)
    b = TFiLMImputer(**TINY).fit(X_missing).transform(X_missing)
    np.testing.assert_array_equal(a, b)
    c = TFiLMImputer(**{**TINY, "random_state": 1}).fit(X_missing).transform(X_missing)
    assert not np.array_equal(a, c)


def test_pipeline_and_gridsearch_with_masked_l2_scorer(data):
    X, X_missing, _ = data
    pipe = make_pipeline(FunctionTransformer(lambda a: a * 1.0), TFiLMImputer(**TINY))
    out = pipe.fit(X_missing).transform(X_missing)
    assert not np.isnan(out).any()
    search = GridSearchCV(
        TFiLMImputer(**{**TINY, "max_epochs": 1}),
        {"mask_rate": [0.1, 0.3]},
        scoring=masked_l2_scorer,
        cv=2,
    )
    search.fit(X_missing, X)
    assert search.best_params_["mask_rate"] in (0.1, 0.3)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert np.all(search.cv_results_["mean_test_score"] <= 0)


def test_zero_coded_missing_values(data):
    X, _, _ = data
    X_zero, hidden = hide_at_random(X, 0.2, random_state=3, missing_values=0)
    est = TFiLMImputer(**{**TINY, "missing_values": 0}).fit(X_zero)
    out = est.transform(X_zero)
    assert np.array_equal(out[~hidden], X[~hidden])
    assert (out[hidden] != 0).all()  # every zero was treated as missing and filled
    score = functools.partial(masked_l2_scorer, missing_values=0)(est, X_zero, X)
    assert score == -masked_l2(X, out, hidden)
    with pytest.raises(ValueError, match="contains NaN but missing_values=0"):
        est.transform(np.where(hidden, np.nan, X))


def test_true_zero_differs_from_missing():
    """With NaN as the marker, observed zeros stay observed and are not filled."""
    X = _series(n=4) - 2.0
    X[:, ::5] = 0.0
    X[:, 1::5] = np.nan
    out = TFiLMImputer(**TINY).fit(X).transform(X)
    assert (out[:, ::5] == 0).all() and not np.isnan(out).any()


def test_dataframe_in_dataframe_out(data):
    _, X_missing, _ = data
    frame = pd.DataFrame(
        X_missing, columns=[f"day{i}" for i in range(LENGTH)], index=list("abcdefgh")
    )
    est = TFiLMImputer(**TINY).set_output(transform="pandas").fit(frame)
    out = est.transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(frame.columns) and list(out.index) == list(frame.index)
    assert not out.isna().any().any()
    np.testing.assert_array_equal(est.feature_names_in_, frame.columns)
    np.testing.assert_array_equal(est.get_feature_names_out(), frame.columns)
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now missing"):
        est.transform(frame.iloc[:, :-1])


def test_feature_names_need_two_dimensional_input():
    X = _series(n=4, channels=2)
    X[:, :, 5] = np.nan
    est = TFiLMImputer(**TINY).fit(X)
    assert not hasattr(est, "n_features_in_")
    with pytest.raises(ValueError, match="feature names and set_output"):
        est.get_feature_names_out()


def test_save_load_round_trip_and_pickle(fitted, data, tmp_path):
    _, X_missing, _ = data
    path = tmp_path / "imputer.tsfilm"
    fitted.save(path)
    loaded = tsfilm.load(path)
    assert type(loaded) is TFiLMImputer
    np.testing.assert_array_equal(loaded.transform(X_missing), fitted.transform(X_missing))
    assert loaded.n_features_in_ == LENGTH and loaded.window_length_ == fitted.window_length_
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(X_missing), fitted.transform(X_missing))
    assert clone(fitted).get_params() == fitted.get_params()


def test_multichannel_and_ragged_input():
    X = _series(n=6, channels=2)
    X_missing, hidden = hide_at_random(X, 0.2, random_state=0)
    est = TFiLMImputer(**TINY).fit(X_missing)
    assert est.module_.in_channels == 4 and est.module_.out_channels == 2
    out = est.transform(X_missing)
    assert out.shape == X.shape and np.array_equal(out[~hidden], X[~hidden])
    longer = hide_at_random(_series(n=2, length=150, channels=2), 0.3, random_state=1)[0]
    assert est.transform(longer).shape == (2, 2, 150)  # 3-D input may have any length
    ragged = [X_missing[0, :, :40], X_missing[1], X_missing[2, :, :10]]
    filled = TFiLMImputer(**TINY).fit(ragged).transform(ragged)
    assert [f.shape for f in filled] == [(2, 40), (2, 64), (2, 10)]
    for before, after in zip(ragged, filled, strict=True):
        observed = ~np.isnan(before)
        assert np.array_equal(after[observed], before[observed]) and not np.isnan(after).any()
    with pytest.raises(ValueError, match=r"X has 1 channel\(s\) but the imputer was fitted on 2"):
        est.transform(X_missing[:, 0])


def test_long_series_chunks_blend_back():
    """With a zero output layer the network returns its input, the series' mean in scaled
    space: chunks of any length must blend back to exactly that."""
    X = _series(n=3, length=200)
    X_missing, hidden = hide_at_random(X, 0.3, random_state=0)
    est = TFiLMImputer(**{**TINY, "max_epochs": 1}).fit(X_missing)
    with torch.no_grad():
        est.module_.output.weight.zero_()
        est.module_.output.bias.zero_()
    whole = est.set_params(chunk_length=256).transform(X_missing)
    chunked = est.set_params(chunk_length=40).transform(X_missing)
    np.testing.assert_allclose(chunked, whole, rtol=1e-6)
    means = np.expm1(np.nanmean(np.log1p(X_missing), axis=1, keepdims=True))
    np.testing.assert_allclose(whole[hidden], np.broadcast_to(means, X.shape)[hidden], rtol=1e-5)


def test_all_missing_series_filled_with_training_mean(fitted, data):
    _, X_missing, _ = data
    X = X_missing.copy()
    X[2] = np.nan
    with pytest.warns(UserWarning, match="1 series channel"):
        out = fitted.transform(X)
    np.testing.assert_allclose(out[2], fitted.fill_values_[0], rtol=1e-6)
    assert fitted.fill_values_[0] == pytest.approx(np.nanmean(X_missing), rel=1e-6)
    assert not np.isnan(out).any()


def test_negative_data_and_scalings():
    X = _series(n=6) - 3.0  # negative values: log1p is applied to |x| with its sign
    X_missing, hidden = hide_at_random(X, 0.2, random_state=0)
    for scaling in ("log1p", "standard", None):
        est = TFiLMImputer(**{**TINY, "scaling": scaling}).fit(X_missing)
        assert not est.non_negative_
        out = est.transform(X_missing)
        assert np.isfinite(out).all() and np.array_equal(out[~hidden], X[~hidden])


def test_non_negative_training_data_gives_non_negative_estimates():
    rng = np.random.default_rng(0)
    X = rng.poisson(0.3, size=(6, LENGTH)).astype(np.float64)
    X_missing, hidden = hide_at_random(X, 0.3, random_state=0)
    est = TFiLMImputer(**TINY).fit(X_missing)
    assert est.non_negative_
    assert (est.transform(X_missing)[hidden] >= 0).all()


def test_warm_start_continues_history(data):
    _, X_missing, _ = data
    est = TFiLMImputer(**{**TINY, "max_epochs": 1, "warm_start": True}).fit(X_missing)
    est.fit(X_missing)
    assert [h["epoch"] for h in est.history_] == [1, 2]
    with pytest.raises(ValueError, match="warm_start needs data with 1 channel"):
        est.fit(_series(n=4, channels=2))


def test_learns_to_beat_the_series_mean():
    """On smooth series the trained network fills far better than each series' mean."""
    X = _series(n=24, seed=1)
    X_missing, hidden = hide_at_random(X, 0.2, random_state=0)
    est = TFiLMImputer(
        window_length=64,
        depth=2,
        width=0.125,
        block_length=8,
        dropout=0.0,
        max_epochs=20,
        batch_size=8,
        learning_rate=5e-3,
        validation_fraction=0.0,
        patience=None,
        random_state=0,
    ).fit(X_missing)
    error = masked_l2(X, est.transform(X_missing), hidden)
    mean_fill = np.broadcast_to(np.nanmean(X_missing, axis=1, keepdims=True), X.shape)
    baseline = masked_l2(X, mean_fill, hidden)
    assert error < 0.6 * baseline, (error, baseline)  # about 0.4 with random_state=0


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (np.full((3, 10), np.nan), ValueError, "X has no observed value"),
        (np.array([[1.0, np.inf, 2.0]]), ValueError, "infinity"),
        (np.ones(10), ValueError, "Reshape your data"),
        (np.ones((2, 1, 3, 4)), ValueError, "must be 2-D or 3-D"),
        (np.array([["a", "b"]]), ValueError, "could not convert"),
        (np.stack([np.ones((2, 5)), np.full((2, 5), np.nan)], axis=1), ValueError, r"\[1\]"),
    ],
)
def test_bad_input_gets_clear_errors(X, error, match):
    with pytest.raises(error, match=match):
        TFiLMImputer(**TINY).fit(X)


def test_transform_checks(fitted, data):
    _, X_missing, _ = data
    with pytest.raises(ValueError, match="X has 10 features, but TFiLMImputer is expecting 64"):
        fitted.transform(X_missing[:, :10])
    with pytest.raises(ValueError, match="infinity"):
        fitted.transform(np.where(np.isnan(X_missing), np.inf, X_missing))
    with pytest.raises(ValueError, match="Reshape your data"):
        fitted.transform(X_missing[0])
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TFiLMImputer().transform(X_missing)


@pytest.mark.parametrize(
    ("param", "value", "match"),
    [
        ("window_length", 0, "'window_length' parameter"),
        ("mask_rate", 1.0, "'mask_rate' parameter"),
        ("scaling", "log", "'scaling' parameter"),
        ("chunk_length", 1, "'chunk_length' parameter"),
        ("missing_values", "NA", "'missing_values' parameter"),
        ("max_epochs", 0, "'max_epochs' parameter"),
    ],
)
def test_bad_params_are_named(data, param, value, match):
    with pytest.raises(InvalidParameterError, match=match):
        TFiLMImputer(**{**TINY, param: value}).fit(data[1])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pattern=st.lists(
        st.lists(st.booleans(), min_size=LENGTH, max_size=LENGTH), min_size=1, max_size=5
    ),
    keep=st.lists(st.integers(0, LENGTH - 1), min_size=5, max_size=5),
)
def test_property_any_pattern_with_an_observed_value_is_filled(fitted, pattern, keep):
    missing = np.array(pattern)
    for row, k in zip(missing, keep, strict=False):
        row[k] = False  # at least one observed value per series
    X = _series(n=len(missing), seed=2)
    X_missing = np.where(missing, np.nan, X).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no series is empty, so no warning either
        out = fitted.transform(X_missing)
    assert out.dtype == np.float32 and out.shape == X.shape
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[~missing], X[~missing])


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    channels=st.integers(1, 2),
    length=st.integers(1, 90),
    rate=st.floats(0.0, 0.95),
    seed=st.integers(0, 1000),
)
def test_property_three_d_any_length(n, channels, length, rate, seed):
    fitted = _fitted_two_channels() if channels == 2 else _fitted_one_channel()
    X = _series(n=n, length=length, channels=2, seed=seed)[:, :channels]
    X_missing, _ = hide_at_random(X, rate, random_state=seed)
    X_missing[:, :, 0] = X[:, :, 0]  # keep one observed value per series channel
    out = fitted.transform(X_missing)
    assert out.shape == X.shape and np.isfinite(out).all()
    observed = ~np.isnan(X_missing)
    np.testing.assert_array_equal(out[observed], X[observed])


@functools.cache
def _fitted_one_channel() -> TFiLMImputer:
    return TFiLMImputer(**{**TINY, "max_epochs": 1}).fit(_series(n=4, channels=1))


@functools.cache
def _fitted_two_channels() -> TFiLMImputer:
    return TFiLMImputer(**{**TINY, "max_epochs": 1}).fit(_series(n=4, channels=2))
