"""The super-resolution baselines of plugins/tsfilm_baselines/super_resolution.py.

The classes are looked up through the registry, as users find them, so the entry point
(not a direct import) is what these tests exercise.
"""

from __future__ import annotations

import copy
import inspect
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import tsfilm
from tsfilm import TFiLMSuperResolver
from tsfilm.estimators import SuperResolverMixin
from tsfilm.metrics import snr, snr_scorer
from tsfilm.preprocessing import degrade, spline_upsample
from tsfilm.registry import get_model, make_model

Spline = get_model("spline", task="super_resolution")
DNN = get_model("dnn", task="super_resolution")
Conv = get_model("conv", task="super_resolution")
BASELINES = (Spline, DNN, Conv)


def _signals(n: int = 6, length: int = 128, channels: int | None = None, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    freqs = rng.uniform(2, 12, size=(n, 1))
    x = np.sin(2 * np.pi * freqs * t) + 0.3 * np.sin(2 * np.pi * 3 * freqs * t)
    x = x.astype(np.float32)
    if channels is not None:
        x = np.stack([x * (c + 1) for c in range(channels)], axis=1)
    return x


def _make(cls: type, **params):
    return cls(**{**cls.get_test_params()[0], **params})


def test_entry_point_registers_the_three_baselines():
    assert [c.__name__ for c in BASELINES] == [
        "SplineSuperResolver",
        "DNNSuperResolver",
        "ConvSuperResolver",
    ]
    assert all(issubclass(c, SuperResolverMixin) for c in BASELINES)
    assert all(c.__module__ == "tsfilm_baselines.super_resolution" for c in BASELINES)


# ---------------------------------------------------------------------------- spline
def test_spline_predicts_the_cubic_spline_exactly():
    y = _signals(length=120)
    X = degrade(y, 4)
    est = Spline().fit(X, y)
    assert (est.ratio_, est.n_channels_, est.n_features_in_) == (4, 1, 30)
    np.testing.assert_array_equal(est.predict(X), spline_upsample(X, 4))
    assert est.predict(X).dtype == np.float32
    assert est.score(X, y) == pytest.approx(snr(y, spline_upsample(X, 4)))


def test_spline_fit_high_rate_needs_ratio_and_keeps_input_layouts():
    y = _signals(n=3, length=64, channels=2)
    est = Spline(ratio=2).fit(y)
    assert est.ratio_ == 2
    assert est.predict(y[..., ::2]).shape == (3, 2, 64)
    ragged = [y[0, :, :40], y[1]]
    assert [o.shape for o in est.predict([r[:, ::2] for r in ragged])] == [(2, 40), (2, 64)]
    assert est.upsample(y[0, :, ::2]).shape == (2, 64)
    with pytest.raises(ValueError, match="pass ratio"):
        Spline().fit(y)


def test_spline_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        Spline().predict(np.zeros((2, 8)))


# --------------------------------------------------------------- shared validation
@pytest.mark.parametrize("cls", BASELINES, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.zeros((3, 16)), np.zeros(3), "not a high-rate signal"),
        (np.zeros((3, 16)), np.zeros((3, 40)), "integer ratio"),
        (np.zeros((3, 16)), np.zeros((2, 32)), "paired"),
        (np.zeros((3, 2, 16)), np.zeros((3, 32)), "channel"),
        (np.zeros((3, 16)), np.zeros((3, 16)), "ratio >= 2"),
        (np.full((3, 16), np.nan), np.zeros((3, 32)), "NaN"),
        (np.zeros(16), None, "1-D"),
    ],
)
def test_baselines_refuse_bad_pairs_like_the_tfilm_model(cls, X, y, match):
    with pytest.raises(ValueError, match=match):
        _make(cls, ratio=2).fit(X, y)
    with pytest.raises(ValueError, match=match):
        TFiLMSuperResolver(ratio=2, **TFiLMSuperResolver.get_test_params()[0]).fit(X, y)


@pytest.mark.parametrize("cls", BASELINES, ids=lambda c: c.__name__)
def test_predict_refuses_other_channel_counts(cls):
    est = _make(cls, ratio=2).fit(_signals())
    with pytest.raises(ValueError, match="trained on 1"):
        est.predict(np.zeros((2, 3, 16), dtype=np.float32))


def test_ratio_given_must_match_the_shapes():
    y = _signals()
    with pytest.raises(ValueError, match="ratio=3 but the shapes"):
        Spline(ratio=3).fit(y[:, ::2], y)


# ---------------------------------------------------------------------------- dnn
def test_dnn_starts_at_the_spline():
    """The output layer starts near zero, so an untrained DNN predicts the spline."""
    y = _signals()
    X = degrade(y, 4)
    est = _make(DNN, max_epochs=1, learning_rate=1e-12).fit(X, y)
    np.testing.assert_allclose(est.predict(X), spline_upsample(X, 4), atol=0.05)


@settings(max_examples=25, deadline=None)
@given(n_low=st.integers(1, 90), overlap=st.sampled_from([None, 0, 5, 31]))
def test_dnn_predicts_any_length(n_low, overlap, dnn_fitted):
    """Windows cover every length: shorter than a patch (padded), exact, or longer."""
    est = copy.deepcopy(dnn_fitted).set_params(overlap=overlap)
    x = np.sin(np.arange(n_low, dtype=np.float32) / 3)
    out = est.upsample(x)
    assert out.shape == (2 * n_low,)
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out))


@pytest.fixture(scope="module")
def dnn_fitted():
    return _make(DNN, ratio=2).fit(_signals())


def test_dnn_windows_agree_with_one_patch_away_from_the_seams(dnn_fitted):
    """Overlapping windows and non-overlapping ones give the same output where a sample
    lies in one window only, and a single patch equals the network applied directly."""
    x = _signals(n=1, length=64)[0, ::2]  # 64 high-rate samples: two patches of 32
    one = dnn_fitted.upsample(x[:16])
    direct = dnn_fitted.module_(
        torch.as_tensor(spline_upsample(x[:16], 2)[None] / dnn_fitted.scale_)
    )
    np.testing.assert_allclose(
        one, direct.detach().numpy()[0] * dnn_fitted.scale_, rtol=1e-5, atol=1e-6
    )
    plain = copy.deepcopy(dnn_fitted).set_params(overlap=0)
    a, b = dnn_fitted.upsample(x), plain.upsample(x)
    np.testing.assert_allclose(a[:24], b[:24], rtol=1e-6)  # before the first overlap


def test_dnn_multichannel_flattens_channels_and_round_trips(tmp_path):
    y = _signals(n=4, length=96, channels=2)
    est = _make(DNN).fit(y[..., ::2], y)
    assert est.module_.in_features == 2 * est.patch_length
    assert est.predict(y[..., ::2]).shape == (4, 2, 96)
    est.save(tmp_path / "dnn.tsfilm")
    loaded = tsfilm.load(tmp_path / "dnn.tsfilm")
    assert loaded.get_params() == est.get_params()
    np.testing.assert_array_equal(loaded.predict(y[..., ::2]), est.predict(y[..., ::2]))


def test_dnn_training_reduces_the_loss_and_beats_the_spline():
    X = _signals(n=16, length=256)
    est = _make(
        DNN,
        ratio=4,
        max_epochs=30,
        learning_rate=3e-3,
        patience=None,
        hidden_sizes=(64,),
        validation_fraction=0.25,
    ).fit(X)
    losses = [h["train_loss"] for h in est.history_]
    assert losses[-1] < 0.8 * losses[0]
    low = degrade(X, 4)
    assert est.score(low, X) > snr(X, spline_upsample(low, 4))


def test_dnn_same_random_state_same_model_and_global_rng_untouched():
    X = _signals()
    state = torch.random.get_rng_state()
    a = _make(DNN, ratio=2).fit(X).predict(X[:, ::2])
    assert torch.equal(torch.random.get_rng_state(), state)
    b = _make(DNN, ratio=2).fit(X).predict(X[:, ::2])
    np.testing.assert_array_equal(a, b)


def test_dnn_warm_start_continues_on_data_of_the_same_ratio_only():
    X = _signals()
    est = _make(DNN, warm_start=True).fit(X[:, ::2], X)
    est.fit(X[:, ::2], X)
    assert [h["epoch"] for h in est.history_] == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="warm_start needs data with the ratio"):
        est.fit(X[:, ::4], X)


@pytest.mark.parametrize(
    ("param", "value", "match"),
    [
        ("patch_length", 1, "'patch_length' parameter"),
        ("overlap", 32, "overlap must be smaller than patch_length"),
        ("overlap", -1, "'overlap' parameter"),
        ("ratio", 0, "'ratio' parameter"),
        ("hidden_sizes", (0,), "hidden_sizes"),
    ],
)
def test_dnn_bad_params_are_named(param, value, match):
    with pytest.raises(ValueError, match=match):
        _make(DNN, **{"ratio": 2, param: value}).fit(_signals())


# ---------------------------------------------------------------------------- conv
def test_conv_has_the_tfilm_parameters_but_those_of_the_tfilm_layers():
    tfilm_params = inspect.signature(TFiLMSuperResolver).parameters
    conv_params = inspect.signature(Conv).parameters
    tfilm_layer = ("tfilm", "block_length", "rnn", "modulation")
    # Streaming (causal=True) is offered for the TFiLM model only.
    tfilm_layer += ("causal", "causal_input", "lookahead")
    assert list(conv_params) == [p for p in tfilm_params if p not in tfilm_layer]
    assert all(conv_params[p].default == tfilm_params[p].default for p in conv_params)
    for name in tfilm_layer:
        with pytest.raises(ValueError, match=f"Invalid parameter '{name}'"):
            Conv().set_params(**{name: None})
    assert not isinstance(Conv(), TFiLMSuperResolver)


def test_conv_is_tfilm_with_tfilm_off():
    X = _signals()
    params = {**Conv.get_test_params()[0], "ratio": 2}
    conv = Conv(**params).fit(X)
    ablation = TFiLMSuperResolver(**params, tfilm=False).fit(X)
    np.testing.assert_array_equal(conv.predict(X[:, ::2]), ablation.predict(X[:, ::2]))


def test_conv_builds_the_network_without_tfilm_and_clones():
    X = _signals()
    est = _make(Conv, ratio=2).fit(X)
    assert est.module_.tfilm is False
    reference = TFiLMSuperResolver(ratio=2, tfilm=False, **Conv.get_test_params()[0]).fit(X)
    np.testing.assert_array_equal(est.predict(X[:, ::2]), reference.predict(X[:, ::2]))
    with_tfilm = TFiLMSuperResolver(ratio=2, **Conv.get_test_params()[0]).fit(X)
    n_params = sum(p.numel() for p in est.module_.parameters())
    assert n_params < sum(p.numel() for p in with_tfilm.module_.parameters())
    assert type(clone(est)) is Conv and clone(est).get_params() == est.get_params()
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(est)).predict(X[:, ::2]), est.predict(X[:, ::2])
    )


# ------------------------------------------------------------------ interchangeable
def test_baselines_swap_in_a_pipeline_grid_search():
    y = _signals(n=8)
    X = degrade(y, 2)
    candidates = [_make(cls) for cls in BASELINES]
    grid = GridSearchCV(
        Pipeline([("model", Spline())]), {"model": candidates}, scoring=snr_scorer, cv=2
    ).fit(X, y)
    assert [type(m).__name__ for m in grid.cv_results_["param_model"]] == [
        "SplineSuperResolver",
        "DNNSuperResolver",
        "ConvSuperResolver",
    ]
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.predict(X).shape == y.shape


def test_make_model_spline_and_tfilm_fit_and_predict_the_same_shapes():
    y = _signals(n=4, length=96, channels=2)
    X = degrade(y, 4)
    spline = make_model("spline", task="super_resolution").fit(X, y)
    tfilm = make_model(
        "tfilm", task="super_resolution", **TFiLMSuperResolver.get_test_params()[0]
    ).fit(X, y)
    assert spline.ratio_ == tfilm.ratio_ == 4
    assert spline.predict(X).shape == tfilm.predict(X).shape == y.shape
    ragged = [X[0, :, :10], X[1]]
    assert [a.shape for a in spline.predict(ragged)] == [b.shape for b in tfilm.predict(ragged)]
