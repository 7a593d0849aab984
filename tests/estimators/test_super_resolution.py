"""TFiLMSuperResolver: contract, input checks, reproducibility, persistence, long signals."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import tsfilm
from tsfilm import TFiLMSuperResolver
from tsfilm.metrics import snr_scorer
from tsfilm.preprocessing import degrade, spline_upsample

TINY = TFiLMSuperResolver.get_test_params()[0]


def _signals(n: int = 6, length: int = 128, channels: int | None = None, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    freqs = rng.uniform(2, 12, size=(n, 1))
    x = np.sin(2 * np.pi * freqs * t) + 0.3 * np.sin(2 * np.pi * 3 * freqs * t)
    x = x.astype(np.float32)
    if channels is not None:
        x = np.stack([x * (c + 1) for c in range(channels)], axis=1)
    return x


@pytest.fixture(scope="module")
def fitted() -> TFiLMSuperResolver:
    X = _signals()
    return TFiLMSuperResolver(ratio=2, **TINY).fit(X)


def test_fit_pairs_reads_ratio_from_shapes():
    y = _signals(length=120)
    X = y[:, ::3]
    est = TFiLMSuperResolver(**TINY).fit(X, y)
    assert est.ratio_ == 3
    assert est.n_channels_ == 1
    assert est.predict(X).shape == y.shape
    assert est.n_epochs_ == TINY["max_epochs"] == len(est.history_)
    assert set(est.history_[0]) == {"epoch", "train_loss", "valid_loss", "seconds", "threads"}


def test_fit_high_rate_with_ratio_degrades(fitted):
    X = _signals()
    assert fitted.ratio_ == 2
    low = degrade(X, 2)
    assert fitted.predict(low).shape == X.shape


def test_zero_output_layer_starts_at_the_spline():
    """With the output layer near zero and no training the prediction is the spline."""
    y = _signals()
    X = degrade(y, 4)
    est = TFiLMSuperResolver(**{**TINY, "max_epochs": 1, "learning_rate": 1e-12}).fit(X, y)
    pred = est.predict(X)
    spline = spline_upsample(X, 4, length=y.shape[-1])
    np.testing.assert_allclose(pred, spline, atol=0.05)


def test_multichannel_and_ragged_input():
    y = _signals(n=4, length=96, channels=2)
    X = y[..., ::2]
    est = TFiLMSuperResolver(**TINY).fit(X, y)
    assert est.predict(X).shape == (4, 2, 96)
    ragged = [y[0, :, :80], y[1], y[2, :, :50]]
    est2 = TFiLMSuperResolver(ratio=2, **TINY).fit(ragged)
    out = est2.predict([r[:, ::2] for r in ragged])
    assert [o.shape for o in out] == [(2, 80), (2, 96), (2, 50)]
    one = est2.upsample(ragged[0][:, ::2])
    assert one.shape == (2, 80)


def test_upsample_one_dimensional_signal(fitted):
    x = _signals(n=1)[0, ::2]
    out = fitted.upsample(x)
    assert out.shape == (2 * x.shape[0],)
    np.testing.assert_allclose(out, fitted.predict(x[None])[0], rtol=1e-6)


def test_training_reduces_loss():
    X = _signals(n=16, length=256)
    est = TFiLMSuperResolver(
        ratio=4,
        **{
            **TINY,
            "max_epochs": 30,
            "learning_rate": 3e-3,
            "patience": None,
            "validation_fraction": 0.25,
        },
    ).fit(X)
    losses = [h["train_loss"] for h in est.history_]
    assert losses[-1] < 0.8 * losses[0]
    assert all(h["valid_loss"] is not None for h in est.history_)
    low = degrade(X, 4)
    assert est.score(low, X) > tsfilm.metrics.snr(X, spline_upsample(low, 4, length=256)) - 0.5


def test_clone_pickle_save_load_round_trip(fitted, tmp_path):
    X_low = _signals()[:, ::2]
    expected = fitted.predict(X_low)
    assert clone(fitted).get_params() == fitted.get_params()
    assert not hasattr(clone(fitted), "module_")
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X_low), expected)
    path = tmp_path / "model.tsfilm"
    fitted.save(path)
    loaded = tsfilm.load(path)
    assert type(loaded) is TFiLMSuperResolver
    assert loaded.get_params() == fitted.get_params()
    assert loaded.history_ == fitted.history_
    np.testing.assert_array_equal(loaded.predict(X_low), expected)
    assert [p.name for p in tmp_path.iterdir()] == ["model.tsfilm"]


def test_gridsearch_pipeline_with_snr_scorer():
    y = _signals(n=8)
    X = degrade(y, 2)
    grid = GridSearchCV(
        TFiLMSuperResolver(**TINY),
        {"tfilm": [True, False]},
        scoring=snr_scorer,
        cv=2,
    ).fit(X, y)
    assert set(grid.cv_results_["param_tfilm"]) == {True, False}
    assert np.isfinite(grid.best_score_)
    pipe = make_pipeline(FunctionTransformer(lambda a: a * 1.0), TFiLMSuperResolver(**TINY))
    assert pipe.fit(X, y).predict(X).shape == y.shape


def test_long_signal_runs_in_chunks_and_matches_short_path(fitted):
    x = np.tile(_signals(n=1, length=128)[0, ::2], 40)  # 2560 low-rate samples
    est = clone(fitted).set_params(chunk_length=256)
    est.fit(_signals())
    out = est.upsample(x)
    assert out.shape == (2 * x.shape[0],)
    assert np.all(np.isfinite(out))
    whole = clone(est).set_params(chunk_length=8192)
    whole.module_, whole.ratio_, whole.scale_, whole.n_channels_ = (
        est.module_,
        est.ratio_,
        est.scale_,
        est.n_channels_,
    )
    # Away from the chunk seams the two paths agree closely.
    np.testing.assert_allclose(out[:200], whole.upsample(x)[:200], atol=2e-3)


@pytest.mark.parametrize(
    ("X", "y", "error", "match"),
    [
        (np.full((3, 16), np.nan), None, ValueError, "NaN"),
        (np.full((3, 16), np.inf), None, ValueError, "infinity"),
        (np.zeros((3, 16)), np.zeros((3, 40)), ValueError, "integer ratio"),
        (np.zeros((3, 16)), np.zeros((2, 32)), ValueError, "paired"),
        (np.zeros((3, 16)), np.zeros((3, 16)), ValueError, "ratio >= 2"),
        (np.array([["a", "b"], ["c", "d"]]), None, (TypeError, ValueError), "float|numeric|string"),
        (np.zeros((0, 16)), None, ValueError, "0 sample"),
        (np.zeros(16), None, ValueError, "1-D"),
        (np.zeros((2, 1)), None, ValueError, "at least 2"),
        ("abc", None, TypeError, "string"),
    ],
)
def test_bad_input_gets_clear_errors(X, y, error, match):
    with pytest.raises(error, match=match):
        TFiLMSuperResolver(ratio=2, **TINY).fit(X, y)


def test_fit_without_ratio_or_y_explains():
    with pytest.raises(ValueError, match="pass ratio"):
        TFiLMSuperResolver(**TINY).fit(_signals())


@pytest.mark.parametrize(
    ("param", "value", "match"),
    [
        ("ratio", 0, "'ratio' parameter"),
        ("patch_length", 1, "'patch_length' parameter"),
        ("max_epochs", 0, "'max_epochs' parameter"),
        ("learning_rate", -1.0, "'learning_rate' parameter"),
        ("precision", "float16", "'precision' parameter"),
        ("validation_fraction", 1.0, "'validation_fraction' parameter"),
        ("rnn", "rnn", "'rnn' parameter"),
        ("device", "tpu", "device='tpu' cannot run a network"),
        ("device", "meta", "device='meta' cannot run a network"),
    ],
)
def test_bad_params_are_named(param, value, match):
    est = TFiLMSuperResolver(**{**TINY, "ratio": 2}).set_params(**{param: value})
    with pytest.raises(ValueError, match=match):
        est.fit(_signals())


def test_inputs_are_not_modified(fitted):
    y = _signals()
    X = y[:, ::2].copy()
    y_copy, X_copy = y.copy(), X.copy()
    TFiLMSuperResolver(**TINY).fit(X, y)
    fitted.predict(X)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_predict_checks_channels(fitted):
    with pytest.raises(ValueError, match="channel"):
        fitted.predict(np.zeros((2, 3, 16)))


def test_chunk_spline_matches_whole_signal_spline(fitted):
    """Long signals are spline-upsampled chunk by chunk (bounded memory) without changing
    the network's input."""
    x = np.random.default_rng(3).normal(size=(1, 700)).astype(np.float32)
    whole = spline_upsample(x, 2)
    for start, stop in [(0, 256), (300, 556), (1144, 1400), (1000, 1400)]:
        np.testing.assert_allclose(
            fitted._spline_span(x, start, stop), whole[:, start:stop], atol=1e-5
        )


# ---------------------------------------------------------------------- STFT loss
def test_stft_loss_is_zero_at_the_target_and_grows_with_the_error():
    import torch

    from tsfilm.estimators.super_resolution import multi_resolution_stft_loss

    y = torch.from_numpy(_signals(n=3, length=4096))[:, None]
    assert float(multi_resolution_stft_loss(y, y)) == 0.0
    noise = torch.randn(y.shape, generator=torch.Generator().manual_seed(0))
    small, large = (float(multi_resolution_stft_loss(y + a * noise, y)) for a in (0.01, 0.1))
    assert 0 < small < large
    # A silent example does not blow the loss up (norms over the whole batch).
    silent = torch.cat([y, torch.zeros_like(y[:1])])
    noisy = silent + 0.01 * torch.randn(silent.shape, generator=torch.Generator().manual_seed(2))
    assert float(multi_resolution_stft_loss(noisy, silent)) < 20
    # Only the FFT sizes that fit; a signal shorter than all of them is refused.
    with pytest.raises(ValueError, match="at least 512 samples"):
        multi_resolution_stft_loss(y[..., :256], y[..., :256])
    with pytest.raises(ValueError, match="of one shape"):
        multi_resolution_stft_loss(y, y[..., :2048])


def test_stft_weight_adds_the_stft_term_to_the_rmse():
    import torch

    from tsfilm.estimators.super_resolution import multi_resolution_stft_loss

    est = TFiLMSuperResolver(ratio=2, **{**TINY, "patch_length": 1024}).fit(_signals(length=1024))
    module = est.module_
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(2, 1, 1024, generator=g), torch.randn(2, 1, 1024, generator=g)
    with torch.no_grad():
        plain = est.compute_loss(module, (x, y))
        rmse = torch.sqrt(torch.mean((module(x) - y) ** 2, dim=(1, 2)) + 1e-6).mean()
        est.set_params(stft_weight=0.5)
        weighted = est.compute_loss(module, (x, y))
        stft = multi_resolution_stft_loss(module(x), y)
    torch.testing.assert_close(plain, rmse)
    torch.testing.assert_close(weighted, rmse + 0.5 * stft)


def test_stft_weight_trains_reproducibly_and_refuses_negative_weights():
    X = _signals(n=4, length=1024)
    params = {**TINY, "patch_length": 1024, "stft_weight": 0.1, "random_state": 3}
    a = TFiLMSuperResolver(ratio=2, **params).fit(X)
    b = TFiLMSuperResolver(ratio=2, **params).fit(X)
    np.testing.assert_array_equal(a.predict(X[:, ::2]), b.predict(X[:, ::2]))
    assert all(np.isfinite(h["train_loss"]) for h in a.history_)
    with pytest.raises(ValueError, match="stft_weight"):
        TFiLMSuperResolver(ratio=2, **{**params, "stft_weight": -1.0}).fit(X)
