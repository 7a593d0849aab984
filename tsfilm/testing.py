"""Conformance checks for tsfilm estimators and third-party plugins.

:func:`check_plugin` checks a class and raises one ``AssertionError`` naming every check
that failed; :func:`parametrize_with_tsfilm_checks` makes one pytest test per estimator
and check, as scikit-learn's ``parametrize_with_checks`` does; :func:`tsfilm_checks`
yields the ``(estimator, check)`` pairs for other runners. A class stands for one
estimator per parameter dict of its ``get_test_params()`` (:func:`create_test_instances`).
Each check is a function ``check(name, estimator)`` (the contract checks also take
``task=``) that fits clones of the estimator, with ``random_state=0`` when it has that
parameter, and raises ``AssertionError`` naming the estimator and the property.

What runs, for each estimator:

1. scikit-learn's checks (``check_estimator``'s, legacy ones included), except for an
   estimator whose input is text (``__sklearn_tags__().input_tags.string``). Those its task
   cannot pass are listed in :data:`EXPECTED_FAILED_CHECKS` with the reason, and must fail
   for that reason.
2. tsfilm's contract, one check per property, on the task's data (signal pairs, series
   with gaps, labelled series or texts): ``fit`` returns self and leaves its input and
   parameters unchanged, ``predict`` leaves the fitted state unchanged, fitting twice, on
   a fresh clone with the same ``random_state`` or pickling gives the same results, results
   do not depend on the order or grouping of the series, and the output has the task's form.
3. For super-resolvers, the properties of the scikit-learn checks they cannot pass (those
   give ``y`` of shape (n,), where a super-resolver's ``y`` is the high-rate signal),
   checked on pairs ``X_low`` of shape (n_series, [n_channels,] n_low) and ``y`` of shape
   (n_series, [n_channels,] ratio * n_low). :data:`SIGNAL_EQUIVALENTS` says which covers
   which:

{table}
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import pickle
import re
import tempfile
from collections import Counter, namedtuple
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from unittest import SkipTest

import joblib
import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import estimator_checks_generator
from sklearn.utils.validation import check_is_fitted

_TABLE = """\
================================================  =======================================
scikit-learn check (expected to fail)             tsfilm check(s) on signal pairs
================================================  =======================================
check_dict_unchanged                              check_predict_leaves_state_unchanged
check_dont_overwrite_parameters                   check_fit_leaves_params_unchanged
check_dtype_object                                check_signal_dtype_object
check_estimators_dtypes                           check_signal_dtypes
check_estimators_fit_returns_self                 check_fit_returns_self
check_estimators_nan_inf                          check_signal_nan_inf
check_estimators_overwrite_params                 check_fit_leaves_params_unchanged
check_estimators_pickle                           check_pickle_round_trip
check_f_contiguous_array_estimator                check_signal_f_contiguous_input
check_fit2d_1feature                              check_signal_fit_one_timestep
check_fit2d_1sample                               check_signal_fit_one_series
check_fit2d_predict1d                             check_signal_predict_1d
check_fit_check_is_fitted                         check_is_fitted_after_fit
check_fit_idempotent                              check_fit_twice_same_result
check_fit_score_takes_y                           check_signal_score_takes_y
check_methods_sample_order_invariance             check_predict_sample_order_invariant
check_methods_subset_invariance                   check_predict_subset_invariant
check_n_features_in                               check_signal_n_features_in
check_n_features_in_after_fitting                 check_signal_n_features_in,
                                                  check_signal_predict_input_consistency
check_pipeline_consistency                        check_signal_pipeline_consistency
check_positive_only_tag_during_fit                check_signal_negative_values
check_readonly_memmap_input                       check_signal_readonly_memmap_input
check_regressor_data_not_an_array                 check_signal_data_not_an_array
check_regressor_multioutput                       check_signal_output_shape
check_regressors_int                              check_signal_dtypes
check_regressors_no_decision_function             check_signal_no_decision_function
check_regressors_train                            check_signal_regressor_train,
                                                  check_signal_readonly_memmap_input,
                                                  check_signal_dtypes,
                                                  check_signal_data_not_an_array
================================================  ======================================="""
if __doc__:  # the module docstring shows the table that SIGNAL_EQUIVALENTS is read from
    __doc__ = __doc__.replace("{table}", _TABLE)

#: tsfilm checks on signal pairs covering each scikit-learn check a super-resolver cannot
#: pass: the same property, with a high-rate ``y``.
SIGNAL_EQUIVALENTS: dict[str, tuple[str, ...]] = {
    row[0]: tuple(re.findall(r"check_\w+", row[1]))  # a row goes on over indented lines
    for row in re.findall(r"^(check_\w+) +(.*(?:\n {50}.*)*)", _TABLE, re.M)
}

_NOT_A_SIGNAL = (
    "y is a high-rate signal (n_series, ratio * n_low), not (n,); checked on signal pairs "
    "instead (SIGNAL_EQUIVALENTS)"
)

#: scikit-learn checks each task cannot pass, with the reason, by task. Each one has an
#: equivalent in :data:`SIGNAL_EQUIVALENTS`, so no property goes unchecked.
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {"imputation": {}, "classification": {}}
EXPECTED_FAILED_CHECKS["super_resolution"] = dict.fromkeys(SIGNAL_EQUIVALENTS, _NOT_A_SIGNAL)

#: What the exception of an expected failure must say, by task.
_FAILURE_PATTERN: dict[str, str] = {"super_resolution": "not a high-rate signal"}

# Outputs computed twice must agree to this relative tolerance (float32 networks run on
# other batch compositions may differ in the last bits), with an absolute tolerance of
# the same size relative to the largest output.
_RTOL = 1e-4


# ---------------------------------------------------------------- tasks and instances
def expected_failed_checks(estimator: Any, task: str | None = None) -> dict[str, str]:
    """The scikit-learn checks ``estimator`` is expected to fail, with the reason of each,
    as ``parametrize_with_checks(expected_failed_checks=...)`` takes them.

    Parameters
    ----------
    estimator : estimator instance
        A tsfilm estimator or registered plugin.
    task : str, optional
        Its task; looked up in the registry when omitted.
    """
    return dict(EXPECTED_FAILED_CHECKS.get(task or _task_of(type(estimator)), {}))


def _task_of(cls: type) -> str:
    """The registered task of ``cls``; for an unregistered class, the one its kind implies."""
    from tsfilm import registry

    tasks = {info.task for info in registry.list_models() if info.cls is cls}
    if not tasks and issubclass(cls, (ClassifierMixin, RegressorMixin)):
        return "classification" if issubclass(cls, ClassifierMixin) else "super_resolution"
    if not tasks and hasattr(cls, "transform"):
        return "imputation"
    if len(tasks) != 1:
        raise ValueError(
            f"{cls.__name__} is registered for {sorted(tasks) or 'no'} task(s); pass task=."
        )
    return tasks.pop()


def create_test_instances(cls: type, parameter_set: str = "default") -> list[Any]:
    """One unfitted estimator per parameter dict of ``cls.get_test_params()``, in order:
    it may return a list of dicts or one dict, and may or may not take ``parameter_set``.
    A class without it is built with its defaults.

    Parameters
    ----------
    cls : type
        The estimator class.
    parameter_set : str, default="default"
        Passed to ``get_test_params`` when it takes it.
    """
    getter = getattr(cls, "get_test_params", None)
    if not callable(getter):
        return [cls()]
    takes_set = "parameter_set" in inspect.signature(getter).parameters
    params = getter(parameter_set=parameter_set) if takes_set else getter()
    params = [params] if isinstance(params, dict) else list(params)
    if not params:
        raise ValueError(f"{cls.__name__}.get_test_params() returned no parameter set.")
    return [cls(**p) for p in params]


def _instances(item: Any) -> list[Any]:
    return create_test_instances(item) if isinstance(item, type) else [item]


def _takes_text(estimator: Any) -> bool:
    return bool(get_tags(estimator).input_tags.string)


# ---------------------------------------------------------------- data and helpers
_TEXTS = ["a fine film, warm and funny", "dull plot and wooden acting", "the best score ever"]
_TEXTS += ["too long, too loud, too late", "a quiet gem, a great cast", "I want my time back"]

#: Data of a contract check: ``fit(*fit_args)``, then ``method(X)``.
_Case = namedtuple("_Case", "label fit_args X method")


def _signal_pair(
    estimator: Any, n_series: int = 6, n_channels: int | None = None, n_low: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Low- and high-rate float64 signals (two sines and noise) at the estimator's ratio
    (2 when it has none); ``n_channels=None`` gives the 2-D layout."""
    ratio = int(estimator.get_params(deep=False).get("ratio") or 2)
    n_high = ratio * (n_low if n_low is not None else max(8, 96 // ratio))
    rng, shape, t = np.random.default_rng(0), (n_series, n_channels or 1, 1), np.arange(n_high)
    high = (
        np.sin(2 * np.pi * rng.uniform(1, 4, shape) * t / n_high + rng.uniform(0, 7, shape))
        + 0.5 * np.sin(2 * np.pi * rng.uniform(4, 8, shape) * t / n_high)
        + 0.05 * rng.normal(size=(n_series, n_channels or 1, n_high))
    )
    high = high[:, 0] if n_channels is None else high
    return np.ascontiguousarray(high[..., ::ratio]), high


def _layouts(estimator: Any, n_series: int = 6) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(label, X_low, y_high)`` in the 2-D layout and in the 3-D layout with 2 channels."""
    pairs = (_signal_pair(estimator, n_series), _signal_pair(estimator, n_series, n_channels=2))
    return [(f"{X.ndim}-D signals", X, y) for X, y in pairs]


def _cases(estimator: Any, task: str | None) -> list[_Case]:
    """The task's data: signal pairs in both layouts (predicting other series than those
    fitted), series with gaps, labelled series or texts."""
    task, labels = task or _task_of(type(estimator)), np.array(["a", "b"] * 3, dtype=object)
    if _takes_text(estimator):
        return [_Case("texts", (list(_TEXTS), labels), list(_TEXTS), "predict")]
    if task == "super_resolution":
        layouts = zip(_layouts(estimator), _layouts(estimator, n_series=10), strict=True)
        return [_Case(label, (X, y), new[1], "predict") for (label, X, y), new in layouts]
    X = _signal_pair(estimator)[1].astype(np.float32)  # 6 series of 96 values
    if task == "imputation":
        gaps = np.random.default_rng(1).random(X.shape) < 0.2
        gaps[:, 0] = False  # every series keeps an observed value
        X[gaps] = _missing_marker(estimator)
        return [_Case("series with gaps", (X,), X, "transform")]
    return [_Case("labelled series", (X, labels), X, "predict")]


def _missing_marker(estimator: Any) -> float:
    """The value marking missing entries: the ``missing_values`` parameter, NaN without it."""
    marker = estimator.get_params(deep=False).get("missing_values", np.nan)
    return float(marker) if marker is not None else np.nan


def _take(X: Any, idx: Sequence[int]) -> Any:
    return [X[i] for i in idx] if isinstance(X, list) else np.asarray(X)[np.asarray(idx)]


def _fresh(estimator: Any, **params: Any) -> Any:
    """An unfitted clone with ``random_state=0`` when it has that parameter."""
    est = clone(estimator)
    names = est.get_params(deep=False)
    params = {"random_state": 0, **params} if "random_state" in names else params
    return est.set_params(**{k: v for k, v in params.items() if k in names})


def _fitted(estimator: Any, task: str | None) -> Iterator[tuple[_Case, Any]]:
    """Each case of the task's data, with a fresh clone fitted on it."""
    for case in _cases(estimator, task):
        yield case, _fresh(estimator).fit(*case.fit_args)


def _outputs(est: Any, case: _Case, X: Any = None) -> dict[str, Any]:
    X = case.X if X is None else X
    out = {case.method: getattr(est, case.method)(X)}
    if case.method == "predict" and hasattr(est, "predict_proba"):
        out["predict_proba"] = est.predict_proba(X)
    return out


def _assert_same(actual: Any, expected: Any, message: str) -> None:
    """Equal labels, or numbers equal to :data:`_RTOL`; dicts of outputs key by key."""
    if isinstance(expected, dict):
        for key, value in expected.items():
            _assert_same(actual[key], value, f"{message} [{key}]")
        return
    actual, expected = (
        np.concatenate([np.ravel(x) for x in a]) if isinstance(a, list) else np.asarray(a)
        for a in (actual, expected)
    )
    if actual.shape != expected.shape:
        raise AssertionError(f"{message} (shapes {actual.shape} and {expected.shape})")
    if expected.dtype.kind in "biufc" and actual.dtype.kind in "biufc":
        atol = _RTOL * max(float(np.max(np.abs(expected), initial=0.0)), 1e-12)
        np.testing.assert_allclose(actual, expected, rtol=_RTOL, atol=atol, err_msg=message)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=message)


@contextlib.contextmanager
def _expect(
    what: str, raises: type | None = None, pattern: str | None = None, optional: bool = False
) -> Iterator[None]:
    """The block must work (``raises=None``) or raise ``raises`` with a message matching
    ``pattern`` (``optional=True``: or work); anything else becomes an AssertionError."""
    try:
        yield
    except AssertionError:
        raise
    except Exception as exc:
        if raises is None or not isinstance(exc, raises) or not re.search(pattern or "", str(exc)):
            should = "work" if raises is None else f"raise {raises.__name__}"
            should += f" saying {pattern!r}" if raises and pattern else ""
            should += " or work" if raises and optional else ""
            raise AssertionError(f"{what} should {should}, but raised {exc!r}") from exc
    else:
        if raises is not None and not optional:
            raise AssertionError(f"{what} should raise {raises.__name__}, but did not raise.")


def _memmap(obj: Any) -> Any:
    """``obj`` dumped with joblib and loaded back with its arrays as read-only memmaps."""
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as folder:
        joblib.dump(obj, os.path.join(folder, "data.joblib"))
        return joblib.load(os.path.join(folder, "data.joblib"), mmap_mode="r")


class _NotAnArray:
    """Array-like with only ``__array__``: what scikit-learn's data-not-an-array check feeds."""

    def __init__(self, data: Any) -> None:
        self.data = np.asarray(data)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __array_function__(self, func, types, args, kwargs):
        if func.__name__ == "may_share_memory":
            return True
        raise TypeError(f"NumPy's {func.__name__} was called on an array-like, not an array.")


def _fit_predict(
    name: str, estimator: Any, what: str, X: Any, y: Any, refusal: tuple = (), new: tuple = ()
) -> tuple[Any, Any]:
    """Fit a clone on ``(X, y)`` and predict ``X`` (or the first of the pair ``new``): both
    work (or raise ``refusal``, an ``(exception, pattern)``), ``fit`` returns self and
    leaves its input unchanged, and the predictions are finite floats of the shape of ``y``
    (or of the second of ``new``). Returns the estimator and the predictions."""
    before, est, pred, done = joblib.hash((X, y)), _fresh(estimator), None, False
    X_new, y_new = new or (X, y)
    with _expect(f"{name} on {what}", *refusal, optional=True):
        fitted = est.fit(X, y)
        pred, done = np.asarray(est.predict(X_new)), True
    if done:
        assert fitted is est, f"{name}.fit({what}) returned {type(fitted).__name__}, not self"
        assert joblib.hash((X, y)) == before, f"{name}.fit modified its input ({what})"
        shape, where = np.asarray(y_new).shape, f"{name}.predict({what})"
        assert pred.shape == shape, f"{where} returned shape {pred.shape}, not {shape}"
        assert pred.dtype.kind == "f", f"{where} returned dtype {pred.dtype}, not floats"
        assert np.isfinite(pred).all(), f"{where} returned NaN or infinity"
    return est, pred


def _predict_alike(name: str, estimator: Any, variants: dict, n_layouts: int = 1) -> None:
    """Signal pairs passed through each ``{what: convert}`` of ``variants`` fit and predict
    (:func:`_fit_predict`) as with the first one, in the first ``n_layouts`` layouts."""
    for label, X, y in _layouts(estimator)[:n_layouts]:
        preds = {
            what: _fit_predict(name, estimator, f"{what} ({label})", f(X), f(y))[1]
            for what, f in variants.items()
        }
        first, *others = preds
        for what in others:
            msg = f"{name}: {what} give other predictions than {first} ({label})"
            _assert_same(preds[what], preds[first], msg)


def _refused(name: str, estimator: Any, value: Any, error: type, pattern: str | None = None):
    """A signal array holding ``value`` is refused with ``error`` (saying ``pattern``) by
    ``fit`` as ``X`` or as ``y``, and by ``predict`` as ``X``."""
    X, y = _signal_pair(estimator)
    spoilt = [a.astype(object if isinstance(value, dict) else a.dtype) for a in (X, y)]
    for a in spoilt:
        a[0, 3] = value
    for arg, args in (("X", (spoilt[0], y)), ("y", (X, spoilt[1]))):
        with _expect(f"{name}.fit with {value!r} in {arg}", error, pattern):
            _fresh(estimator).fit(*args)
    est = _fresh(estimator).fit(X, y)
    with _expect(f"{name}.predict with {value!r} in X", error, pattern):
        est.predict(spoilt[0])


# ---------------------------------------------------------------- contract, every task
def check_fit_returns_self(name: str, estimator: Any, task: str | None = None) -> None:
    """``fit`` returns the estimator itself, on every layout of the task's data."""
    for case in _cases(estimator, task):
        est = _fresh(estimator)
        out = est.fit(*case.fit_args)
        assert out is est, f"{name}.fit({case.label}) returned {type(out).__name__}, not self"


def check_is_fitted_after_fit(name: str, estimator: Any, task: str | None = None) -> None:
    """Before ``fit`` the estimator is not fitted and predicting raises NotFittedError;
    after ``fit`` ``check_is_fitted`` passes."""
    case, est = _cases(estimator, task)[0], _fresh(estimator)
    if get_tags(est).requires_fit:
        with _expect(f"check_is_fitted({name}) before fit", NotFittedError):
            check_is_fitted(est)
        with _expect(f"{name}.{case.method} before fit", NotFittedError):
            getattr(est, case.method)(case.X)
    with _expect(f"check_is_fitted({name}) after fit"):
        check_is_fitted(est.fit(*case.fit_args))


def check_fit_leaves_input_unchanged(name: str, estimator: Any, task: str | None = None) -> None:
    """``fit`` and ``predict`` (``transform``) leave the data they are given unchanged."""
    for case in _cases(estimator, task):
        before = joblib.hash(case)
        est = _fresh(estimator).fit(*case.fit_args)
        assert joblib.hash(case) == before, f"{name}.fit modified its input ({case.label})"
        getattr(est, case.method)(case.X)
        assert joblib.hash(case) == before, f"{name}.{case.method} modified its input"


def check_fit_leaves_params_unchanged(name: str, estimator: Any, task: str | None = None) -> None:
    """``fit`` neither changes nor mutates a parameter, and sets or replaces no public
    attribute (one that neither starts nor ends with an underscore)."""
    for case in _cases(estimator, task):
        est = _fresh(estimator)
        params, attrs = {k: joblib.hash(v) for k, v in est.get_params().items()}, vars(est).copy()
        for key, value in est.fit(*case.fit_args).get_params().items():
            msg = f"{name}.fit changed or mutated the parameter {key!r} ({case.label})"
            assert joblib.hash(value) == params[key], msg
        public = [k for k in vars(est) if not (k.startswith("_") or k.endswith("_"))]
        added = sorted(k for k in public if k not in attrs)
        changed = sorted(k for k in public if k in attrs and vars(est)[k] is not attrs[k])
        msg = f"{name}.fit set public attribute(s) {added} and replaced {changed}; fitted "
        msg += f"attributes end with '_' and private ones start with '_' ({case.label})"
        assert not added and not changed, msg


def check_predict_leaves_state_unchanged(
    name: str, estimator: Any, task: str | None = None
) -> None:
    """``predict`` (``transform``, ``predict_proba``) adds, removes, replaces or mutates no
    attribute of the fitted estimator (network weights included)."""
    for case, est in _fitted(estimator, task):
        before, what = vars(est).copy(), f"{name}.{case.method} ({case.label})"
        hashes = {k: joblib.hash(v) for k, v in before.items()}
        _outputs(est, case)
        odd = sorted(set(vars(est)) ^ set(before))
        assert not odd, f"{what} added or removed attributes {odd}"
        for key, value in before.items():
            same = vars(est)[key] is value and joblib.hash(value) == hashes[key]
            assert same, f"{what} changed the attribute {key!r}"


def check_fit_twice_same_result(name: str, estimator: Any, task: str | None = None) -> None:
    """Fitting one estimator twice on the same data (``warm_start=False``) gives the same
    results: ``fit`` starts afresh."""
    for case in _cases(estimator, task):
        est = _fresh(estimator, warm_start=False)
        first, second = (_outputs(est.fit(*case.fit_args), case) for _ in "12")
        msg = f"{name}: fitting twice on the same data gave different results ({case.label})"
        _assert_same(second, first, f"{msg}; fit must start afresh")


def check_same_seed_same_result(name: str, estimator: Any, task: str | None = None) -> None:
    """Two fresh clones fitted with the same ``random_state`` give the same results (an
    estimator without ``random_state`` must be deterministic)."""
    for case, est in _fitted(estimator, task):
        twin = _fresh(estimator).fit(*case.fit_args)
        msg = f"{name}: the same random_state gave different results ({case.label})"
        _assert_same(_outputs(twin, case), _outputs(est, case), msg)


def check_pickle_round_trip(name: str, estimator: Any, task: str | None = None) -> None:
    """A fitted estimator copied with ``pickle``, and one loaded by joblib with read-only
    memory-mapped arrays, give the same results as the original."""
    for case, est in _fitted(estimator, task):
        expected = _outputs(est, case)
        for how, twin in (("pickled", pickle.loads(pickle.dumps(est))), ("mapped", _memmap(est))):
            msg = f"{name}: a {how} copy predicts differently ({case.label})"
            _assert_same(_outputs(twin, case), expected, msg)


def check_clone_keeps_params(name: str, estimator: Any, task: str | None = None) -> None:
    """A clone of an unfitted or of a fitted estimator has the same parameters and is not
    fitted."""
    est = _fresh(estimator)
    params = joblib.hash(est.get_params(deep=False))
    est.fit(*_cases(estimator, task)[0].fit_args)
    for copy_of, twin in (("unfitted", clone(_fresh(estimator))), ("fitted", clone(est))):
        what = f"{name}: a clone of the {copy_of} estimator has"
        assert joblib.hash(twin.get_params(deep=False)) == params, f"{what} other parameters"
        fitted = sorted(k for k in vars(twin) if k.endswith("_") and not k.startswith("__"))
        assert not fitted, f"{what} fitted {fitted}"


def check_predict_sample_order_invariant(
    name: str, estimator: Any, task: str | None = None
) -> None:
    """The results for permuted series are the permuted results."""
    for case, est in _fitted(estimator, task):
        idx = np.random.default_rng(0).permutation(len(case.X))  # not the identity here
        expected = {m: _take(v, idx) for m, v in _outputs(est, case).items()}
        msg = f"{name} is not invariant to the order of the series ({case.label})"
        _assert_same(_outputs(est, case, _take(case.X, idx)), expected, msg)


def check_predict_subset_invariant(name: str, estimator: Any, task: str | None = None) -> None:
    """The results for one series alone equal its results among the others."""
    for case, est in _fitted(estimator, task):
        full = _outputs(est, case)
        for i in range(len(case.X)):
            msg = f"{name}: series {i} alone differs from its result among the others"
            expected = {m: _take(v, [i]) for m, v in full.items()}
            _assert_same(_outputs(est, case, _take(case.X, [i])), expected, f"{msg} ({case.label})")


# ---------------------------------------------------------------- imputation, classification
def _imputed(name: str, estimator: Any, task: str | None) -> tuple:
    """``transform`` of series with gaps (of the right shape), the series, the marker of
    missing values and the mask of observed ones."""
    X = _cases(estimator, task or "imputation")[0].X
    out = np.asarray(_fresh(estimator).fit(X).transform(X))
    assert out.shape == X.shape, f"{name}.transform returned shape {out.shape}, not {X.shape}"
    marker = _missing_marker(estimator)
    return out, X, marker, ~np.isnan(X) if np.isnan(marker) else X != marker


def check_imputer_keeps_observed(name: str, estimator: Any, task: str | None = None) -> None:
    """``transform`` gives the observed values (those not equal to ``missing_values``, NaN
    by default) back exactly."""
    out, X, _, observed = _imputed(name, estimator, task)
    assert np.array_equal(out[observed], X[observed]), f"{name}.transform changed observed values"


def check_imputer_fills_missing(name: str, estimator: Any, task: str | None = None) -> None:
    """``transform`` leaves no NaN or infinity, nor every gap at a numeric ``missing_values``."""
    out, _, marker, observed = _imputed(name, estimator, task)
    assert np.isfinite(out).all(), f"{name}.transform left NaN or infinity"
    msg = f"{name}.transform left the missing entries at missing_values={marker}"
    assert np.isnan(marker) or not np.all(out[~observed] == marker), msg


def check_classifier_labels(name: str, estimator: Any, task: str | None = None) -> None:
    """``predict`` returns one label per example, each a label seen in ``fit``."""
    case = _cases(estimator, task or "classification")[0]
    out = np.asarray(_fresh(estimator).fit(*case.fit_args).predict(case.X))
    assert out.shape == (len(case.X),), f"{name}.predict returned shape {out.shape}"
    unknown = set(np.unique(out).tolist()) - set(np.unique(case.fit_args[1]).tolist())
    assert not unknown, f"{name}.predict returned labels {sorted(unknown)} not seen in fit"


def check_classifier_proba(name: str, estimator: Any, task: str | None = None) -> None:
    """``predict_proba``, when present, gives one row per example and one column per class
    of ``classes_``, of probabilities summing to 1, whose arg-max is ``predict``."""
    case, est = next(_fitted(estimator, task or "classification"))
    if not hasattr(est, "predict_proba"):
        return
    proba, shape = np.asarray(est.predict_proba(case.X)), (len(case.X), len(est.classes_))
    assert proba.shape == shape, f"{name}.predict_proba returned shape {proba.shape}, not {shape}"
    assert np.all(proba >= 0), f"{name}.predict_proba returned negative probabilities"
    msg = f"{name}.predict_proba rows do not sum to 1"
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5, err_msg=msg)
    best = np.asarray(est.classes_)[np.argmax(proba, axis=1)]
    agree = np.mean(best == np.asarray(est.predict(case.X)))
    msg = f"{name}.predict disagrees with the arg-max of predict_proba"
    assert agree >= 0.99 or np.allclose(proba, proba[:, :1]), msg  # ties may break either way


# ---------------------------------------------------------------- super-resolution signals
def check_signal_output_shape(name: str, estimator: Any) -> None:
    """``predict`` returns float signals of shape (n_series, ratio * n_low) for 2-D input,
    (n_series, n_channels, ratio * n_low) for 3-D input (the multi-output case), and a list
    of signals of the right lengths for a list of series of different lengths."""
    for label, X, y in _layouts(estimator):
        est, _ = _fit_predict(name, estimator, label, X, y)
        series = [X[0], np.concatenate([X[1], X[1][..., :8]], axis=-1)]
        out, what = est.predict(series), f"{name}.predict(list of 2 series) ({label})"
        assert isinstance(out, list), f"{what} returned {type(out).__name__}, not a list"
        expected = [(*s.shape[:-1], y.shape[-1] // X.shape[-1] * s.shape[-1]) for s in series]
        shapes = [np.shape(o) for o in out]
        assert shapes == expected, f"{what} returned shapes {shapes}, not {expected}"


def check_signal_dtypes(name: str, estimator: Any) -> None:
    """float64, float32, int64 and int32 signal pairs of the same integer values are
    accepted and give the same float predictions (to float32 precision)."""
    dtypes = (np.float64, np.float32, np.int64, np.int32)
    variants = {
        f"{np.dtype(t)} signals": lambda a, t=t: np.round(100 * a).astype(t) for t in dtypes
    }
    _predict_alike(name, estimator, variants)


def check_signal_dtype_object(name: str, estimator: Any) -> None:
    """Object arrays of numbers are read as numbers (predicted as floats are); an object
    array holding a dict is refused with TypeError by ``fit`` (in ``X`` or ``y``) and
    ``predict``."""
    objects = functools.partial(np.asarray, dtype=object)
    _predict_alike(name, estimator, {"floats": np.asarray, "object arrays of numbers": objects})
    _refused(name, estimator, {"foo": "bar"}, TypeError)


def check_signal_nan_inf(name: str, estimator: Any) -> None:
    """Infinity, or NaN unless the ``allow_nan`` tag is set, in ``X`` or ``y`` is refused
    by ``fit``, and in ``X`` by ``predict``, with ValueError saying so (NaN or inf)."""
    for value in [np.inf, -np.inf] + ([] if get_tags(estimator).input_tags.allow_nan else [np.nan]):
        _refused(name, estimator, value, ValueError, "NaN|inf")


def check_signal_n_features_in(name: str, estimator: Any) -> None:
    """``n_features_in_`` is unset before ``fit`` and, after ``fit`` on 2-D signals, is the
    number of low-rate time steps."""
    X, y = _signal_pair(estimator)
    est = _fresh(estimator)
    assert not hasattr(est, "n_features_in_"), f"{name} has n_features_in_ before fit"
    n = getattr(est.fit(X, y), "n_features_in_", "(unset)")
    assert n == X.shape[1], f"{name}.fit on {X.shape} signals set n_features_in_ to {n}"


def check_signal_predict_input_consistency(name: str, estimator: Any) -> None:
    """``predict`` checks its input against ``fit``: signals with another number of
    channels raise ValueError naming the channels, signals of another length are
    up-sampled (super-resolvers take any length)."""
    for label, X, y in _layouts(estimator):
        channels = X.shape[1] if X.ndim == 3 else None
        longer = _signal_pair(estimator, n_channels=channels, n_low=X.shape[-1] + 8)
        est, _ = _fit_predict(name, estimator, f"{label} of another length", X, y, new=longer)
        other = np.stack([X, X, X], axis=1) if X.ndim == 2 else X[:, :1]
        what = f"{name} fitted on {label}: predict on {other.shape[1]}-channel signals"
        with _expect(what, ValueError, "channel"):
            est.predict(other)


def check_signal_fit_one_series(name: str, estimator: Any) -> None:
    """``fit`` on one signal pair works (then ``predict`` has the right shape) or raises
    ValueError saying that one series is too few."""
    refusal = (ValueError, r"1 series|one series|n_series|1 sample|n_samples")
    _fit_predict(name, estimator, "one series", *_signal_pair(estimator, n_series=1), refusal)


def check_signal_fit_one_timestep(name: str, estimator: Any) -> None:
    """``fit`` on low-rate signals of one time step works (then ``predict`` has the right
    shape) or raises ValueError saying the signals are too short."""
    refusal = (ValueError, r"(?i)time step|timestep|too short|length")
    X, y = _signal_pair(estimator, n_low=1)
    _fit_predict(name, estimator, "signals of 1 time step", X, y, refusal)


def check_signal_predict_1d(name: str, estimator: Any) -> None:
    """``predict`` on one 1-D signal (not a batch of series) raises ValueError about the
    shape (a single signal goes through ``upsample``, or ``X.reshape(1, -1)``)."""
    X, y = _signal_pair(estimator)
    est = _fresh(estimator).fit(X, y)
    with _expect(f"{name}.predict(X[0])", ValueError, r"(?i)1-D|2-D|reshape|shape|dimension"):
        est.predict(X[0])


def check_signal_readonly_memmap_input(name: str, estimator: Any) -> None:
    """Read-only memory-mapped signals (as joblib gives to parallel workers) are accepted
    and predicted like the same signals in memory."""
    variants = {"signals in memory": np.asarray, "read-only memory-mapped signals": _memmap}
    _predict_alike(name, estimator, variants, n_layouts=2)


def check_signal_f_contiguous_input(name: str, estimator: Any) -> None:
    """Fortran-ordered signals are accepted, left unchanged, and predicted like the same
    signals in C order."""
    variants = {"C-ordered signals": np.asarray, "Fortran-ordered signals": np.asfortranarray}
    _predict_alike(name, estimator, variants, n_layouts=2)


def check_signal_data_not_an_array(name: str, estimator: Any) -> None:
    """Signals given as lists of lists, as array-likes with only ``__array__``, or as a
    pandas DataFrame (one row per series) fit and predict like the same arrays."""
    variants = {
        "arrays": np.asarray,
        "lists of lists": np.ndarray.tolist,
        "array-likes": _NotAnArray,
    }
    with contextlib.suppress(ImportError):  # pandas is optional
        import pandas as pd

        variants["DataFrames"] = pd.DataFrame
    _predict_alike(name, estimator, variants)


def check_signal_regressor_train(name: str, estimator: Any) -> None:
    """A ``y`` with another number of series is refused with ValueError; predictions have
    the shape of ``y``; ``score`` (SNR in dB) on the training pairs is finite and, unless
    the ``poor_score`` tag is set, better than predicting silence (0 dB)."""
    for label, X, y in _layouts(estimator):
        with _expect(f"{name}.fit with {len(X)} series in X and {len(y) - 1} in y", ValueError):
            _fresh(estimator).fit(X, y[:-1])
        est, _ = _fit_predict(name, estimator, label, X, y)
        score = est.score(X, y)
        assert np.isfinite(score), f"{name}.score on its training {label} is {score}"
        msg = f"{name}.score on its training {label} is {score:.3g} dB, no better than "
        msg += "predicting silence (set the poor_score tag if that is expected)"
        assert get_tags(est).regressor_tags.poor_score or score > 0, msg


def check_signal_score_takes_y(name: str, estimator: Any) -> None:
    """``fit`` and ``score`` take ``y`` as second argument, as pipelines expect, and
    ``score(X_low, y_high)`` returns a float."""
    est = _fresh(estimator)
    for method in ("fit", "score"):
        args = [p for p in inspect.signature(getattr(est, method)).parameters if p != "self"]
        msg = f"{name}.{method} should take y as its second argument; it takes {args}"
        assert args[1:2] in (["y"], ["Y"]), msg
    X, y = _signal_pair(estimator)
    score = est.fit(X, y).score(X, y)
    assert isinstance(score, (float, np.floating)), f"{name}.score returned {type(score)}"


def check_signal_pipeline_consistency(name: str, estimator: Any) -> None:
    """``make_pipeline(estimator)`` fitted on signal pairs scores as the estimator does
    (unless the ``non_deterministic`` tag is set)."""
    from sklearn.pipeline import make_pipeline

    if not get_tags(estimator).non_deterministic:
        X, y = _signal_pair(estimator)
        alone = _fresh(estimator).fit(X, y).score(X, y)
        piped = make_pipeline(_fresh(estimator)).fit(X, y).score(X, y)
        msg = f"{name} scores differently in a Pipeline"
        np.testing.assert_allclose(piped, alone, rtol=_RTOL, err_msg=msg)


def check_signal_negative_values(name: str, estimator: Any) -> None:
    """Signals with negative values (signals are usually centred on zero) are accepted,
    unless the ``positive_only`` tag is set: then ``fit`` raises ValueError saying
    "Negative values"."""
    X, y = _signal_pair(estimator)
    if get_tags(estimator).input_tags.positive_only:
        with _expect(f"{name}.fit on negative signals", ValueError, "Negative values"):
            _fresh(estimator).fit(X - 3.0, y - 3.0)
    else:
        _fit_predict(name, estimator, "signals with negative values", X - 3.0, y - 3.0)


def check_signal_no_decision_function(name: str, estimator: Any) -> None:
    """A fitted super-resolver has no ``decision_function``, ``predict_proba`` or
    ``predict_log_proba``."""
    est = _fresh(estimator).fit(*_signal_pair(estimator))
    present = [
        m for m in ("decision_function", "predict_proba", "predict_log_proba") if hasattr(est, m)
    ]
    assert not present, f"{name} is a regressor but has {present}"


# ---------------------------------------------------------------- which checks run
#: Every check of this module by name: the contract's, then each task's, which start
#: with their task's prefix.
_CHECKS: dict[str, Callable[..., None]] = {
    n: f for n, f in globals().items() if n.startswith("check_") and f.__module__ == __name__
}
_PREFIX = {"super_resolution": "check_signal_", "imputation": "check_imputer_"}
_PREFIX["classification"] = "check_classifier_"


def _checks_for(task: str) -> list[Callable[..., None]]:
    """The contract checks, then those of ``task``."""
    own = [f for n, f in _CHECKS.items() if not n.startswith(tuple(_PREFIX.values()))]
    return own + [f for n, f in _CHECKS.items() if n.startswith(_PREFIX.get(task, "-"))]


def _check_name(check: Any) -> str:
    while isinstance(check, functools.partial) or hasattr(check, "__wrapped__"):
        check = check.func if isinstance(check, functools.partial) else check.__wrapped__
    return check.__name__


def _check_id(check: Any) -> str:
    """The check's name, with the keyword arguments that tell variants apart."""
    inner = getattr(check, "__wrapped__", check)
    kwargs = dict(inner.keywords) if isinstance(inner, functools.partial) else {}
    args = ",".join(f"{k}={v}" for k, v in sorted(kwargs.items()) if k != "task")
    return _check_name(check) + (f"({args})" if args else "")


def _expected_failure(check: Callable, reason: str, pattern: str | None, mark: str | None):
    """``check``, which must fail with an exception (or a cause of it) saying ``pattern``:
    passing, or failing for another reason, raises AssertionError; failing as expected
    returns (``mark=None``) or calls ``pytest.xfail`` (``mark="xfail"``)."""

    @functools.wraps(check)
    def run(estimator: Any) -> None:
        try:
            check(estimator)
        except SkipTest:
            raise
        except Exception as exc:
            messages, e = [], exc
            while e is not None and len(messages) < 20:  # the exception and its causes
                messages.append(str(e))
                e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
            if pattern and not re.search(pattern, " | ".join(messages)):
                raise AssertionError(
                    f"{_check_id(check)} is expected to fail ({reason}) but failed for another "
                    f"reason: {type(exc).__name__}: {exc}"
                ) from exc
        else:
            raise AssertionError(f"{_check_id(check)} is listed as an expected failure but passes")
        if mark == "xfail":
            import pytest

            pytest.xfail(reason)

    return run


# ---------------------------------------------------------------- entry points
def tsfilm_checks(
    estimator: Any, task: str | None = None, *, sklearn: bool = True, mark: str | None = None
) -> Iterator[tuple[Any, Callable[[Any], None]]]:
    """Yield ``(estimator, check)`` pairs, to run as ``check(estimator)``: scikit-learn's
    checks (``estimator_checks_generator``) with the task's expected failures, then
    tsfilm's (see :mod:`tsfilm.testing`).

    Parameters
    ----------
    estimator : estimator instance or class
        A class stands for :func:`create_test_instances`.
    task : {"super_resolution", "imputation", "classification"}, optional
        Looked up in the registry when omitted.
    sklearn : bool, default=True
        Include scikit-learn's checks.
    mark : {"xfail"} or None, default=None
        What an expected failure that fails as documented does: return quietly (None) or
        call ``pytest.xfail``.
    """
    for est in _instances(estimator):
        est_task = task or _task_of(type(est))
        if sklearn and not _takes_text(est):
            expected = expected_failed_checks(est, est_task)
            pattern = _FAILURE_PATTERN.get(est_task)
            for instance, check in estimator_checks_generator(
                est, legacy=True, expected_failed_checks=expected, mark=None
            ):
                name = _check_name(check)
                if name in expected:
                    check = _expected_failure(check, expected[name], pattern, mark)
                yield instance, check
        for check in _checks_for(est_task):
            # The signal checks build super-resolution data; the others take the task.
            kwargs = {"task": est_task} if "task" in inspect.signature(check).parameters else {}
            yield est, functools.partial(check, type(est).__name__, **kwargs)


def parametrize_with_tsfilm_checks(
    estimators: Iterable[Any],
    *,
    task: str | None = None,
    marks: Callable[[Any, str], Sequence[Any]] | None = None,
):
    """Pytest decorator: one test per estimator and check of :func:`tsfilm_checks`.

    The test function takes the arguments ``estimator`` and ``check`` and runs
    ``check(estimator)``. scikit-learn's expected failures show as xfailed when they fail
    for the documented reason, and fail the test otherwise.

    Parameters
    ----------
    estimators : iterable of estimator instances or classes
        A class stands for one estimator per test parameter set
        (:func:`create_test_instances`).
    task : str, optional
        The task of every estimator; looked up in the registry for each when omitted.
    marks : callable, optional
        ``marks(estimator, check_id)`` returns pytest marks to add to that test, e.g.
        ``pytest.mark.slow`` for slow checks.

    Returns
    -------
    decorator
        ``pytest.mark.parametrize("estimator, check", ...)``, with test ids
        ``"<EstimatorClass>-<check>"`` (``_<k>`` after the class name for the k-th of
        several estimators of one class: ``TFiLMSuperResolver_1-check_signal_dtypes``).

    Examples
    --------
    >>> from tsfilm.registry import get_model
    >>> from tsfilm.testing import parametrize_with_tsfilm_checks
    >>> @parametrize_with_tsfilm_checks([get_model("spline", task="super_resolution")])
    ... def test_conformance(estimator, check):
    ...     check(estimator)
    """
    import pytest

    instances = [est for item in estimators for est in _instances(item)]
    counts, seen, params = Counter(type(est).__name__ for est in instances), Counter(), []
    for est in instances:
        label = cls_name = type(est).__name__
        if counts[cls_name] > 1:
            label, seen[cls_name] = f"{cls_name}_{seen[cls_name]}", seen[cls_name] + 1
        for instance, check in tsfilm_checks(est, task, mark="xfail"):
            check_id = _check_id(check)
            extra = list(marks(instance, check_id)) if marks is not None else []
            params.append(pytest.param(instance, check, id=f"{label}-{check_id}", marks=extra))
    return pytest.mark.parametrize("estimator, check", params)


def check_plugin(
    cls: Any,
    *,
    task: str | None = None,
    params: dict[str, Any] | Sequence[dict[str, Any]] | None = None,
) -> None:
    """Check that an estimator class meets scikit-learn's and tsfilm's contracts.

    Runs every check of :func:`tsfilm_checks` (scikit-learn's and tsfilm's, see
    :mod:`tsfilm.testing`) on every test parameter set.

    Parameters
    ----------
    cls : type or estimator instance
        The estimator class (or one estimator).
    task : {"super_resolution", "imputation", "classification"}, optional
        Its task; looked up in the registry when omitted.
    params : dict or list of dict, optional
        Constructor parameters; by default every set of ``cls.get_test_params()``.

    Raises
    ------
    AssertionError
        Naming every check that failed, for each parameter set.

    Examples
    --------
    >>> from tsfilm.registry import get_model
    >>> from tsfilm.testing import check_plugin
    >>> check_plugin(get_model("spline", task="super_resolution"))
    """
    params = [params] if isinstance(params, dict) else params
    estimators = _instances(cls) if params is None else [cls(**p) for p in params]
    problems = []
    for k, est in enumerate(estimators):
        where = f"[parameter set {k}] " if len(estimators) > 1 else ""
        for instance, check in tsfilm_checks(est, task):
            try:
                check(instance)
            except SkipTest:
                continue
            except Exception as exc:
                problems.append(f"{where}{_check_id(check)}: {type(exc).__name__}: {exc}")
    if problems:
        name = type(estimators[0]).__name__ if estimators else getattr(cls, "__name__", cls)
        raise AssertionError(f"{name} fails {len(problems)} check(s):\n  " + "\n  ".join(problems))


__all__ = [*_CHECKS, "EXPECTED_FAILED_CHECKS", "SIGNAL_EQUIVALENTS", "check_plugin"]
__all__ += ["create_test_instances", "expected_failed_checks", "parametrize_with_tsfilm_checks"]
__all__ += ["tsfilm_checks"]
