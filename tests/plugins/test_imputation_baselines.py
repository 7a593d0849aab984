"""The imputation baselines: spline, dnn and conv, through the registry like any plugin."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from tsfilm_baselines.imputation import ConvImputer, DNNImputer, SplineImputer

import tsfilm
from tsfilm import TFiLMImputer, registry
from tsfilm.preprocessing import hide_at_random

BASELINES = {"spline": SplineImputer, "dnn": DNNImputer, "conv": ConvImputer}


def _series(n: int = 6, length: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    return (np.sin(2 * np.pi * rng.uniform(1, 3, (n, 1)) * t) + 2.0).astype(np.float32)


def _make(name: str, **params):
    cls = BASELINES[name]
    return cls(**{**cls.get_test_params()[0], **params})


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_registered_through_the_entry_point(name):
    info = next(m for m in registry.list_models("imputation") if m.name == name)
    assert info.cls is BASELINES[name]
    assert registry.get_model(name, task="imputation") is BASELINES[name]


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_contract_observed_exact_zero_marker_and_dataframes(name):
    X = _series()
    X_missing, hidden = hide_at_random(X, 0.25, random_state=0)
    out = _make(name).fit(X_missing).transform(X_missing)
    assert out.dtype == np.float32 and not np.isnan(out).any()
    assert np.array_equal(out[~hidden], X[~hidden])

    X_zero, hidden_zero = hide_at_random(X, 0.25, random_state=1, missing_values=0)
    out = _make(name, missing_values=0).fit(X_zero).transform(X_zero)
    assert np.array_equal(out[~hidden_zero], X[~hidden_zero])

    frame = pd.DataFrame(X_missing, columns=[f"d{i}" for i in range(X.shape[1])])
    out = _make(name).set_output(transform="pandas").fit(frame).transform(frame)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list(frame.columns)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_errors_are_clear(name):
    with pytest.raises(ValueError, match="no observed value"):
        _make(name).fit(np.full((2, 8), np.nan))
    with pytest.raises(ValueError, match="infinity"):
        _make(name).fit(np.array([[1.0, np.inf]]))
    with pytest.raises(ValueError, match="Reshape your data"):
        _make(name).fit(np.ones(8))


def test_spline_reproduces_a_cubic_and_clamps_the_edges():
    t = np.arange(20, dtype=np.float64)
    X = (0.01 * t**3 - 0.2 * t**2 + t)[None]
    X_missing = X.copy()
    X_missing[0, [0, 1, 5, 9, 10, 19]] = np.nan
    out = SplineImputer().fit(X_missing).transform(X_missing)
    # A cubic B-spline with not-a-knot ends reproduces a cubic polynomial exactly.
    np.testing.assert_allclose(out[0, [5, 9, 10]], X[0, [5, 9, 10]], rtol=1e-10, atol=1e-12)
    assert out[0, 0] == out[0, 1] == X[0, 2]  # held before the first observed value
    assert out[0, 19] == X[0, 18]  # and after the last


def test_spline_with_few_points_is_linear_or_constant():
    X = np.array(
        [
            [np.nan, 1.0, np.nan, 3.0, np.nan, np.nan],
            [np.nan, np.nan, 7.0, np.nan, np.nan, np.nan],
        ]
    )
    out = SplineImputer().fit(X).transform(X)
    np.testing.assert_array_equal(out, [[1, 1, 2, 3, 3, 3], [7, 7, 7, 7, 7, 7]])


def test_spline_on_ragged_and_three_d_input():
    X = _series(n=2)[:, None].repeat(2, axis=1)
    X[:, :, 10:14] = np.nan
    out = SplineImputer().fit(X).transform(X)
    assert out.shape == X.shape and not np.isnan(out).any()
    ragged = [X[0, 0, :30], X[1, 0]]
    filled = SplineImputer().fit(ragged).transform(ragged)
    assert [f.shape for f in filled] == [(30,), (48,)]


def test_conv_is_tfilm_without_tfilm():
    conv, tfilm = inspect.signature(ConvImputer), inspect.signature(TFiLMImputer)
    tfilm_layer = ("tfilm", "block_length", "rnn", "modulation")
    assert not set(tfilm_layer) & set(conv.parameters)
    assert {k: p.default for k, p in conv.parameters.items()} == {
        k: p.default for k, p in tfilm.parameters.items() if k not in tfilm_layer
    }
    assert not issubclass(ConvImputer, TFiLMImputer)
    est = _make("conv", depth=3)
    assert clone(est).get_params() == est.get_params() and clone(est).depth == 3
    X_missing = hide_at_random(_series(), 0.2, random_state=0)[0]
    est.fit(X_missing)
    assert est.module_.tfilm is False
    assert not any("rnn" in name for name, _ in est.module_.named_parameters())
    with pytest.raises(ValueError, match="Invalid parameter 'tfilm'"):
        est.set_params(tfilm=True)
    ablation = TFiLMImputer(**est.get_params(), tfilm=False).fit(X_missing)
    np.testing.assert_array_equal(ablation.transform(X_missing), est.transform(X_missing))


def test_dnn_windows_short_and_long_series(tmp_path):
    X = _series(n=6, length=48)
    X_missing, hidden = hide_at_random(X, 0.2, random_state=0)
    est = _make("dnn", window_length=16).fit(X_missing)
    assert est.window_length_ == 16 and est.module_.dense.in_features == 32
    out = est.transform(X_missing)  # 48 steps: windows overlapping by half
    assert np.array_equal(out[~hidden], X[~hidden]) and not np.isnan(out).any()
    short = hide_at_random(_series(n=2, length=48)[:, None, :7], 0.3, random_state=0)[0]
    short[:, :, 0] = 1.0
    assert est.transform(short).shape == (2, 1, 7)  # padded as missing, cropped back
    path = tmp_path / "dnn.tsfilm"
    est.save(path)
    loaded = tsfilm.load(path)
    assert type(loaded) is DNNImputer and loaded.hidden_sizes == est.hidden_sizes
    np.testing.assert_array_equal(loaded.transform(X_missing), out)
