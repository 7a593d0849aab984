"""Tests of tsfilm.testing itself: each check catches the fault it is meant to catch.

A minimal correct super-resolver (sample and hold, written on the public validation API
only) passes every check; variants broken in one way each are caught by the check of
that property, and only the expected scikit-learn checks fail, for the documented reason.
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

import tsfilm.testing as kit
from tsfilm import registry
from tsfilm.testing import (
    EXPECTED_FAILED_CHECKS,
    SIGNAL_EQUIVALENTS,
    check_plugin,
    create_test_instances,
    parametrize_with_tsfilm_checks,
    tsfilm_checks,
)
from tsfilm.validation import check_signals

TASK = "super_resolution"


class HoldSuperResolver(RegressorMixin, BaseEstimator):
    """Repeats every low-rate sample ``ratio_`` times, plus a fitted offset.

    ``offset_`` is drawn from ``random_state`` so the randomness checks have something
    to check; it is tiny, so the score stays that of sample and hold.
    """

    def __init__(self, ratio=None, random_state=None):
        self.ratio = ratio
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.target_tags.single_output = False
        tags.target_tags.multi_output = True
        return tags

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        return [{"random_state": 0}, {"ratio": 4, "random_state": 1}]

    def _validate_pairs(self, X, y):
        if y is None:
            raise ValueError("y (the high-rate signals) is required.")
        low = check_signals(X, name="X")
        shape = None if isinstance(y, (list, tuple)) else np.asarray(y).shape
        if shape is not None and (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
            raise ValueError(f"y of shape {shape} is not a high-rate signal.")
        high = check_signals(y, name="y")
        if low.n_series != high.n_series:
            raise ValueError(f"X has {low.n_series} series but y has {high.n_series}.")
        if low.n_channels != high.n_channels:
            raise ValueError(f"X has {low.n_channels} channel(s) but y has {high.n_channels}.")
        ratio = int(high.lengths[0] // low.lengths[0])
        if ratio < 2 or np.any(high.lengths != ratio * low.lengths):
            raise ValueError("y is not a high-rate signal for X: lengths are not r * len(X).")
        if self.ratio is not None and ratio != self.ratio:
            raise ValueError(f"ratio={self.ratio} but the shapes give {ratio}.")
        return low, high, ratio

    def _draw_offset(self):
        return 1e-6 * np.random.default_rng(self.random_state).normal()

    def fit(self, X, y=None):
        low, _, ratio = self._validate_pairs(X, y)
        self.ratio_ = ratio
        self.n_channels_ = low.n_channels
        if low.layout == "2d":
            self.n_features_in_ = int(low.arrays.shape[-1])
        elif hasattr(self, "n_features_in_"):
            del self.n_features_in_
        self.offset_ = self._draw_offset()
        return self

    def _check_input(self, X):
        check_is_fitted(self)
        low = check_signals(X, name="X")
        if low.n_channels != self.n_channels_:
            raise ValueError(f"X has {low.n_channels} channel(s), not {self.n_channels_}.")
        return low

    def predict(self, X):
        low = self._check_input(X)
        out = [np.repeat(a, self.ratio_, axis=-1) + self.offset_ for a in low.arrays]
        return low.restore(np.stack(out) if low.is_dense else out)

    def score(self, X, y, sample_weight=None):
        from tsfilm.metrics import snr

        y_true = check_signals(y, name="y").arrays
        y_pred = check_signals(self.predict(X), name="y_pred").arrays
        return float(np.mean([snr(a[None], b[None]) for a, b in zip(y_true, y_pred, strict=True)]))


# ---------------------------------------------------------------- the correct one passes
def test_reference_super_resolver_passes_every_check():
    check_plugin(HoldSuperResolver, task=TASK)


@parametrize_with_tsfilm_checks([HoldSuperResolver], task=TASK)
def test_reference_super_resolver_check_by_check(estimator, check):
    check(estimator)


# ---------------------------------------------------------------- coverage of the xfails
def test_every_expected_failure_has_a_signal_equivalent():
    expected = EXPECTED_FAILED_CHECKS[TASK]
    assert len(expected) == 27
    assert set(expected) <= set(SIGNAL_EQUIVALENTS), set(expected) - set(SIGNAL_EQUIVALENTS)
    run = {kit._check_name(c) for _, c in tsfilm_checks(HoldSuperResolver(), TASK, sklearn=False)}
    for sklearn_check, ours in SIGNAL_EQUIVALENTS.items():
        assert ours, sklearn_check
        for name in ours:
            assert callable(getattr(kit, name, None)), f"{sklearn_check} -> {name} is not a check"
            assert name in kit.__all__, name
            assert name in run, f"{name} (covering {sklearn_check}) does not run on super-resolvers"


def test_expected_failures_name_real_sklearn_checks():
    names = {
        kit._check_name(c)
        for _, c in kit.estimator_checks_generator(HoldSuperResolver(), legacy=True, mark=None)
    }
    assert set(EXPECTED_FAILED_CHECKS[TASK]) <= names


def test_module_docstring_table_matches_the_mapping():
    table = re.search(r"^=+  =+$(.*?)^=+  =+$\n(.*?)^=+  =+$", kit.__doc__, re.M | re.S)
    rows: dict[str, list[str]] = {}
    current = None
    for line in table.group(2).splitlines():
        left, right = line[:50].strip(), line[50:].strip()
        if left:
            current = left
        rows.setdefault(current, []).extend(n for n in right.split(",") if n.strip())
    rows = {k: [n.strip() for n in v] for k, v in rows.items()}
    assert rows == {k: list(v) for k, v in SIGNAL_EQUIVALENTS.items()}


# ---------------------------------------------------------------- broken estimators
class MutatesInput(HoldSuperResolver):
    def fit(self, X, y=None):
        X[..., 0] = 0.0
        return super().fit(X, y)


class OrderDependent(HoldSuperResolver):
    def predict(self, X):
        out = super().predict(X)
        return out + 0.1 * np.arange(len(out)).reshape(-1, *([1] * (out.ndim - 1)))


class BatchNormalised(HoldSuperResolver):
    """Subtracts the mean over the series of a batch: order-invariant, not subset-invariant."""

    def predict(self, X):
        out = super().predict(X)
        return out - out.mean(axis=0, keepdims=True)


class NotReproducible(HoldSuperResolver):
    def _draw_offset(self):
        return np.random.default_rng().normal()


class ContinuesFitting(HoldSuperResolver):
    def fit(self, X, y=None):
        previous = getattr(self, "offset_", 0.0)
        super().fit(X, y)
        self.offset_ = previous + 0.5
        return self


class OverwritesParameter(HoldSuperResolver):
    def fit(self, X, y=None):
        super().fit(X, y)
        self.ratio = self.ratio_
        return self


class SetsPublicAttribute(HoldSuperResolver):
    def fit(self, X, y=None):
        super().fit(X, y)
        self.trained = True
        return self


class CountsPredictions(HoldSuperResolver):
    def predict(self, X):
        self.n_predictions_ = getattr(self, "n_predictions_", 0) + 1
        return super().predict(X)


class ForgetsOffsetWhenPickled(HoldSuperResolver):
    def __getstate__(self):
        state = super().__getstate__()
        state["offset_"] = 1.0
        return state


class NoFiniteCheck(HoldSuperResolver):
    def fit(self, X, y=None):
        return super().fit(np.nan_to_num(np.asarray(X, dtype=float)), np.nan_to_num(y))

    def predict(self, X):
        return super().predict(np.nan_to_num(np.asarray(X, dtype=float)))


class NotUpsampling(HoldSuperResolver):
    def predict(self, X):
        self._check_input(X)
        return np.asarray(X, dtype=float)


class ReturnsNone(HoldSuperResolver):
    def fit(self, X, y=None):
        super().fit(X, y)


class Accepts1D(HoldSuperResolver):
    def predict(self, X):
        X = np.asarray(X)
        return super().predict(X[None] if X.ndim == 1 else X)


class NoNFeaturesIn(HoldSuperResolver):
    def fit(self, X, y=None):
        super().fit(X, y)
        del self.n_features_in_
        return self


class IgnoresChannels(HoldSuperResolver):
    def _check_input(self, X):
        check_is_fitted(self)
        return check_signals(X, name="X")


class PredictsSilence(HoldSuperResolver):
    def predict(self, X):
        return np.zeros_like(super().predict(X))


class HasPredictProba(HoldSuperResolver):
    def predict_proba(self, X):
        return np.ones((len(X), 1))


class WrongMessageForVectorY(HoldSuperResolver):
    def _validate_pairs(self, X, y):
        try:
            return super()._validate_pairs(X, y)
        except ValueError as exc:
            if "not a high-rate signal" in str(exc):
                raise ValueError("y must be 2-D.") from None
            raise


class RefusesFortranOrder(HoldSuperResolver):
    def fit(self, X, y=None):
        if isinstance(X, np.ndarray) and not X.flags.c_contiguous:
            raise ValueError("X must be C-contiguous.")
        return super().fit(X, y)


class WritesIntoInput(HoldSuperResolver):
    """Normalises X in place: fails on read-only memory-mapped input."""

    def fit(self, X, y=None):
        if isinstance(X, np.ndarray):
            X -= 0.0
        return super().fit(X, y)


class ListsOnlyAsArrays(HoldSuperResolver):
    def fit(self, X, y=None):
        if not isinstance(X, np.ndarray):
            raise TypeError("X must be a numpy array.")
        return super().fit(X, y)


class FloatsOnly(HoldSuperResolver):
    def fit(self, X, y=None):
        if np.asarray(X).dtype.kind != "f":
            raise TypeError("X must hold floats.")
        return super().fit(X, y)


class FailsOnOneSeries(HoldSuperResolver):
    def fit(self, X, y=None):
        if len(X) == 1:
            raise IndexError("index 1 is out of bounds")
        return super().fit(X, y)


class CrashesOnOneTimestep(HoldSuperResolver):
    def fit(self, X, y=None):
        if np.shape(X)[-1] == 1:
            raise RuntimeError("Calculated padded input size per channel: (0)")
        return super().fit(X, y)


class ObjectArraysRefused(HoldSuperResolver):
    def fit(self, X, y=None):
        if np.asarray(X).dtype == object:
            raise ValueError("object arrays are not supported")
        return super().fit(X, y)


class NegativeRefused(HoldSuperResolver):
    def fit(self, X, y=None):
        if np.min(X) < 0:
            raise ValueError("signals must be positive")
        return super().fit(X, y)


class PipelineUnfriendly(HoldSuperResolver):
    def fit(self, X, yy=None):
        return super().fit(X, yy)


class Float32Offset(HoldSuperResolver):
    def predict(self, X):
        return super().predict(X) + (0.5 if np.asarray(X).dtype == np.float32 else 0.0)


class PredictsUnfitted(HoldSuperResolver):
    def predict(self, X):
        return super().predict(X) if hasattr(self, "ratio_") else np.asarray(X, dtype=float)


class PositiveTagged(HoldSuperResolver):
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags


class PositiveOnly(PositiveTagged):
    def fit(self, X, y=None):
        if np.min(X) < 0:
            raise ValueError("Negative values in data passed to X.")
        return super().fit(X, y)


class RefusesOneSeries(HoldSuperResolver):
    def fit(self, X, y=None):
        if len(X) == 1:
            raise ValueError("fit needs more than 1 series.")
        return super().fit(X, y)


BROKEN = [
    (MutatesInput, "check_fit_leaves_input_unchanged", "fit modified its input"),
    (OrderDependent, "check_predict_sample_order_invariant", "order of the series"),
    (OrderDependent, "check_predict_subset_invariant", "alone differs"),
    (BatchNormalised, "check_predict_subset_invariant", "alone differs"),
    (NotReproducible, "check_same_seed_same_result", "same random_state gave different"),
    (NotReproducible, "check_fit_twice_same_result", "fitting twice"),
    (ContinuesFitting, "check_fit_twice_same_result", "fit must start afresh"),
    (OverwritesParameter, "check_fit_leaves_params_unchanged", "parameter 'ratio'"),
    (
        SetsPublicAttribute,
        "check_fit_leaves_params_unchanged",
        r"public attribute\(s\) \['trained'\]",
    ),
    (CountsPredictions, "check_predict_leaves_state_unchanged", "added or removed"),
    (ForgetsOffsetWhenPickled, "check_pickle_round_trip", "pickled copy predicts differently"),
    (NoFiniteCheck, "check_signal_nan_inf", "should raise ValueError"),
    (NotUpsampling, "check_signal_output_shape", "returned shape"),
    (ReturnsNone, "check_fit_returns_self", "not self"),
    (Accepts1D, "check_signal_predict_1d", "did not raise"),
    (NoNFeaturesIn, "check_signal_n_features_in", "n_features_in_"),
    (IgnoresChannels, "check_signal_predict_input_consistency", "3-channel signals"),
    (PredictsSilence, "check_signal_regressor_train", "no better than predicting silence"),
    (HasPredictProba, "check_signal_no_decision_function", "predict_proba"),
    (RefusesFortranOrder, "check_signal_f_contiguous_input", "C-contiguous"),
    (WritesIntoInput, "check_signal_readonly_memmap_input", "read-only memory-mapped"),
    (ListsOnlyAsArrays, "check_signal_data_not_an_array", "lists of lists"),
    (FloatsOnly, "check_signal_dtypes", "int64 signals"),
    (FailsOnOneSeries, "check_signal_fit_one_series", "IndexError"),
    (CrashesOnOneTimestep, "check_signal_fit_one_timestep", "RuntimeError"),
    (ObjectArraysRefused, "check_signal_dtype_object", "object arrays of numbers"),
    (NegativeRefused, "check_signal_negative_values", "negative values"),
    (PipelineUnfriendly, "check_signal_score_takes_y", "second argument"),
    (PositiveTagged, "check_signal_negative_values", "should raise ValueError"),
    (Float32Offset, "check_signal_dtypes", "float32 signals give other predictions"),
    (PredictsUnfitted, "check_is_fitted_after_fit", "before fit should raise NotFittedError"),
]

#: Deviations that the checks allow: a documented refusal.
ALLOWED = [
    (PositiveOnly, "check_signal_negative_values"),
    (RefusesOneSeries, "check_signal_fit_one_series"),
]


@pytest.mark.parametrize(
    ("cls", "check_name", "message"),
    BROKEN,
    ids=[f"{cls.__name__}-{name}" for cls, name, _ in BROKEN],
)
def test_broken_super_resolver_is_caught(cls, check_name, message):
    check = getattr(kit, check_name)
    kwargs = {"task": TASK} if "task" in inspect.signature(check).parameters else {}
    with pytest.raises(AssertionError, match=message):
        check(cls.__name__, cls(random_state=0), **kwargs)


@pytest.mark.parametrize(("cls", "check_name"), ALLOWED)
def test_documented_refusal_passes(cls, check_name):
    getattr(kit, check_name)(cls.__name__, cls(random_state=0))


def test_broken_super_resolver_fails_check_plugin_naming_the_checks():
    with pytest.raises(AssertionError) as info:
        check_plugin(OrderDependent, task=TASK)
    message = str(info.value)
    assert "check_predict_sample_order_invariant" in message
    assert "check_predict_subset_invariant" in message
    assert "[parameter set 1]" in message  # both parameter sets ran


def test_checks_leave_the_given_estimator_untouched():
    est = HoldSuperResolver(ratio=2, random_state=3)
    for estimator, check in tsfilm_checks(est, TASK):
        check(estimator)
    assert est.get_params() == {"ratio": 2, "random_state": 3}
    assert not hasattr(est, "ratio_")


# ---------------------------------------------------------------- expected failures
def test_expected_failure_for_another_reason_is_an_error():
    with pytest.raises(
        AssertionError, match="failed for another reason: ValueError: y must be 2-D"
    ):
        check_plugin(WrongMessageForVectorY, task=TASK)


def test_expected_failure_that_passes_is_an_error():
    failing = kit._expected_failure(lambda est: None, "a reason", None, None)
    with pytest.raises(AssertionError, match="listed as an expected failure but passes"):
        failing(HoldSuperResolver())


def test_expected_failure_as_documented_returns_or_xfails():
    def refuse(est):
        raise ValueError("y of shape (3,) is not a high-rate signal")

    kit._expected_failure(refuse, "reason", "not a high-rate signal", None)(HoldSuperResolver())
    xfail = kit._expected_failure(refuse, "the reason", "not a high-rate signal", "xfail")
    with pytest.raises(pytest.xfail.Exception, match="the reason"):
        xfail(HoldSuperResolver())


# ---------------------------------------------------------------- parametrization
def _params(decorator):
    return decorator.mark.args[1]


def test_parametrize_ids_name_estimator_and_check():
    params = _params(parametrize_with_tsfilm_checks([HoldSuperResolver], task=TASK))
    ids = [p.id for p in params]
    assert len(ids) == len(set(ids))
    assert "HoldSuperResolver_0-check_signal_nan_inf" in ids
    assert "HoldSuperResolver_1-check_signal_nan_inf" in ids
    assert "HoldSuperResolver_0-check_estimators_pickle(readonly_memmap=True)" in ids
    single = [
        p.id for p in _params(parametrize_with_tsfilm_checks([HoldSuperResolver()], task=TASK))
    ]
    assert "HoldSuperResolver-check_fit_returns_self" in single


def test_parametrize_adds_marks():
    def slow(estimator, check_id):
        return [pytest.mark.slow] if check_id == "check_signal_dtypes" else []

    params = _params(parametrize_with_tsfilm_checks([HoldSuperResolver()], task=TASK, marks=slow))
    marked = [p.id for p in params if any(m.name == "slow" for m in p.marks)]
    assert marked == ["HoldSuperResolver-check_signal_dtypes"]


def test_task_is_inferred_for_unregistered_classes():
    ids = {kit._check_name(c) for _, c in tsfilm_checks(HoldSuperResolver())}
    assert "check_signal_nan_inf" in ids


# ---------------------------------------------------------------- test parameters
class _Base(BaseEstimator):
    def __init__(self, a=0):
        self.a = a


def test_create_test_instances_accepts_a_list_a_dict_or_nothing():
    class Listed(_Base):
        @classmethod
        def get_test_params(cls, parameter_set="default"):
            return [{"a": 1}, {"a": 2}]

    class Single(_Base):
        @classmethod
        def get_test_params(cls):
            return {"a": 3}

    assert [e.a for e in create_test_instances(Listed)] == [1, 2]
    assert [e.a for e in create_test_instances(Single)] == [3]
    assert [e.a for e in create_test_instances(_Base)] == [0]


def test_every_registered_class_has_test_params():
    for info in registry.list_models():
        assert len(create_test_instances(info.cls)) >= 1, info


# ---------------------------------------------------------------- text estimators
class MajorityTextClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the most frequent label; takes a list of strings, as a text model does."""

    def __init__(self, lowercase: bool = True) -> None:
        self.lowercase = lowercase

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags

    def fit(self, X, y):
        if not all(isinstance(x, str) for x in X):
            raise TypeError("X must be an iterable of str.")
        self.classes_, counts = np.unique(np.asarray(y), return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        return self

    def predict(self, X):
        check_is_fitted(self)
        return np.full(len(X), self.majority_, dtype=object)

    def predict_proba(self, X):
        check_is_fitted(self)
        proba = (self.classes_ == self.majority_).astype(float)
        return np.tile(proba, (len(X), 1))


def test_text_classifier_gets_the_contract_checks_on_texts():
    assert kit._takes_text(MajorityTextClassifier())
    names = {
        kit._check_name(c) for _, c in tsfilm_checks(MajorityTextClassifier(), "classification")
    }
    assert "check_classifier_proba" in names
    assert not any(name.startswith(("check_estimators_", "check_signal_")) for name in names)
    check_plugin(MajorityTextClassifier, task="classification")


def test_text_classifier_that_breaks_the_contract_is_reported():
    class Mutating(MajorityTextClassifier):
        def fit(self, X, y):
            X[0] = X[0].upper()
            return super().fit(X, y)

    with pytest.raises(AssertionError, match="fit modified its input"):
        check_plugin(Mutating, task="classification")


def test_classifier_with_bad_probabilities_is_reported():
    class BadProba(MajorityTextClassifier):
        def predict_proba(self, X):
            return 2 * super().predict_proba(X)

    with pytest.raises(AssertionError, match="do not sum to 1"):
        kit.check_classifier_proba("BadProba", BadProba(), task="classification")
