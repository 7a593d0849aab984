"""Tests for tsfilm.metrics: SNR, LSD, masked errors and the scorers."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV

from tsfilm import metrics
from tsfilm.metrics import (
    lsd,
    lsd_scorer,
    masked_l2,
    masked_l2_scorer,
    masked_mae,
    masked_mae_scorer,
    snr,
    snr_scorer,
)

# ------------------------------------------------------------------------------ snr


def test_snr_of_noise_with_known_power():
    y = np.full((2, 100), 2.0)  # power per example: 100 * 4 = 400
    noise = np.tile([0.2, -0.2], 50)  # power 100 * 0.04 = 4
    y_pred = y + np.stack([noise, 2 * noise])  # error powers 4 and 16
    np.testing.assert_allclose(
        snr(y, y_pred, average=False), [20.0, 10 * np.log10(400 / 16)], rtol=1e-12
    )
    assert snr(y, y_pred) == pytest.approx((20.0 + 10 * np.log10(25)) / 2, rel=1e-12)


def test_snr_sums_over_channels_of_one_example():
    y = np.ones((1, 2, 50))
    y_pred = y.copy()
    y_pred[0, 1] += 0.1  # error power 50 * 0.01 against signal power 100
    assert snr(y, y_pred) == pytest.approx(10 * np.log10(100 / 0.5), rel=1e-12)


def test_snr_one_dimensional_input_is_one_example():
    y = np.array([3.0, 4.0])
    assert snr(y, y + np.array([0.0, 0.5])) == pytest.approx(20.0)
    assert snr(y, y + np.array([0.0, 0.5]), average=False).shape == (1,)


def test_snr_perfect_prediction_is_infinite():
    y = np.ones((2, 4))
    assert snr(y, y) == np.inf
    assert snr(np.zeros(4), np.ones(4)) == -np.inf
    with np.errstate(all="raise"):  # no warnings escape either
        assert snr(np.zeros(4), np.zeros(4)) == np.inf


def test_snr_errors_and_inputs_unchanged(rng):
    y, y_pred = rng.standard_normal((2, 10)), rng.standard_normal((2, 10))
    before = y.copy(), y_pred.copy()
    snr(y, y_pred)
    np.testing.assert_array_equal(y, before[0])
    np.testing.assert_array_equal(y_pred, before[1])
    with pytest.raises(ValueError, match=r"y_true \(2, 10\) and y_pred \(2, 11\)"):
        snr(y, np.zeros((2, 11)))
    with pytest.raises(ValueError, match="y_pred contains NaN"):
        snr(y, np.full((2, 10), np.nan))


# ------------------------------------------------------------------------------ lsd


def _manual_lsd(y, y_hat, n_fft, hop, log, code=False):
    """Direct loop over frames, for one 1-D example."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    starts = range(0, len(y) - n_fft + 1, hop)
    spec = [
        [log(np.abs(np.fft.rfft(s[a : a + n_fft] * window)) ** 2 + 1e-8) for a in starts]
        for s in (y, y_hat)
    ]
    diff = (np.array(spec[0]) - np.array(spec[1])) ** 2  # (frames, frequencies)
    if code:
        return min(np.mean(np.sqrt(np.mean(diff, axis=0) + 1e-8)), 10.0)
    return np.mean(np.sqrt(np.mean(diff, axis=1)))


def test_lsd_matches_a_frame_by_frame_computation(rng):
    y, y_hat = rng.standard_normal(300), rng.standard_normal(300)
    assert lsd(y, y_hat, n_fft=64, hop_length=20) == pytest.approx(
        _manual_lsd(y, y_hat, 64, 20, np.log10), rel=1e-10
    )
    assert lsd(y, y_hat, n_fft=64, hop_length=20, variant="code") == pytest.approx(
        _manual_lsd(y, y_hat, 64, 20, np.log, code=True), rel=1e-10
    )


def test_lsd_of_a_scaled_signal_is_the_log_of_the_power_ratio(rng):
    # Scaling by 10 multiplies every power by 100: log10 differs by 2 everywhere.
    y = rng.standard_normal((2, 512))
    assert lsd(y, 10 * y, n_fft=128, eps=1e-30) == pytest.approx(2.0, rel=1e-9)
    code = lsd(y, 10 * y, n_fft=128, eps=1e-30, variant="code")
    assert code == pytest.approx(np.sqrt(np.log(100.0) ** 2 + 1e-8), rel=1e-9)
    # The code variant caps each example at 10; ln(1e12) is about 27.6.
    assert lsd(y, 1e6 * y, n_fft=128, eps=1e-30, variant="code") == 10.0


def test_lsd_identical_signals(rng):
    y = rng.standard_normal((3, 1000))
    assert lsd(y, y, n_fft=256) == 0.0
    # The authors' code adds 1e-8 under the square root.
    assert lsd(y, y, n_fft=256, variant="code") == pytest.approx(1e-4)


def test_lsd_is_symmetric_and_the_variants_differ(rng):
    y, y_hat = rng.standard_normal((2, 3, 700))
    forward = lsd(y, y_hat, n_fft=128, average=False)
    np.testing.assert_allclose(forward, lsd(y_hat, y, n_fft=128, average=False), rtol=1e-12)
    assert forward.shape == (3,)
    assert lsd(y, y_hat, n_fft=128) != pytest.approx(lsd(y, y_hat, n_fft=128, variant="code"))


def test_lsd_vectorised_equals_per_example_and_per_channel(rng):
    y, y_hat = rng.standard_normal((2, 3, 2, 400))
    per_example = lsd(y, y_hat, n_fft=64, average=False)
    expected = [
        np.mean([lsd(a, b, n_fft=64) for a, b in zip(s, p, strict=True)])
        for s, p in zip(y, y_hat, strict=True)
    ]
    np.testing.assert_allclose(per_example, expected, rtol=1e-12)
    assert lsd(y, y_hat, n_fft=64) == pytest.approx(np.mean(expected), rel=1e-12)


def test_lsd_batches_give_the_same_values(rng, monkeypatch):
    y, y_hat = rng.standard_normal((2, 5, 300))
    whole = lsd(y, y_hat, n_fft=64, average=False)
    monkeypatch.setattr(metrics, "_STFT_BATCH_VALUES", 1)  # one example per batch
    np.testing.assert_allclose(lsd(y, y_hat, n_fft=64, average=False), whole, rtol=1e-12)


def test_lsd_short_signals_are_zero_padded_to_one_frame(rng):
    y, y_hat = rng.standard_normal((2, 100))
    padded = np.pad(y, (0, 2048 - 100)), np.pad(y_hat, (0, 2048 - 100))
    assert lsd(y, y_hat) == pytest.approx(lsd(*padded), rel=1e-12)
    assert lsd(y, y_hat) > 0


def test_lsd_frames_lie_inside_the_signal(rng):
    # 2048 + 100 samples hold one frame; the last 100 samples are not framed.
    y = rng.standard_normal(2148)
    y_hat = y.copy()
    y_hat[2100] += 1.0
    assert lsd(y, y_hat) == 0.0
    y_hat[2000] += 1.0
    assert lsd(y, y_hat) > 0


def test_lsd_keeps_float32_inputs_unchanged(rng):
    y = rng.standard_normal(300).astype(np.float32)
    before = y.copy()
    assert isinstance(lsd(y, 2 * y, n_fft=64), float)
    np.testing.assert_array_equal(y, before)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"variant": "librosa"}, r"'variant' parameter of lsd must be a str among"),
        ({"n_fft": 0}, r"'n_fft' parameter of lsd must be an int in the range \[1, inf\)"),
        ({"hop_length": 0}, "'hop_length' parameter of lsd must be an int"),
        ({"n_fft": 2}, "too small for the default hop_length"),
        ({"eps": 0.0}, r"'eps' parameter of lsd must be a float in the range \(0.0, inf\)"),
    ],
)
def test_lsd_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lsd(np.ones(10), np.ones(10), **kwargs)


def test_lsd_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"y_true \(3, 10\) and y_pred \(10,\)"):
        lsd(np.ones((3, 10)), np.ones(10))


# ---------------------------------------------------------------- masked_l2 and mae


def test_masked_errors_by_hand():
    y = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]])  # NaN outside the mask is fine
    y_hat = np.array([[1.0, 0.0, 6.0], [4.0, 9.0, 6.0]])
    mask = np.array([[False, False, True], [False, True, False]])
    assert masked_l2(y, y_hat, mask) == 5.0
    assert masked_mae(y, y_hat, mask) == 3.5


def test_masked_errors_normalize_per_sequence():
    y = np.array([[0.0, 2.0, 0.0, 2.0], [0.0, 20.0, 0.0, 20.0]])  # std 1 and 10
    y_hat = y + np.array([[3.0, 0.0, 0.0, 0.0], [0.0, 40.0, 0.0, 0.0]])
    mask = np.array([[True, False, False, False], [False, True, False, False]])
    assert masked_l2(y, y_hat, mask) == pytest.approx(np.sqrt(9 + 1600))
    assert masked_l2(y, y_hat, mask, normalize=True) == pytest.approx(5.0)  # 3/1, 40/10
    assert masked_mae(y, y_hat, mask, normalize=True) == pytest.approx(3.5)
    # A constant sequence keeps scale 1.
    flat = np.ones((1, 4))
    assert masked_l2(flat, flat + 2, np.ones((1, 4), bool), normalize=True) == 4.0


def test_masked_errors_on_three_dimensional_input():
    y = np.zeros((2, 3, 4))
    mask = np.zeros(y.shape, bool)
    mask[1, 2, 3] = True
    assert masked_l2(y, y + 2.0, mask) == 2.0


def test_masked_errors_empty_mask(rng):
    y = rng.standard_normal((2, 3))
    none = np.zeros((2, 3), bool)
    assert masked_l2(y, y + 1, none) == 0.0
    with pytest.raises(ValueError, match="mask selects no entries"):
        masked_mae(y, y + 1, none)


def test_masked_errors_bad_input():
    y, mask = np.zeros((2, 3)), np.ones((2, 3), bool)
    with pytest.raises(TypeError, match="mask must be a boolean array"):
        masked_l2(y, y, mask.astype(int))
    with pytest.raises(ValueError, match=r"y_true \(2, 3\), y_pred \(3, 2\) and mask \(2, 3\)"):
        masked_l2(y, np.zeros((3, 2)), mask)
    with pytest.raises(ValueError, match="finite on the masked entries"):
        masked_l2(np.full((2, 3), np.nan), y, mask)


# ------------------------------------------------------------------------ scorers


class _RepeatUpsampler(RegressorMixin, BaseEstimator):
    """Raises the rate by 2 by repeating each sample, or by inserting zeros."""

    def __init__(self, mode="repeat"):
        self.mode = mode

    def fit(self, X, y):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        if self.mode == "repeat":
            return np.repeat(X, 2, axis=-1)
        return np.stack([X, np.zeros_like(X)], axis=-1).reshape(len(X), -1)


def _super_resolution_data():
    t = np.arange(256)
    y = np.stack([np.sin(2 * np.pi * t / period) for period in (40, 50, 60, 70, 80, 90)])
    return y[:, ::2], y


def test_grid_search_with_snr_and_lsd_scorers():
    X, y = _super_resolution_data()
    search = GridSearchCV(
        _RepeatUpsampler(),
        {"mode": ["zeros", "repeat"]},
        scoring={"snr": snr_scorer, "lsd": lsd_scorer},
        refit="snr",
        cv=3,
    ).fit(X, y)
    assert search.best_params_ == {"mode": "repeat"}
    # Equal folds: the mean of the fold means is the mean over all examples.
    repeat = search.cv_results_["params"].index({"mode": "repeat"})
    expected = snr(y, np.repeat(X, 2, axis=-1))
    assert search.cv_results_["mean_test_snr"][repeat] == pytest.approx(expected, rel=1e-12)
    lsd_scores = search.cv_results_["mean_test_lsd"]
    assert np.all(lsd_scores < 0)  # greater is better: minus the LSD
    assert lsd_scores[repeat] == pytest.approx(-lsd(y, np.repeat(X, 2, axis=-1)), rel=1e-12)
    assert lsd_scores[repeat] > lsd_scores[1 - repeat]


def _imputation_data():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((20, 4))
    y[[0, 10]] = 100.0  # one outlier row per fold pulls the mean, not the median
    X = y.copy()
    X[3:10:3, :] = np.nan
    X[13:20:3, :] = np.nan
    return X, y


def test_masked_l2_scorer_with_simple_imputer():
    X, y = _imputation_data()
    imputer = SimpleImputer().fit(X)
    filled = imputer.transform(X)
    assert masked_l2_scorer(imputer, X, y) == pytest.approx(
        -np.sqrt(np.sum((filled - y)[np.isnan(X)] ** 2)), rel=1e-12
    )
    assert masked_mae_scorer(imputer, X, y) == pytest.approx(
        -np.mean(np.abs(filled - y)[np.isnan(X)]), rel=1e-12
    )
    for scoring in (masked_l2_scorer, masked_mae_scorer):
        search = GridSearchCV(
            SimpleImputer(), {"strategy": ["mean", "median"]}, scoring=scoring, cv=2
        ).fit(X, y)
        assert search.best_params_ == {"strategy": "median"}
        assert np.all(search.cv_results_["mean_test_score"] < 0)


def test_masked_scorers_ignore_entries_without_reference_and_take_a_marker():
    X, y = _imputation_data()
    y_partial = y.copy()
    y_partial[3] = np.nan  # hidden in X but no reference: not scored
    imputer = SimpleImputer().fit(X)
    filled = imputer.transform(X)
    scored = np.isnan(X) & np.isfinite(y_partial)
    assert masked_l2_scorer(imputer, X, y_partial) == pytest.approx(
        -np.sqrt(np.sum((filled - y)[scored] ** 2))
    )
    zero_coded = np.nan_to_num(X, nan=0.0)
    zero_imputer = SimpleImputer(missing_values=0.0).fit(zero_coded)
    scorer = functools.partial(masked_l2_scorer, missing_values=0.0)
    assert scorer(zero_imputer, zero_coded, y) == pytest.approx(masked_l2_scorer(imputer, X, y))


def test_masked_scorers_need_the_reference():
    X, y = _imputation_data()
    imputer = SimpleImputer().fit(X)
    with pytest.raises(ValueError, match="complete reference matrix as y"):
        masked_l2_scorer(imputer, X, None)
    with pytest.raises(ValueError, match=r"got X \(20, 4\) and y \(20, 3\)"):
        masked_l2_scorer(imputer, X, y[:, :3])
