"""The sktime adapters of tsfilm.sktime: sktime's conformance checks and their behaviour."""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pickle
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("sktime")

from sklearn.base import clone
from sktime.utils.estimator_checks import check_estimator

import tsfilm
from tsfilm.registry import get_model, make_model
from tsfilm.sktime import (
    LSTMClassifier,
    SmallCNNClassifier,
    TFiLMClassifier,
    TFiLMSeriesImputer,
    TFiLMUpsampler,
    TsfilmClassifier,
    TsfilmImputer,
)
from tsfilm.sktime._mirror import NOT_MIRRORED
from tsfilm.sktime._upsampler import _finer_times

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = [
    TFiLMSeriesImputer,
    TsfilmImputer,
    TFiLMUpsampler,
    TFiLMClassifier,
    SmallCNNClassifier,
    LSTMClassifier,
    TsfilmClassifier,
]
MIRRORED = {
    TFiLMSeriesImputer: ("imputation", "tfilm"),
    TFiLMUpsampler: ("super_resolution", "tfilm"),
    TFiLMClassifier: ("classification", "tfilm"),
    SmallCNNClassifier: ("classification", "smallcnn"),
    LSTMClassifier: ("classification", "lstm"),
}
#: sktime checks that need no fitted network, for the default suite; the full
#: check_estimator runs are marked slow.
QUICK_CHECKS = [
    "test_class_has_doctest_example",
    "test_constructor",
    "test_get_test_params",
    "test_get_test_params_coverage",
    "test_has_common_interface",
    "test_inheritance",
    "test_obj_vs_cls_signature",
    "test_object_tags",
    "test_random_tags",
    "test_raises_not_fitted_error",
    "test_set_params_sklearn",
    "test_valid_object_class_tags",
    "test_valid_object_tags",
    "test_fit_returns_self",
]
TINY_IMPUTER = TFiLMSeriesImputer.get_test_params()[0]
TINY_CLASSIFIER = TFiLMClassifier.get_test_params()[0]


def _failures(results: dict) -> dict:
    return {name: result for name, result in results.items() if result != "PASSED"}


# ---------------------------------------------------------------------- the package
def test_import_without_sktime_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "tsfilm.sktime" or m.startswith("tsfilm.sktime.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sktime", None)  # makes `import sktime` fail
    with pytest.raises(ImportError, match=r'pip install "tsfilm\[sktime\]"'):
        importlib.import_module("tsfilm.sktime")


def test_nothing_else_in_tsfilm_imports_sktime():
    importers = []
    for path in [*(ROOT / "tsfilm").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]:
        if "sktime" in path.relative_to(ROOT).parts[1:2]:
            continue  # tsfilm/sktime/ itself
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(n == "sktime" or n.startswith(("sktime.", "tsfilm.sktime")) for n in names):
                importers.append(str(path.relative_to(ROOT)))
    assert importers == []


def test_public_names():
    import tsfilm.sktime as module

    assert sorted(module.__all__) == sorted(cls.__name__ for cls in ADAPTERS)


# ---------------------------------------------------------------------- sktime's checks
@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda cls: cls.__name__)
def test_sktime_quick_checks(adapter):
    results = check_estimator(adapter, tests_to_run=QUICK_CHECKS, verbose=False)
    assert len(results) >= 40
    assert _failures(results) == {}


@pytest.mark.slow
@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda cls: cls.__name__)
def test_sktime_check_estimator(adapter):
    # Every check of sktime's conformance suite, on every test setting and scenario.
    results = check_estimator(adapter, raise_exceptions=False, verbose=False)
    assert len(results) >= 250
    assert _failures(results) == {}


# ---------------------------------------------------------------------- mirrored params
@pytest.mark.parametrize("adapter", list(MIRRORED), ids=lambda cls: cls.__name__)
def test_named_adapters_mirror_the_registered_model(adapter):
    task, name = MIRRORED[adapter]
    model = get_model(name, task=task)
    assert adapter._estimator_class is model
    expected = {k: v for k, v in model().get_params().items() if k not in NOT_MIRRORED}
    adapter_params = adapter().get_params()
    assert list(adapter_params) == list(adapter.get_param_names())
    assert set(adapter_params) == set(expected)
    for key, value in expected.items():
        same = value is adapter_params[key] or value == adapter_params[key]
        assert same, key
    # The docstring documents every parameter, with the model's own text.
    assert "{parameters}" not in adapter.__doc__
    documented = {
        name
        for names in re.findall(r"^    ([\w, ]+) : ", adapter.__doc__, flags=re.M)
        for name in names.split(", ")
    }
    assert set(adapter_params) <= documented
    assert "warm_start" not in documented
    # Keyword-only, as sktime and scikit-learn expect.
    kinds = {p.kind for p in list(inspect.signature(adapter).parameters.values())}
    assert kinds == {inspect.Parameter.KEYWORD_ONLY}


def test_mirrored_constructor_rejects_unknown_and_positional_arguments():
    with pytest.raises(TypeError, match="n_filterz"):
        TFiLMClassifier(n_filterz=8)
    with pytest.raises(TypeError):
        TFiLMClassifier(8)
    with pytest.raises(TypeError, match="warm_start"):
        TFiLMSeriesImputer(warm_start=True)


def test_mirrored_params_reach_the_estimator():
    clf = TFiLMClassifier(**{**TINY_CLASSIFIER, "n_filters": 6, "rnn": "gru"})
    X, y = _labelled_panel()
    clf.fit(X, y)
    assert type(clf.estimator_) is tsfilm.TFiLMSequenceClassifier
    assert clf.estimator_.n_filters == 6 and clf.estimator_.rnn == "gru"
    assert clf.estimator_.embed(X).shape == (len(y), 6)


def test_invalid_parameter_values_raise_the_estimators_errors():
    X, y = _labelled_panel()
    with pytest.raises(ValueError, match="'n_filters' parameter"):
        TFiLMClassifier(**{**TINY_CLASSIFIER, "n_filters": 0}).fit(X, y)
    with pytest.raises(ValueError, match="'mask_rate' parameter"):
        TFiLMSeriesImputer(**{**TINY_IMPUTER, "mask_rate": 1.5}).fit(_series_with_gaps())


# ---------------------------------------------------------------------- imputer
def _series_with_gaps(n: int = 96, seed: int = 0, freq: str = "h") -> pd.Series:
    rng = np.random.default_rng(seed)
    values = 10 + np.sin(np.arange(n) / 4) + rng.normal(scale=0.1, size=n)
    values[rng.random(n) < 0.2] = np.nan
    values[0] = 10.0
    return pd.Series(values, index=pd.period_range("2020-01-01", periods=n, freq=freq), name="y")


def _panel_with_gaps(
    lengths=(40, 33, 52), n_columns: int = 2, seed: int = 0, rate: float = 0.2
) -> pd.DataFrame:
    """A pd-multiindex Panel of unequal-length multivariate series with NaN gaps."""
    rng = np.random.default_rng(seed)
    frames = []
    for i, length in enumerate(lengths):
        t = np.arange(length)
        data = {
            f"v{c}": np.sin(t / (3 + c) + i) * (c + 1) + rng.normal(scale=0.05, size=length)
            for c in range(n_columns)
        }
        frame = pd.DataFrame(data)
        gaps = rng.random(frame.shape) < rate
        gaps[0] = False  # every series channel keeps an observed value
        frame = frame.mask(gaps)
        frame.index = pd.MultiIndex.from_product([[f"s{i}"], t], names=["instance", "time"])
        frames.append(frame)
    return pd.concat(frames)


@functools.cache
def _fitted_imputer() -> TFiLMSeriesImputer:
    return TFiLMSeriesImputer(**TINY_IMPUTER).fit(_panel_with_gaps())


def test_imputer_series_keeps_index_and_observed_values_and_fills_gaps():
    y = _series_with_gaps()
    before = y.copy()
    filled = TFiLMSeriesImputer(**TINY_IMPUTER).fit_transform(y)
    pd.testing.assert_series_equal(y, before)  # input untouched
    assert isinstance(filled, pd.Series) and filled.name == "y"
    assert filled.index.equals(y.index)
    assert not filled.isna().any()
    observed = y.notna()
    np.testing.assert_array_equal(filled[observed].to_numpy(), y[observed].to_numpy())


def test_imputer_fits_one_global_model_on_an_unequal_multivariate_panel():
    X = _panel_with_gaps()
    imputer = _fitted_imputer()
    # One tsfilm imputer for the whole panel, not one per series.
    assert not imputer.get_tag("scitype:instancewise")
    assert isinstance(imputer.estimator_, tsfilm.TFiLMImputer)
    assert imputer.estimator_.n_channels_ == 2
    filled = imputer.transform(X)
    assert filled.index.equals(X.index) and filled.columns.equals(X.columns)
    assert not filled.isna().any().any()
    observed = X.notna().to_numpy()
    np.testing.assert_array_equal(filled.to_numpy()[observed], X.to_numpy()[observed])


def test_imputer_transforms_series_of_other_lengths_and_numpy3d():
    imputer = _fitted_imputer()
    other = _panel_with_gaps(lengths=(7, 80), seed=3)
    assert imputer.transform(other).index.equals(other.index)
    X3d = np.stack([_panel_with_gaps(lengths=(30,), seed=s).to_numpy().T for s in range(3)])
    filled = imputer.transform(X3d)
    assert isinstance(filled, np.ndarray) and filled.shape == X3d.shape
    observed = ~np.isnan(X3d)
    np.testing.assert_array_equal(filled[observed], X3d[observed])
    assert np.isfinite(filled).all()


def test_imputer_keeps_float32_columns_and_hierarchical_index():
    X = _panel_with_gaps(lengths=(20, 20, 20, 20)).astype(np.float32)
    outer = ["a", "a", "b", "b"]
    X.index = pd.MultiIndex.from_arrays(
        [
            np.repeat(outer, 20),
            X.index.get_level_values(0),
            X.index.get_level_values(1),
        ],
        names=["region", "instance", "time"],
    )
    filled = TFiLMSeriesImputer(**TINY_IMPUTER).fit_transform(X)
    assert filled.index.equals(X.index)
    assert (filled.dtypes == np.float32).all()
    observed = X.notna().to_numpy()
    np.testing.assert_array_equal(filled.to_numpy()[observed], X.to_numpy()[observed])


def test_imputer_missing_values_marker():
    y = _series_with_gaps().fillna(0.0)
    imputer = TFiLMSeriesImputer(**{**TINY_IMPUTER, "missing_values": 0.0}).fit(y)
    filled = imputer.transform(y)
    zeros = y == 0
    assert (filled[zeros] != 0).all()
    np.testing.assert_array_equal(filled[~zeros].to_numpy(), y[~zeros].to_numpy())


def test_imputer_inverse_transform_is_the_identity():
    y = _series_with_gaps()
    imputer = TFiLMSeriesImputer(**TINY_IMPUTER).fit(y)
    filled = imputer.transform(y)
    pd.testing.assert_series_equal(imputer.inverse_transform(filled), filled)


def test_imputer_same_random_state_same_numbers_clone_and_pickle():
    X = _panel_with_gaps()
    first = TFiLMSeriesImputer(**TINY_IMPUTER).fit(X)
    second = clone(first).fit(X)
    pd.testing.assert_frame_equal(first.transform(X), second.transform(X))
    restored = pickle.loads(pickle.dumps(first))
    pd.testing.assert_frame_equal(first.transform(X), restored.transform(X))
    other_seed = TFiLMSeriesImputer(**{**TINY_IMPUTER, "random_state": 1}).fit(X)
    assert not other_seed.transform(X).equals(first.transform(X))


def test_imputer_model_file_of_the_fitted_estimator(tmp_path):
    X = _panel_with_gaps()
    imputer = _fitted_imputer()
    path = tmp_path / "imputer.tsfilm"
    imputer.estimator_.save(path)
    loaded = tsfilm.load(path)
    arrays = [g.to_numpy().T for _, g in X.groupby(level=0, sort=False)]
    expected = imputer.transform(X)
    for got, (_, want) in zip(
        loaded.transform(arrays), expected.groupby(level=0, sort=False), strict=True
    ):
        np.testing.assert_array_equal(got, want.to_numpy().T)


def test_imputer_errors_are_clear():
    imputer = _fitted_imputer()
    with pytest.raises(ValueError, match=r"1 channel\(s\) but the imputer was fitted on 2"):
        imputer.transform(_panel_with_gaps(n_columns=1))
    empty = _panel_with_gaps()
    empty["v1"] = np.nan
    with pytest.raises(ValueError, match=r"Channel\(s\) \[1\]"):
        TFiLMSeriesImputer(**TINY_IMPUTER).fit(empty)
    with pytest.raises(TypeError, match="estimator must be a tsfilm imputer"):
        TsfilmImputer(tsfilm.TFiLMSequenceClassifier()).fit(_series_with_gaps())


def test_generic_imputer_wraps_registry_models_and_exposes_nested_params():
    adapter = TsfilmImputer(make_model("tfilm", task="imputation", **TINY_IMPUTER))
    assert adapter.get_params()["estimator__window_length"] == 32
    assert adapter.get_tag("property:randomness") == "derandomized"
    spline = TsfilmImputer(make_model("spline", task="imputation"))
    assert spline.get_tag("property:randomness") == "deterministic"
    assert TsfilmImputer().get_tag("property:randomness") == "stochastic"
    X = _panel_with_gaps()
    estimator = adapter.estimator
    adapter.fit(X)
    assert adapter.estimator_ is not estimator and not hasattr(estimator, "module_")


@settings(max_examples=30, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 30), min_size=1, max_size=4),
    n_columns=st.integers(1, 3),
    rate=st.floats(0.0, 0.9),
    seed=st.integers(0, 10_000),
    order=st.sampled_from(["grouped", "reversed", "interleaved"]),
)
def test_property_panel_rows_go_back_where_they_came_from(lengths, n_columns, rate, seed, order):
    # The spline baseline fills each series from its own values, so the filled panel must
    # equal the series filled one by one, whatever the lengths and the order of the rows
    # (sktime only asks that each series' time points increase).
    X = _panel_with_gaps(lengths=lengths, n_columns=n_columns, seed=seed, rate=rate)
    if order == "reversed":
        X = pd.concat([rows for _, rows in X.groupby(level=0, sort=False)][::-1])
    elif order == "interleaved":
        X = X.sort_index(level=-1, sort_remaining=False, kind="stable")
    imputer = TsfilmImputer(make_model("spline", task="imputation")).fit(X)
    filled = imputer.transform(X)
    assert filled.index.equals(X.index) and not filled.isna().any().any()
    observed = X.notna().to_numpy()
    np.testing.assert_array_equal(filled.to_numpy()[observed], X.to_numpy()[observed])
    spline = make_model("spline", task="imputation").fit([X.to_numpy().T])
    for _, rows in X.groupby(level=0, sort=False):
        alone = spline.transform([rows.sort_index().to_numpy().T])[0].T
        np.testing.assert_array_equal(filled.loc[rows.sort_index().index].to_numpy(), alone)


# ---------------------------------------------------------------------- classifiers
def _labelled_panel(n: int = 24, length: int = 32, n_columns: int = 2, seed: int = 0):
    """Two classes of multivariate series: slow and fast oscillations, as numpy3D."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    y = np.array(["slow", "fast"] * (n // 2))
    freq = np.where(y == "slow", 0.05, 0.3)[:, None, None]
    X = np.sin(2 * np.pi * freq * t + rng.uniform(0, 6, size=(n, n_columns, 1)))
    return X + rng.normal(scale=0.1, size=X.shape), y


def _unequal(X: np.ndarray, lengths) -> pd.DataFrame:
    """pd-multiindex Panel of the series of ``X`` cut to ``lengths``."""
    frames = [
        pd.DataFrame(
            x[:, :length].T,
            index=pd.MultiIndex.from_product([[i], range(length)]),
            columns=[f"v{c}" for c in range(x.shape[0])],
        )
        for i, (x, length) in enumerate(zip(X, lengths, strict=True))
    ]
    return pd.concat(frames)


@pytest.mark.parametrize(
    "adapter", [TFiLMClassifier, SmallCNNClassifier, LSTMClassifier], ids=lambda c: c.__name__
)
def test_classifiers_predict_multivariate_and_unequal_length(adapter):
    X, y = _labelled_panel()
    clf = adapter(**{**adapter.get_test_params()[0], "max_epochs": 15}).fit(X, y)
    assert clf.classes_.tolist() == ["fast", "slow"]
    assert clf.estimator_.classes_.tolist() == clf.classes_.tolist()
    proba = clf.predict_proba(X)
    assert proba.shape == (len(y), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert np.mean(clf.predict(X) == y) > 0.8  # the two classes are easy
    lengths = [32 - (i % 5) * 3 for i in range(len(y))]
    unequal = _unequal(X, lengths)
    clf_unequal = adapter(**adapter.get_test_params()[0]).fit(unequal, y)
    proba_unequal = clf_unequal.predict_proba(unequal)
    assert proba_unequal.shape == (len(y), 2)
    # A series gets the same scores alone as among series of other lengths.
    alone = clf_unequal.predict_proba(_unequal(X[3:4], lengths[3:4]))
    np.testing.assert_allclose(alone[0], proba_unequal[3], rtol=1e-5, atol=1e-6)


def test_classifier_same_random_state_same_numbers_clone_and_pickle():
    X, y = _labelled_panel()
    first = TFiLMClassifier(**TINY_CLASSIFIER).fit(X, y)
    second = clone(first).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(first.predict_proba(X), restored.predict_proba(X))
    other = TFiLMClassifier(**{**TINY_CLASSIFIER, "random_state": 1}).fit(X, y)
    assert not np.array_equal(first.predict_proba(X), other.predict_proba(X))


def test_classifier_labels_of_any_type_and_a_single_class():
    X, y = _labelled_panel()
    codes = np.where(y == "slow", 7, 3)
    clf = LSTMClassifier(**LSTMClassifier.get_test_params()[0]).fit(X, codes)
    assert clf.classes_.tolist() == [3, 7]
    assert set(clf.predict(X).tolist()) <= {3, 7}
    with pytest.warns(UserWarning, match="single label"):
        single = TFiLMClassifier(**TINY_CLASSIFIER).fit(X, np.full(len(y), "only"))
    assert single.predict(X).tolist() == ["only"] * len(y)
    assert not hasattr(single, "estimator_")  # sktime answers without a model


def test_classifier_errors_are_clear():
    X, y = _labelled_panel()
    X_nan = X.copy()
    X_nan[0, 0, 3] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        TFiLMClassifier(**TINY_CLASSIFIER).fit(X_nan, y)
    fitted = TFiLMClassifier(**TINY_CLASSIFIER).fit(X, y)
    with pytest.raises(ValueError, match=r"1 channel\(s\) but the model was trained on 2"):
        fitted.predict(X[:, :1])
    text = make_model("tfilm_text", task="classification")
    with pytest.raises(TypeError, match="classifier of numeric series"):
        TsfilmClassifier(text).fit(X, y)


def test_generic_classifier_wraps_a_registry_model():
    X, y = _labelled_panel()
    model = make_model("smallcnn", task="classification", **SmallCNNClassifier.get_test_params()[0])
    generic = TsfilmClassifier(model).fit(X, y)
    named = SmallCNNClassifier(**SmallCNNClassifier.get_test_params()[0]).fit(X, y)
    np.testing.assert_array_equal(generic.predict_proba(X), named.predict_proba(X))
    assert not hasattr(model, "module_")  # the given estimator is cloned, not fitted
    assert generic.get_params()["estimator__n_filters"] == 8


def test_pipeline_imputer_then_classifier():
    X, y = _labelled_panel()
    X_missing = X.copy()
    X_missing[np.random.default_rng(0).random(X.shape) < 0.2] = np.nan
    X_missing[:, :, 0] = X[:, :, 0]
    pipeline = TFiLMSeriesImputer(**TINY_IMPUTER) * TFiLMClassifier(**TINY_CLASSIFIER)
    pipeline.fit(X_missing, y)
    assert pipeline.predict_proba(X_missing).shape == (len(y), 2)
    assert "classifier__n_filters" in pipeline.get_params()


# ---------------------------------------------------------------------- upsampler
def test_upsampler_datetime_period_and_integer_indexes():
    t = np.arange(60)
    values = {"a": np.sin(t / 4), "b": np.cos(t / 6)}
    tiny = {**TFiLMUpsampler.get_test_params()[0], "ratio": 2}
    daily = pd.DataFrame(values, index=pd.date_range("2021-03-01", periods=60, freq="D"))
    out = TFiLMUpsampler(**tiny).fit_transform(daily)
    assert out.shape == (120, 2) and out.columns.equals(daily.columns)
    assert out.index[0] == daily.index[0] and out.index.freqstr == "12h"
    assert out.index[::2].equals(pd.DatetimeIndex(daily.index, freq=None).as_unit(out.index.unit))
    hourly = daily.set_axis(pd.period_range("2021-03-01", periods=60, freq="h"))
    out = TFiLMUpsampler(**tiny).fit_transform(hourly)
    assert isinstance(out.index, pd.PeriodIndex) and out.index.freqstr == "30min"
    counted = daily.set_axis(pd.RangeIndex(5, 65))
    out = TFiLMUpsampler(**{**tiny, "ratio": 3}).fit_transform(counted)
    assert out.index.equals(pd.RangeIndex(15, 195))


def test_upsampler_panel_keeps_instances():
    X = _panel_with_gaps(lengths=(20, 24), rate=0.0)
    up = TFiLMUpsampler(**TFiLMUpsampler.get_test_params()[0]).fit(X)
    out = up.transform(X)
    assert out.index.names == X.index.names
    assert out.groupby(level=0, sort=False).size().to_dict() == {"s0": 40, "s1": 48}
    assert out.loc["s1"].index.equals(pd.RangeIndex(0, 48))
    assert np.isfinite(out.to_numpy()).all()


def test_upsampler_errors_are_clear():
    monthly = pd.Series(np.arange(40.0), index=pd.period_range("2000-01", periods=40, freq="M"))
    tiny = TFiLMUpsampler.get_test_params()[0]
    with pytest.raises(ValueError, match="regular time index"):
        TFiLMUpsampler(**tiny).fit(monthly)
    with pytest.raises(ValueError, match="ratio"):
        TFiLMUpsampler(**{**tiny, "ratio": None}).fit(monthly.reset_index(drop=True))
    odd = pd.Series(np.arange(40.0), index=pd.date_range("2000", periods=40, freq="1ns"))
    with pytest.raises(ValueError, match="does not divide by ratio=2"):
        TFiLMUpsampler(**tiny).fit(odd)
    with pytest.raises(ValueError, match="missing values"):
        TFiLMUpsampler(**tiny).fit(_series_with_gaps())


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(2, 50),
    ratio=st.integers(2, 6),
    step_minutes=st.integers(1, 600),
    kind=st.sampled_from(["datetime", "period", "range"]),
)
def test_property_finer_index_puts_the_input_every_ratio_points(n, ratio, step_minutes, kind):
    if kind == "range":
        times = pd.RangeIndex(3, 3 + n * step_minutes, step_minutes)
    else:
        times = pd.date_range("2022-06-01", periods=n, freq=f"{step_minutes}min")
        if kind == "period":
            times = times.to_period(f"{step_minutes}min")
    finer = _finer_times(times, ratio)
    assert len(finer) == n * ratio and type(finer) is type(times)
    if kind == "range":
        np.testing.assert_array_equal(finer[::ratio], ratio * times.to_numpy())
    else:
        coarse = times.to_timestamp() if kind == "period" else times
        fine = finer.to_timestamp() if kind == "period" else finer
        np.testing.assert_array_equal(fine[::ratio].asi8, coarse.as_unit(fine.unit).asi8)
        assert len(set(np.diff(fine.asi8).tolist())) == 1
