"""Conformance checks for tsfilm estimators and third-party plugins.

Two ways to run them:

* :func:`check_plugin` checks a class in one call and raises one ``AssertionError`` naming
  every check that failed.
* :func:`parametrize_with_tsfilm_checks` makes one pytest test per estimator and check,
  as scikit-learn's ``parametrize_with_checks`` does::

      from tsfilm.testing import parametrize_with_tsfilm_checks

      @parametrize_with_tsfilm_checks([MySuperResolver])   # a class: every test parameter set
      def test_tsfilm_conformance(estimator, check):
          check(estimator)

  :func:`tsfilm_checks` yields the same ``(estimator, check)`` pairs for other runners.

Each check is a plain function ``check(name, estimator)`` (the contract checks also take
``task=``) that raises ``AssertionError`` with a message naming the estimator and the
property. They never modify the estimator they are given: each fits clones of it, with
``random_state=0`` when the estimator has that parameter.

What runs
---------
1. scikit-learn's checks (``check_estimator``'s, legacy ones included). The checks a task
   cannot pass are listed in :data:`EXPECTED_FAILED_CHECKS` with the reason; such a check
   must fail, and for that reason: one that passes, or fails with another message, is an
   error. Estimators whose input is text (``__sklearn_tags__().input_tags.string``) skip
   this part, since scikit-learn's checks feed numeric arrays.
2. tsfilm's contract for every task, one check per property, on the task's own data
   (signal pairs for super-resolution, series with gaps for imputation, labelled series or
   texts for classification): ``fit`` returns self and leaves its input and parameters
   unchanged, ``predict`` leaves the fitted state unchanged, fitting twice or on a fresh
   clone with the same ``random_state`` gives the same result, a pickled copy predicts the
   same, results do not depend on the order or grouping of the series, and the output has
   the task's form.
3. For super-resolvers, signal-shaped equivalents of the scikit-learn checks they cannot
   pass: those checks give ``y`` of shape (n,) where a super-resolver's ``y`` is the
   high-rate signal, so here the same properties are checked with real pairs ``X_low`` of
   shape (n_series, n_low) or (n_series, n_channels, n_low) and ``y`` of shape
   (n_series, ratio * n_low) or (n_series, n_channels, ratio * n_low). Which check
   covers which is :data:`SIGNAL_EQUIVALENTS`:

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
================================================  =======================================

Test parameters
---------------
An estimator class may define ``get_test_params(parameter_set="default")`` returning a
list of small parameter dicts (or a single dict); :func:`create_test_instances` builds one
estimator per dict and the checks run on each.

Examples
--------
>>> from tsfilm.registry import get_model
>>> from tsfilm.testing import check_plugin
>>> check_plugin(get_model("spline", task="super_resolution"))
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import os
import pickle
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import estimator_checks_generator
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "EXPECTED_FAILED_CHECKS",
    "SIGNAL_EQUIVALENTS",
    "check_classifier_labels",
    "check_classifier_proba",
    "check_clone_keeps_params",
    "check_fit_leaves_input_unchanged",
    "check_fit_leaves_params_unchanged",
    "check_fit_returns_self",
    "check_fit_twice_same_result",
    "check_imputer_fills_missing",
    "check_imputer_keeps_observed",
    "check_is_fitted_after_fit",
    "check_pickle_round_trip",
    "check_plugin",
    "check_predict_leaves_state_unchanged",
    "check_predict_sample_order_invariant",
    "check_predict_subset_invariant",
    "check_same_seed_same_result",
    "check_signal_data_not_an_array",
    "check_signal_dtype_object",
    "check_signal_dtypes",
    "check_signal_f_contiguous_input",
    "check_signal_fit_one_series",
    "check_signal_fit_one_timestep",
    "check_signal_n_features_in",
    "check_signal_nan_inf",
    "check_signal_negative_values",
    "check_signal_no_decision_function",
    "check_signal_output_shape",
    "check_signal_pipeline_consistency",
    "check_signal_predict_1d",
    "check_signal_predict_input_consistency",
    "check_signal_readonly_memmap_input",
    "check_signal_regressor_train",
    "check_signal_score_takes_y",
    "create_test_instances",
    "expected_failed_checks",
    "parametrize_with_tsfilm_checks",
    "tsfilm_checks",
]

_NOT_A_SIGNAL = (
    "y is a high-rate signal (n_series, ratio * n_low), not (n,); checked on signal pairs "
    "instead (SIGNAL_EQUIVALENTS)"
)

#: tsfilm checks on signal pairs covering each scikit-learn check a super-resolver cannot
#: pass: the same property, with a high-rate ``y``.
SIGNAL_EQUIVALENTS: dict[str, tuple[str, ...]] = {
    "check_dict_unchanged": ("check_predict_leaves_state_unchanged",),
    "check_dont_overwrite_parameters": ("check_fit_leaves_params_unchanged",),
    "check_dtype_object": ("check_signal_dtype_object",),
    "check_estimators_dtypes": ("check_signal_dtypes",),
    "check_estimators_fit_returns_self": ("check_fit_returns_self",),
    "check_estimators_nan_inf": ("check_signal_nan_inf",),
    "check_estimators_overwrite_params": ("check_fit_leaves_params_unchanged",),
    "check_estimators_pickle": ("check_pickle_round_trip",),
    "check_f_contiguous_array_estimator": ("check_signal_f_contiguous_input",),
    "check_fit2d_1feature": ("check_signal_fit_one_timestep",),
    "check_fit2d_1sample": ("check_signal_fit_one_series",),
    "check_fit2d_predict1d": ("check_signal_predict_1d",),
    "check_fit_check_is_fitted": ("check_is_fitted_after_fit",),
    "check_fit_idempotent": ("check_fit_twice_same_result",),
    "check_fit_score_takes_y": ("check_signal_score_takes_y",),
    "check_methods_sample_order_invariance": ("check_predict_sample_order_invariant",),
    "check_methods_subset_invariance": ("check_predict_subset_invariant",),
    "check_n_features_in": ("check_signal_n_features_in",),
    "check_n_features_in_after_fitting": (
        "check_signal_n_features_in",
        "check_signal_predict_input_consistency",
    ),
    "check_pipeline_consistency": ("check_signal_pipeline_consistency",),
    "check_positive_only_tag_during_fit": ("check_signal_negative_values",),
    "check_readonly_memmap_input": ("check_signal_readonly_memmap_input",),
    "check_regressor_data_not_an_array": ("check_signal_data_not_an_array",),
    "check_regressor_multioutput": ("check_signal_output_shape",),
    "check_regressors_int": ("check_signal_dtypes",),
    "check_regressors_no_decision_function": ("check_signal_no_decision_function",),
    "check_regressors_train": (
        "check_signal_regressor_train",
        "check_signal_readonly_memmap_input",
        "check_signal_dtypes",
        "check_signal_data_not_an_array",
    ),
}

#: scikit-learn checks each task cannot pass, with the reason, by task. Every one must have
#: an equivalent in :data:`SIGNAL_EQUIVALENTS` (or its task's own), so no property goes
#: unchecked.
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "super_resolution": {
        name: _NOT_A_SIGNAL
        for name in (
            "check_dict_unchanged",
            "check_dont_overwrite_parameters",
            "check_dtype_object",
            "check_estimators_dtypes",
            "check_estimators_fit_returns_self",
            "check_estimators_nan_inf",
            "check_estimators_overwrite_params",
            "check_estimators_pickle",
            "check_f_contiguous_array_estimator",
            "check_fit2d_1feature",
            "check_fit2d_1sample",
            "check_fit2d_predict1d",
            "check_fit_check_is_fitted",
            "check_fit_idempotent",
            "check_fit_score_takes_y",
            "check_methods_sample_order_invariance",
            "check_methods_subset_invariance",
            "check_n_features_in",
            "check_n_features_in_after_fitting",
            "check_pipeline_consistency",
            "check_positive_only_tag_during_fit",
            "check_readonly_memmap_input",
            "check_regressor_data_not_an_array",
            "check_regressor_multioutput",
            "check_regressors_int",
            "check_regressors_no_decision_function",
            "check_regressors_train",
        )
    },
    "imputation": {},
    "classification": {},
}

#: What the exception of an expected failure must say, by task.
_FAILURE_PATTERN: dict[str, str] = {"super_resolution": "not a high-rate signal"}

# Outputs computed twice must agree to this relative tolerance (float32 networks run on
# other batch compositions may differ in the last bits), with an absolute tolerance of
# the same size relative to the largest output.
_RTOL = 1e-4


# ---------------------------------------------------------------- tasks and instances
def expected_failed_checks(estimator: Any, task: str | None = None) -> dict[str, str]:
    """The expected scikit-learn check failures of ``estimator``, with reasons.

    Parameters
    ----------
    estimator : estimator instance
        A tsfilm estimator or registered plugin.
    task : str, optional
        Its task; looked up in the registry when omitted.

    Returns
    -------
    dict of str to str
        Check name to reason, for ``parametrize_with_checks(expected_failed_checks=...)``.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import expected_failed_checks
    >>> "check_fit_idempotent" in expected_failed_checks(make_model("tfilm", "super_resolution"))
    True
    """
    task = task or _task_of(type(estimator))
    return dict(EXPECTED_FAILED_CHECKS.get(task, {}))


def _task_of(cls: type) -> str:
    """The registered task of ``cls``; for an unregistered class, the one its kind implies."""
    from tsfilm import registry

    tasks = {info.task for info in registry.list_models() if info.cls is cls}
    if len(tasks) == 1:
        return tasks.pop()
    if not tasks:
        guess = _task_from_kind(cls)
        if guess is not None:
            return guess
    raise ValueError(
        f"{cls.__name__} is registered for {sorted(tasks) or 'no'} task(s); pass task=."
    )


def _task_from_kind(cls: type) -> str | None:
    """The task an unregistered class's scikit-learn kind implies, if any."""
    if issubclass(cls, ClassifierMixin):
        return "classification"
    if issubclass(cls, RegressorMixin):
        return "super_resolution"
    if hasattr(cls, "transform"):
        return "imputation"
    return None


def _test_params(cls: type, parameter_set: str = "default") -> list[dict[str, Any]]:
    getter = getattr(cls, "get_test_params", None)
    if not callable(getter):
        return [{}]
    try:
        takes_set = "parameter_set" in inspect.signature(getter).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        takes_set = False
    params = getter(parameter_set=parameter_set) if takes_set else getter()
    if isinstance(params, dict):
        return [dict(params)]
    params = [dict(p) for p in params]
    if not params:
        raise ValueError(f"{cls.__name__}.get_test_params() returned no parameter set.")
    return params


def create_test_instances(cls: type, parameter_set: str = "default") -> list[Any]:
    """One estimator per parameter dict of ``cls.get_test_params(parameter_set)``.

    Parameters
    ----------
    cls : type
        The estimator class. Its ``get_test_params`` may return a list of dicts or one
        dict, and may or may not take ``parameter_set``; without it the class is built
        with its defaults.
    parameter_set : str, default="default"
        Passed to ``get_test_params`` when it takes it.

    Returns
    -------
    list of estimator
        Unfitted instances, in the order of the parameter sets.

    Examples
    --------
    >>> from tsfilm.registry import get_model
    >>> from tsfilm.testing import create_test_instances
    >>> len(create_test_instances(get_model("tfilm", task="super_resolution"))) >= 1
    True
    """
    return [cls(**params) for params in _test_params(cls, parameter_set)]


def _takes_text(estimator: Any) -> bool:
    """Whether the estimator's input is text (``__sklearn_tags__().input_tags.string``).

    scikit-learn's generic checks feed numeric arrays, which a text estimator rightly
    refuses, so it gets only tsfilm's contract checks, run on a list of short texts.
    """
    tags = getattr(estimator, "__sklearn_tags__", None)
    return bool(callable(tags) and tags().input_tags.string)


def _tags(estimator: Any):
    from sklearn.utils import get_tags

    return get_tags(estimator)


# ---------------------------------------------------------------- data
_TEXTS = (
    "a fine film, warm and funny",
    "dull plot and wooden acting",
    "the best score I have heard in years",
    "too long, too loud, too late",
    "a quiet gem with a great cast",
    "I want those two hours back",
)


def _series(n: int = 6, length: int = 96, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    return (
        np.sin(2 * np.pi * rng.uniform(1, 6, (n, 1)) * t) + 0.1 * rng.normal(size=(n, length))
    ).astype(np.float32)


def _ratio(estimator: Any) -> int:
    ratio = estimator.get_params(deep=False).get("ratio")
    return int(ratio) if ratio is not None else 2


def _signal_pair(
    estimator: Any,
    n_series: int = 6,
    n_channels: int | None = None,
    n_low: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Low- and high-rate float64 signals at the estimator's ratio (2 when it has none).

    Sums of two sines with a little noise; ``n_channels=None`` gives the 2-D layout.
    """
    ratio = _ratio(estimator)
    n_low = n_low if n_low is not None else max(8, 96 // ratio)
    n_high = ratio * n_low
    rng = np.random.default_rng(seed)
    shape = (n_series, n_channels or 1, 1)
    t = np.arange(n_high) / n_high
    high = (
        np.sin(2 * np.pi * rng.uniform(1, 4, shape) * t + rng.uniform(0, 2 * np.pi, shape))
        + 0.5 * np.sin(2 * np.pi * rng.uniform(4, 8, shape) * t)
        + 0.05 * rng.normal(size=(n_series, n_channels or 1, n_high))
    )
    if n_channels is None:
        high = high[:, 0]
    return np.ascontiguousarray(high[..., ::ratio]), high


def _layouts(estimator: Any, **kwargs: Any) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """``(label, X_low, y_high)`` in the 2-D layout and in the 3-D layout with 2 channels."""
    yield ("2-D signals", *_signal_pair(estimator, **kwargs))
    yield ("3-D signals", *_signal_pair(estimator, n_channels=2, **kwargs))


@dataclass
class _Case:
    """Data for a contract check: ``fit(*fit_args)``, then ``method(X)``."""

    label: str
    fit_args: tuple
    X: Any
    method: str


def _cases(estimator: Any, task: str) -> list[_Case]:
    if _takes_text(estimator):
        labels = np.array(["a", "b"] * (len(_TEXTS) // 2), dtype=object)
        return [_Case("texts", (list(_TEXTS), labels), list(_TEXTS), "predict")]
    if task == "super_resolution":
        cases = []
        for label, X, y in _layouts(estimator):
            channels = X.shape[1] if X.ndim == 3 else None
            X_new = _signal_pair(estimator, n_series=10, n_channels=channels)[0]
            cases.append(_Case(label, (X, y), X_new, "predict"))
        return cases
    X = _series()
    if task == "imputation":
        missing = X.copy()
        missing[np.random.default_rng(1).random(X.shape) < 0.2] = _missing_marker(estimator)
        missing[:, 0] = X[:, 0]  # every series keeps an observed value
        return [_Case("series with gaps", (missing,), missing, "transform")]
    y = np.array(["a", "b"] * (X.shape[0] // 2), dtype=object)
    return [_Case("labelled series", (X, y), X, "predict")]


def _missing_marker(estimator: Any) -> float:
    """The value marking missing entries: the ``missing_values`` parameter, NaN without it."""
    marker = estimator.get_params(deep=False).get("missing_values", np.nan)
    return float(marker) if marker is not None else np.nan


def _observed(X: np.ndarray, marker: float) -> np.ndarray:
    return ~np.isnan(X) if np.isnan(marker) else X != marker


def _copy_args(args: Iterable[Any]) -> list[Any]:
    return [copy.deepcopy(a) for a in args]


def _take(X: Any, idx: Sequence[int]) -> Any:
    if isinstance(X, list):
        return [X[i] for i in idx]
    return np.asarray(X)[np.asarray(idx)]


def _fresh(estimator: Any, **params: Any) -> Any:
    """An unfitted clone with ``random_state=0`` when it has that parameter."""
    est = clone(estimator)
    names = est.get_params(deep=False)
    if "random_state" in names:
        est.set_params(random_state=0)
    est.set_params(**{k: v for k, v in params.items() if k in names})
    return est


def _outputs(est: Any, case: _Case, X: Any = None) -> dict[str, Any]:
    X = case.X if X is None else X
    out = {case.method: getattr(est, case.method)(X)}
    if case.method == "predict" and hasattr(est, "predict_proba"):
        out["predict_proba"] = est.predict_proba(X)
    return out


def _as_comparable(a: Any) -> np.ndarray:
    if isinstance(a, list):
        return np.concatenate([np.ravel(np.asarray(x)) for x in a])
    return np.asarray(a)


def _assert_same(actual: Any, expected: Any, message: str) -> None:
    """Equal labels, or numbers equal to :data:`_RTOL`."""
    actual, expected = _as_comparable(actual), _as_comparable(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"{message} (shapes {actual.shape} and {expected.shape})")
    if expected.dtype.kind in "biufc" and actual.dtype.kind in "biufc":
        scale = float(np.max(np.abs(expected))) if expected.size else 0.0
        np.testing.assert_allclose(
            actual, expected, rtol=_RTOL, atol=_RTOL * max(scale, 1e-12), err_msg=message
        )
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=message)


def _assert_same_outputs(actual: dict, expected: dict, message: str) -> None:
    for method, value in expected.items():
        _assert_same(actual[method], value, f"{message} [{method}]")


def _unchanged(before: Any, after: Any) -> bool:
    if isinstance(before, list):
        return (
            isinstance(after, list)
            and len(before) == len(after)
            and all(_unchanged(b, a) for b, a in zip(before, after, strict=True))
        )
    before, after = np.asarray(before), np.asarray(after)
    numeric = before.dtype.kind in "fc"
    return before.shape == after.shape and np.array_equal(before, after, equal_nan=numeric)


@contextlib.contextmanager
def _raises(
    expected: type[BaseException] | tuple[type[BaseException], ...],
    pattern: str | None,
    what: str,
) -> Iterator[None]:
    """Assert that the block raises ``expected`` with a message matching ``pattern``."""
    names = (
        " or ".join(e.__name__ for e in expected)
        if isinstance(expected, tuple)
        else expected.__name__
    )
    try:
        yield
    except expected as exc:
        if pattern is not None and not re.search(pattern, str(exc)):
            raise AssertionError(
                f"{what} raised {type(exc).__name__} as expected, but its message does not "
                f"match {pattern!r}: {exc}"
            ) from exc
        return
    except Exception as exc:
        raise AssertionError(
            f"{what} should raise {names}, but raised {type(exc).__name__}: {exc}"
        ) from exc
    raise AssertionError(f"{what} should raise {names}, but did not raise.")


@contextlib.contextmanager
def _works_or_raises(pattern: str, what: str) -> Iterator[None]:
    """Assert that the block works, or raises ValueError with a message matching ``pattern``."""
    try:
        yield
    except ValueError as exc:
        if not re.search(pattern, str(exc)):
            raise AssertionError(
                f"{what} should work or raise ValueError saying why (matching {pattern!r}); "
                f"the message was: {exc}"
            ) from exc
    except Exception as exc:
        raise AssertionError(
            f"{what} should work or raise an informative ValueError, but raised "
            f"{type(exc).__name__}: {exc}"
        ) from exc


@contextlib.contextmanager
def _accepted(what: str) -> Iterator[None]:
    """Turn an exception of the block into AssertionError: ``what`` must work."""
    try:
        yield
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"{what} fails: {type(exc).__name__}: {exc}") from exc


@contextlib.contextmanager
def _memmapped(obj: Any) -> Iterator[Any]:
    """``obj`` dumped with joblib and loaded back with its arrays as read-only memmaps."""
    import joblib

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as folder:
        path = os.path.join(folder, "data.joblib")
        joblib.dump(obj, path)
        yield joblib.load(path, mmap_mode="r")


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


def _check_output(name: str, out: Any, y: np.ndarray, what: str) -> None:
    arr = np.asarray(out)
    assert arr.shape == y.shape, (
        f"{name}.predict({what}) returned shape {arr.shape}, expected {y.shape}"
    )
    assert arr.dtype.kind == "f", f"{name}.predict({what}) returned dtype {arr.dtype}, not floats"
    assert np.isfinite(arr).all(), f"{name}.predict({what}) returned NaN or infinity"


# ---------------------------------------------------------------- contract, every task
def check_fit_returns_self(name: str, estimator: Any, task: str | None = None) -> None:
    """``fit`` returns the estimator itself, on every layout of the task's data.

    Parameters
    ----------
    name : str
        The estimator's name, used in messages.
    estimator : estimator instance
        Not modified: the check fits clones.
    task : str, optional
        The estimator's task; looked up in the registry when omitted.

    Raises
    ------
    AssertionError
        If the property does not hold.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_fit_returns_self
    >>> check_fit_returns_self("spline", make_model("spline", task="super_resolution"))
    """
    task = task or _task_of(type(estimator))
    for case in _cases(estimator, task):
        est = _fresh(estimator)
        out = est.fit(*case.fit_args)
        assert out is est, f"{name}.fit({case.label}) returned {type(out).__name__}, not self"


def check_is_fitted_after_fit(name: str, estimator: Any, task: str | None = None) -> None:
    """Before ``fit`` the estimator is not fitted (and predicting raises NotFittedError);
    after ``fit`` ``check_is_fitted`` passes.

    Parameters and errors as :func:`check_fit_returns_self`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_is_fitted_after_fit
    >>> check_is_fitted_after_fit("spline", make_model("spline", task="super_resolution"))
    """
    task = task or _task_of(type(estimator))
    case = _cases(estimator, task)[0]
    est = _fresh(estimator)
    if _tags(est).requires_fit:
        try:
            check_is_fitted(est)
        except NotFittedError:
            pass
        else:
            raise AssertionError(f"{name} passes check_is_fitted before being fitted")
        with _raises(NotFittedError, None, f"{name}.{case.method} before fit"):
            getattr(est, case.method)(case.X)
    est.fit(*case.fit_args)
    try:
        check_is_fitted(est)
    except NotFittedError as exc:
        raise AssertionError(f"{name} fails check_is_fitted after fit: {exc}") from exc


def check_fit_leaves_input_unchanged(name: str, estimator: Any, task: str | None = None) -> None:
    """``fit`` and ``predict`` (``transform``) leave the arrays they are given unchanged.

    Parameters and errors as :func:`check_fit_returns_self`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_fit_leaves_input_unchanged
    >>> check_fit_leaves_input_unchanged("spline", make_model("spline", task="imputation"))
    """
    task = task or _task_of(type(estimator))
    for case in _cases(estimator, task):
        before = _copy_args(case.fit_args)
        est = _fresh(estimator).fit(*case.fit_args)
        for i, (b, a) in enumerate(zip(before, case.fit_args, strict=True)):
            assert _unchanged(b, a), f"{name}.fit modified its input ({case.label}, argument {i})"
        X_before = copy.deepcopy(case.X)
        getattr(est, case.method)(case.X)
        assert _unchanged(X_before, case.X), (
            f"{name}.{case.method} modified its input ({case.label})"
        )


def check_fit_leaves_params_unchanged(name: str, estimator: Any, task: str | None = None) -> None:
    """``fit`` neither changes nor mutates a parameter, and sets no public attribute
    (one that neither starts nor ends with an underscore).

    Parameters and errors as :func:`check_fit_returns_self`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_fit_leaves_params_unchanged
    >>> check_fit_leaves_params_unchanged("spline", make_model("spline", task="imputation"))
    """
    import joblib

    task = task or _task_of(type(estimator))
    for case in _cases(estimator, task):
        est = _fresh(estimator)
        params = copy.deepcopy(est.get_params())
        attrs = dict(est.__dict__)
        est.fit(*case.fit_args)
        new_params = est.get_params()
        for key, value in params.items():
            assert joblib.hash(new_params[key]) == joblib.hash(value), (
                f"{name}.fit changed or mutated the parameter {key!r} from {value!r} to "
                f"{new_params[key]!r} ({case.label})"
            )
        public = [k for k in est.__dict__ if not (k.startswith("_") or k.endswith("_"))]
        added = sorted(k for k in public if k not in attrs)
        assert not added, (
            f"{name}.fit set public attribute(s) {added}; fitted attributes end with '_' "
            f"and private ones start with '_' ({case.label})"
        )
        changed = sorted(k for k in public if est.__dict__[k] is not attrs[k])
        assert not changed, (
            f"{name}.fit replaced public attribute(s) {changed}; only attributes starting or "
            f"ending with '_' may change ({case.label})"
        )


def check_predict_leaves_state_unchanged(
    name: str, estimator: Any, task: str | None = None
) -> None:
    """``predict`` (``transform``, ``predict_proba``) changes no attribute of the fitted
    estimator: none added, removed, replaced or mutated (network weights included).

    Parameters and errors as :func:`check_fit_returns_self`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_predict_leaves_state_unchanged
    >>> check_predict_leaves_state_unchanged("spline", make_model("spline", task="imputation"))
    """
    import joblib

    task = task or _task_of(type(estimator))
    for case in _cases(estimator, task):
        est = _fresh(estimator).fit(*case.fit_args)
        before = dict(est.__dict__)
        hashes = {k: joblib.hash(v) for k, v in before.items()}
        _outputs(est, case)
        after = est.__dict__
        assert set(after) == set(before), (
            f"{name}.{case.method} added or removed attributes "
            f"{sorted(set(after) ^ set(before))} ({case.label})"
        )
        for key, value in before.items():
            assert after[key] is value and joblib.hash(after[key]) == hashes[key], (
                f"{name}.{case.method} changed the attribute {key!r} ({case.label})"
            )


def check_fit_twice_same_result(name: str, estimator: Any, task: str | None = None) -> None:
    """Fitting the same estimator twice on the same data (``warm_start=False``) gives the
    same predictions: ``fit`` starts afresh.

    Parameters and errors as :func:`check_fit_returns_self`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_fit_twice_same_result
    >>> check_fit_twice_same_result("spline", make_model("spline", task="super_resolution"))
    """
    task = task or _task_of(type(estimator))
    for case in _cases(estimator, task):
        est = _fresh(estimator, warm_start=False)
        first = _outputs(est.fit(*case.fit_args), case)
        second = _outputs(est.fit(*case.fit_args), case)
        _assert_same_outputs(
            second,
            first,
            f"{name}: fitting twice on the same data gave different results ({case.label}); "
            "fit must start afresh",
        )


def check_same_seed_same_result(name: str, estimator: Any, task: str | None = None) -> None:
    """Two fresh clones fitted with the same ``random_state`` give the same results.

    An estimator without ``random_state`` must be deterministic.

    Parameters and errors as :func:`check_fit_returns_self`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_same_seed_same_result
    >>> check_same_seed_same_result("spline", make_model("spline", task="super_resolution"))
    """
    task = task or _task_of(type(estimator))
    for case in _cases(estimator, task):
        first = _outputs(_fresh(estimator).fit(*case.fit_args), case)
        second = _outputs(_fresh(estimator).fit(*case.fit_args), case)
        _assert_same_outputs(
            second,
            first,
            f"{name}: the same random_state gave different results ({case.label})",
        )


def check_pickle_round_trip(name: str, estimator: Any, task: str | None = None) -> None:
    """A fitted estimator copied with ``pickle``, and one loaded by joblib with read-only
    memory-mapped arrays, give the same results as the original.

    Parameters and errors as :func:`check_fit_returns_self`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_pickle_round_trip
    >>> check_pickle_round_trip("spline", make_model("spline", task="super_resolution"))
    """
    task = task or _task_of(type(estimator))
    for case in _cases(estimator, task):
        est = _fresh(estimator).fit(*case.fit_args)
        expected = _outputs(est, case)
        restored = pickle.loads(pickle.dumps(est))
        _assert_same_outputs(
            _outputs(restored, case), expected, f"{name}: a pickled copy predicts differently"
        )
        with _memmapped(est) as mapped:
            _assert_same_outputs(
                _outputs(mapped, case),
                expected,
                f"{name}: a copy loaded with read-only memory-mapped arrays predicts "
                f"differently ({case.label})",
            )


def check_clone_keeps_params(name: str, estimator: Any, task: str | None = None) -> None:
    """``clone`` of an unfitted and of a fitted estimator has the same parameters, and
    the clone is not fitted.

    Parameters and errors as :func:`check_fit_returns_self`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_clone_keeps_params
    >>> check_clone_keeps_params("spline", make_model("spline", task="super_resolution"))
    """
    import joblib

    task = task or _task_of(type(estimator))
    case = _cases(estimator, task)[0]
    est = _fresh(estimator)
    params = {k: joblib.hash(v) for k, v in est.get_params(deep=False).items()}
    est.fit(*case.fit_args)
    for copy_of in ("unfitted", "fitted"):
        twin = clone(est) if copy_of == "fitted" else clone(_fresh(estimator))
        twin_params = {k: joblib.hash(v) for k, v in twin.get_params(deep=False).items()}
        assert twin_params == params, f"{name}: a clone of the {copy_of} estimator has other params"
        fitted = sorted(k for k in vars(twin) if k.endswith("_") and not k.startswith("__"))
        assert not fitted, (
            f"{name}: a clone of the {copy_of} estimator has fitted attributes {fitted}"
        )


def check_predict_sample_order_invariant(
    name: str, estimator: Any, task: str | None = None
) -> None:
    """The results for a series do not depend on the order of the series: results for
    permuted series are the permuted results.

    Parameters and errors as :func:`check_fit_returns_self`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_predict_sample_order_invariant
    >>> check_predict_sample_order_invariant("spline", make_model("spline", "super_resolution"))
    """
    task = task or _task_of(type(estimator))
    for case in _cases(estimator, task):
        est = _fresh(estimator).fit(*case.fit_args)
        n = len(case.X)
        idx = np.random.default_rng(0).permutation(n)
        if np.array_equal(idx, np.arange(n)):  # pragma: no cover - seed-dependent
            idx = idx[::-1]
        full = _outputs(est, case)
        permuted = _outputs(est, case, _take(case.X, idx))
        for method, value in full.items():
            _assert_same(
                permuted[method],
                _take(value, idx),
                f"{name}.{method} is not invariant to the order of the series ({case.label})",
            )


def check_predict_subset_invariant(name: str, estimator: Any, task: str | None = None) -> None:
    """The results for one series alone equal its results among the others.

    Parameters and errors as :func:`check_fit_returns_self`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_predict_subset_invariant
    >>> check_predict_subset_invariant("spline", make_model("spline", task="super_resolution"))
    """
    task = task or _task_of(type(estimator))
    for case in _cases(estimator, task):
        est = _fresh(estimator).fit(*case.fit_args)
        full = _outputs(est, case)
        for i in range(len(case.X)):
            alone = _outputs(est, case, _take(case.X, [i]))
            for method, value in full.items():
                _assert_same(
                    alone[method],
                    _take(value, [i]),
                    f"{name}.{method} of series {i} alone differs from its result among "
                    f"the others ({case.label})",
                )


# ---------------------------------------------------------------- task outputs
def check_signal_output_shape(name: str, estimator: Any) -> None:
    """``predict`` returns high-rate float signals in the layout of its input: shape
    (n_series, ratio * n_low) for 2-D input, (n_series, n_channels, ratio * n_low) for
    3-D input (several channels, the multi-output case), and a list of signals of the
    right lengths for a list of series of different lengths.

    Parameters
    ----------
    name : str
        The estimator's name, used in messages.
    estimator : estimator instance
        A super-resolver; not modified: the check fits clones.

    Raises
    ------
    AssertionError
        If the property does not hold.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_output_shape
    >>> check_signal_output_shape("spline", make_model("spline", task="super_resolution"))
    """
    ratio = _ratio(estimator)
    for label, X, y in _layouts(estimator):
        est = _fresh(estimator).fit(X, y)
        _check_output(name, est.predict(X), y, label)
        lengths = (X.shape[-1], X.shape[-1] + 8)
        series = [X[0][..., : lengths[0]], np.concatenate([X[1], X[1][..., :8]], axis=-1)]
        out = est.predict(series)
        assert isinstance(out, list) and len(out) == 2, (
            f"{name}.predict(list of 2 series of lengths {lengths}) should return a list of "
            f"2 signals, got {type(out).__name__}"
        )
        for s, o in zip(series, out, strict=True):
            expected = (*s.shape[:-1], ratio * s.shape[-1])
            assert np.shape(o) == expected, (
                f"{name}.predict(list of series): a series of shape {s.shape} gave shape "
                f"{np.shape(o)}, expected {expected} ({label})"
            )


def check_imputer_keeps_observed(name: str, estimator: Any, task: str | None = None) -> None:
    """``transform`` gives the observed values (those not equal to ``missing_values``,
    NaN by default) back exactly.

    Parameters and errors as :func:`check_fit_returns_self`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_imputer_keeps_observed
    >>> check_imputer_keeps_observed("spline", make_model("spline", task="imputation"))
    """
    case = _cases(estimator, task or "imputation")[0]
    X = case.fit_args[0]
    out = np.asarray(_fresh(estimator).fit(X).transform(X))
    observed = _observed(X, _missing_marker(estimator))
    assert out.shape == X.shape, f"{name}.transform returned shape {out.shape}, expected {X.shape}"
    assert np.array_equal(out[observed], X[observed]), f"{name}.transform changed observed values"


def check_imputer_fills_missing(name: str, estimator: Any, task: str | None = None) -> None:
    """``transform`` fills every gap: no NaN or infinity is left, and the entries marked
    by a numeric ``missing_values`` are not all left at the marker.

    Parameters and errors as :func:`check_fit_returns_self`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_imputer_fills_missing
    >>> check_imputer_fills_missing("spline", make_model("spline", task="imputation"))
    """
    case = _cases(estimator, task or "imputation")[0]
    X = case.fit_args[0]
    out = np.asarray(_fresh(estimator).fit(X).transform(X))
    assert out.shape == X.shape, f"{name}.transform returned shape {out.shape}, expected {X.shape}"
    assert np.isfinite(out).all(), f"{name}.transform left NaN or infinity"
    marker = _missing_marker(estimator)
    if not np.isnan(marker):
        gaps = ~_observed(X, marker)
        assert not np.all(out[gaps] == marker), (
            f"{name}.transform left the missing entries at missing_values={marker}"
        )


def check_classifier_labels(name: str, estimator: Any, task: str | None = None) -> None:
    """``predict`` returns one label per example, each a label seen in ``fit``.

    Parameters and errors as :func:`check_fit_returns_self`.

    Examples
    --------
    >>> from tsfilm.registry import get_model
    >>> from tsfilm.testing import create_test_instances, check_classifier_labels
    >>> estimator = create_test_instances(get_model("tfilm", task="classification"))[0]
    >>> check_classifier_labels("tfilm", estimator)
    """
    case = _cases(estimator, task or "classification")[0]
    out = np.asarray(_fresh(estimator).fit(*case.fit_args).predict(case.X))
    assert out.shape == (len(case.X),), f"{name}.predict returned shape {out.shape}"
    unknown = set(np.unique(out).tolist()) - set(np.unique(case.fit_args[1]).tolist())
    assert not unknown, f"{name}.predict returned labels {sorted(unknown)} not seen in fit"


def check_classifier_proba(name: str, estimator: Any, task: str | None = None) -> None:
    """``predict_proba``, when present, gives one row per example and one column per class
    of ``classes_``, of probabilities summing to 1, whose arg-max is ``predict``.

    Parameters and errors as :func:`check_fit_returns_self`.

    Examples
    --------
    >>> from tsfilm.registry import get_model
    >>> from tsfilm.testing import create_test_instances, check_classifier_proba
    >>> estimator = create_test_instances(get_model("tfilm", task="classification"))[0]
    >>> check_classifier_proba("tfilm", estimator)
    """
    case = _cases(estimator, task or "classification")[0]
    est = _fresh(estimator).fit(*case.fit_args)
    if not hasattr(est, "predict_proba"):
        return
    proba = np.asarray(est.predict_proba(case.X))
    n_classes = len(est.classes_)
    assert proba.shape == (len(case.X), n_classes), (
        f"{name}.predict_proba returned shape {proba.shape}, expected ({len(case.X)}, {n_classes})"
    )
    assert np.all(proba >= 0), f"{name}.predict_proba returned negative probabilities"
    np.testing.assert_allclose(
        proba.sum(axis=1), 1.0, rtol=1e-5, err_msg=f"{name}.predict_proba rows do not sum to 1"
    )
    best = np.asarray(est.classes_)[np.argmax(proba, axis=1)]
    agree = np.mean(best == np.asarray(est.predict(case.X)))
    # Ties between classes may break either way.
    assert agree >= 0.99 or np.allclose(proba, proba[:, :1]), (
        f"{name}.predict disagrees with the arg-max of predict_proba"
    )


# ---------------------------------------------------------------- super-resolution signals
def check_signal_dtypes(name: str, estimator: Any) -> None:
    """float32, float64, int32 and int64 signal pairs (integer-valued, the same values)
    are accepted by ``fit`` and ``predict`` and give the same float predictions, to
    float32 precision, with the same ``random_state``.

    Parameters
    ----------
    name : str
        The estimator's name, used in messages.
    estimator : estimator instance
        A super-resolver; not modified: the check fits clones.

    Raises
    ------
    AssertionError
        If the property does not hold.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_dtypes
    >>> check_signal_dtypes("spline", make_model("spline", task="super_resolution"))
    """
    X, y = _signal_pair(estimator)
    X, y = np.round(100 * X), np.round(100 * y)
    reference = None
    for dtype in (np.float64, np.float32, np.int64, np.int32):
        Xd, yd = X.astype(dtype), y.astype(dtype)
        what = f"{np.dtype(dtype).name} signals"
        with _accepted(f"{name} on {what}"):
            out = _fresh(estimator).fit(Xd, yd).predict(Xd)
        _check_output(name, out, y, what)
        if reference is None:
            reference = out
        else:
            _assert_same(
                out, reference, f"{name}: {what} give other predictions than float64 signals"
            )


def check_signal_dtype_object(name: str, estimator: Any) -> None:
    """Object arrays of numbers are read as numbers (same predictions as float64); an
    object array holding something else (a dict) is refused with TypeError by ``fit``
    (in ``X`` or ``y``) and by ``predict``.

    Parameters and errors as :func:`check_signal_dtypes`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_dtype_object
    >>> check_signal_dtype_object("spline", make_model("spline", task="super_resolution"))
    """
    X, y = _signal_pair(estimator)
    Xo, yo = X.astype(object), y.astype(object)
    with _accepted(f"{name} on object arrays of numbers"):
        est = _fresh(estimator).fit(Xo, yo)
        out = est.predict(Xo)
    _check_output(name, out, y, "object array of numbers")
    _assert_same(out, est.predict(X), f"{name}: object arrays predict other values than floats")
    for arg in ("X", "y"):
        bad_X, bad_y = Xo.copy(), yo.copy()
        (bad_X if arg == "X" else bad_y)[0, 0] = {"foo": "bar"}
        with _raises(TypeError, None, f"{name}.fit with a dict inside {arg}"):
            _fresh(estimator).fit(bad_X, bad_y)
    bad_X = Xo.copy()
    bad_X[0, 0] = {"foo": "bar"}
    with _raises(TypeError, None, f"{name}.predict with a dict inside X"):
        est.predict(bad_X)


def check_signal_nan_inf(name: str, estimator: Any) -> None:
    """NaN or infinity in ``X`` or ``y`` makes ``fit`` raise ValueError, and in ``X``
    makes ``predict`` raise ValueError, with a message saying so (NaN or inf).

    NaN is not checked for an estimator whose ``allow_nan`` tag is set.

    Parameters and errors as :func:`check_signal_dtypes`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_nan_inf
    >>> check_signal_nan_inf("spline", make_model("spline", task="super_resolution"))
    """
    X, y = _signal_pair(estimator)
    est = _fresh(estimator).fit(X, y)
    bad_values = [np.inf, -np.inf] if _tags(est).input_tags.allow_nan else [np.nan, np.inf]
    for value in bad_values:
        for arg in ("X", "y"):
            bad_X, bad_y = X.copy(), y.copy()
            (bad_X if arg == "X" else bad_y)[0, 3] = value
            with _raises(ValueError, "NaN|inf", f"{name}.fit with {value} in {arg}"):
                _fresh(estimator).fit(bad_X, bad_y)
        bad_X = X.copy()
        bad_X[0, 3] = value
        with _raises(ValueError, "NaN|inf", f"{name}.predict with {value} in X"):
            est.predict(bad_X)


def check_signal_n_features_in(name: str, estimator: Any) -> None:
    """``n_features_in_`` is unset before ``fit`` and, after ``fit`` on 2-D signals, is
    the number of low-rate time steps.

    Parameters and errors as :func:`check_signal_dtypes`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_n_features_in
    >>> check_signal_n_features_in("spline", make_model("spline", task="super_resolution"))
    """
    X, y = _signal_pair(estimator)
    est = _fresh(estimator)
    assert not hasattr(est, "n_features_in_"), f"{name} has n_features_in_ before fit"
    est.fit(X, y)
    assert getattr(est, "n_features_in_", None) == X.shape[1], (
        f"{name}.fit on signals of shape {X.shape} set n_features_in_ to "
        f"{getattr(est, 'n_features_in_', '(unset)')}, expected {X.shape[1]}"
    )


def check_signal_predict_input_consistency(name: str, estimator: Any) -> None:
    """``predict`` checks its input against ``fit``: signals with another number of
    channels raise ValueError naming the channels, while signals of another length are
    up-sampled (super-resolvers take any length).

    Parameters and errors as :func:`check_signal_dtypes`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_predict_input_consistency
    >>> check_signal_predict_input_consistency(
    ...     "spline", make_model("spline", task="super_resolution"))
    """
    for label, X, y in _layouts(estimator):
        est = _fresh(estimator).fit(X, y)
        channels = X.shape[1] if X.ndim == 3 else None
        X_long, y_long = _signal_pair(estimator, n_channels=channels, n_low=X.shape[-1] + 8)
        _check_output(name, est.predict(X_long), y_long, f"{label} of another length")
        other = np.stack([X, X, X], axis=1) if X.ndim == 2 else X[:, :1]
        with _raises(
            ValueError,
            "channel",
            f"{name} fitted on {label}: predict on {other.shape[1]}-channel signals",
        ):
            est.predict(other)


def check_signal_fit_one_series(name: str, estimator: Any) -> None:
    """``fit`` on a single signal pair works (then ``predict`` has the right shape) or
    raises ValueError saying that one series is too few.

    Parameters and errors as :func:`check_signal_dtypes`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_fit_one_series
    >>> check_signal_fit_one_series("spline", make_model("spline", task="super_resolution"))
    """
    X, y = _signal_pair(estimator, n_series=1)
    with _works_or_raises(
        r"1 series|one series|n_series|1 sample|n_samples", f"{name}.fit on one series"
    ):
        est = _fresh(estimator).fit(X, y)
        _check_output(name, est.predict(X), y, "one series")


def check_signal_fit_one_timestep(name: str, estimator: Any) -> None:
    """``fit`` on low-rate signals of a single time step works (then ``predict`` has the
    right shape) or raises ValueError saying the signals are too short.

    Parameters and errors as :func:`check_signal_dtypes`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_fit_one_timestep
    >>> check_signal_fit_one_timestep("spline", make_model("spline", task="super_resolution"))
    """
    X, y = _signal_pair(estimator, n_low=1)
    with _works_or_raises(
        r"(?i)time step|timestep|too short|length", f"{name}.fit on signals of 1 time step"
    ):
        est = _fresh(estimator).fit(X, y)
        _check_output(name, est.predict(X), y, "signals of 1 time step")


def check_signal_predict_1d(name: str, estimator: Any) -> None:
    """``predict`` on one 1-D signal (not a batch of series) raises ValueError about the
    shape (a single signal goes through ``upsample``, or ``X.reshape(1, -1)``).

    Parameters and errors as :func:`check_signal_dtypes`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_predict_1d
    >>> check_signal_predict_1d("spline", make_model("spline", task="super_resolution"))
    """
    X, y = _signal_pair(estimator)
    est = _fresh(estimator).fit(X, y)
    with _raises(ValueError, r"(?i)1-D|2-D|reshape|shape|dimension", f"{name}.predict(X[0])"):
        est.predict(X[0])


def check_signal_readonly_memmap_input(name: str, estimator: Any) -> None:
    """Read-only memory-mapped signals (as joblib gives to parallel workers) are accepted
    by ``fit``, which returns self, and by ``predict``, which gives the same predictions
    as for the same signals in memory.

    Parameters and errors as :func:`check_signal_dtypes`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_readonly_memmap_input
    >>> check_signal_readonly_memmap_input("spline", make_model("spline", "super_resolution"))
    """
    for label, X, y in _layouts(estimator):
        with _memmapped((X, y)) as (Xm, ym):
            assert not Xm.flags.writeable
            est = _fresh(estimator)
            with _accepted(f"{name} on read-only memory-mapped {label}"):
                out = est.fit(Xm, ym)
                pred = est.predict(Xm)
            assert out is est, f"{name}.fit(memory-mapped {label}) did not return self"
            _check_output(name, pred, y, f"memory-mapped {label}")
            _assert_same(pred, est.predict(X), f"{name}: memory-mapped {label} predict differently")


def check_signal_f_contiguous_input(name: str, estimator: Any) -> None:
    """Fortran-ordered signals are accepted by ``fit`` and ``predict``, left unchanged,
    and predicted like the same signals in C order.

    Parameters and errors as :func:`check_signal_dtypes`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_f_contiguous_input
    >>> check_signal_f_contiguous_input("spline", make_model("spline", task="super_resolution"))
    """
    for label, X, y in _layouts(estimator):
        XF, yF = np.asfortranarray(X), np.asfortranarray(y)
        est = _fresh(estimator)
        with _accepted(f"{name} on Fortran-ordered {label}"):
            fitted = est.fit(XF, yF)
            pred = est.predict(XF)
        assert fitted is est, f"{name}.fit(Fortran-ordered {label}) did not return self"
        assert np.array_equal(XF, X) and np.array_equal(yF, y), (
            f"{name} modified Fortran-ordered input ({label})"
        )
        _check_output(name, pred, y, f"Fortran-ordered {label}")
        _assert_same(pred, est.predict(X), f"{name}: Fortran-ordered {label} predict differently")


def check_signal_data_not_an_array(name: str, estimator: Any) -> None:
    """Signals given as lists of lists, as array-likes with only ``__array__``, or as a
    pandas DataFrame (one row per series) train and predict like the same arrays.

    Parameters and errors as :func:`check_signal_dtypes`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_data_not_an_array
    >>> check_signal_data_not_an_array("spline", make_model("spline", task="super_resolution"))
    """
    X, y = _signal_pair(estimator)
    reference = _fresh(estimator).fit(X, y).predict(X)
    kinds: list[tuple[str, Callable[[np.ndarray], Any]]] = [
        ("lists of lists", lambda a: a.tolist()),
        ("array-likes", _NotAnArray),
    ]
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is optional
        pass
    else:
        kinds.append(("DataFrames", lambda a: pd.DataFrame(a)))
    for kind, convert in kinds:
        with _accepted(f"{name} on signals given as {kind}"):
            pred = _fresh(estimator).fit(convert(X), convert(y)).predict(convert(X))
        _check_output(name, pred, y, kind)
        _assert_same(pred, reference, f"{name}: signals given as {kind} predict differently")


def check_signal_regressor_train(name: str, estimator: Any) -> None:
    """Training on signal pairs: a ``y`` with another number of series is refused with
    ValueError; predictions have the shape of ``y``; ``score`` (SNR in dB) on the training
    pairs is finite and, unless the ``poor_score`` tag is set, better than predicting
    silence (0 dB).

    Parameters and errors as :func:`check_signal_dtypes`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_regressor_train
    >>> check_signal_regressor_train("spline", make_model("spline", task="super_resolution"))
    """
    for label, X, y in _layouts(estimator):
        with _raises(
            ValueError, None, f"{name}.fit with {len(X)} series in X and {len(y) - 1} in y"
        ):
            _fresh(estimator).fit(X, y[:-1])
        est = _fresh(estimator).fit(X, y)
        _check_output(name, est.predict(X), y, label)
        score = est.score(X, y)
        assert np.isfinite(score), f"{name}.score on its training {label} is {score}"
        if not _tags(est).regressor_tags.poor_score:
            assert score > 0, (
                f"{name}.score on its training {label} is {score:.3g} dB, no better than "
                "predicting silence (set the poor_score tag if that is expected)"
            )


def check_signal_score_takes_y(name: str, estimator: Any) -> None:
    """``fit`` and ``score`` take ``y`` as second argument, as pipelines expect, and
    ``score(X_low, y_high)`` returns a float.

    Parameters and errors as :func:`check_signal_dtypes`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_score_takes_y
    >>> check_signal_score_takes_y("spline", make_model("spline", task="super_resolution"))
    """
    X, y = _signal_pair(estimator)
    est = _fresh(estimator)
    for method in ("fit", "score"):
        args = [p for p in inspect.signature(getattr(est, method)).parameters if p != "self"]
        assert len(args) >= 2 and args[1] in ("y", "Y"), (
            f"{name}.{method} should take y as its second argument; its arguments are {args}"
        )
    score = est.fit(X, y).score(X, y)
    assert isinstance(score, (float, np.floating)), (
        f"{name}.score returned {type(score).__name__}, not a float"
    )


def check_signal_pipeline_consistency(name: str, estimator: Any) -> None:
    """``make_pipeline(estimator)`` fitted on signal pairs scores as the estimator does.

    Parameters and errors as :func:`check_signal_dtypes`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_pipeline_consistency
    >>> check_signal_pipeline_consistency("spline", make_model("spline", "super_resolution"))
    """
    from sklearn.pipeline import make_pipeline

    if _tags(estimator).non_deterministic:
        return
    X, y = _signal_pair(estimator)
    alone = _fresh(estimator).fit(X, y).score(X, y)
    piped = make_pipeline(_fresh(estimator)).fit(X, y).score(X, y)
    np.testing.assert_allclose(
        piped, alone, rtol=_RTOL, err_msg=f"{name} scores differently in a Pipeline"
    )


def check_signal_negative_values(name: str, estimator: Any) -> None:
    """Signals with negative values (signals are usually centred on zero) are accepted,
    unless the ``positive_only`` tag is set, in which case ``fit`` raises ValueError
    saying "Negative values".

    Parameters and errors as :func:`check_signal_dtypes`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_negative_values
    >>> check_signal_negative_values("spline", make_model("spline", task="super_resolution"))
    """
    X, y = _signal_pair(estimator)
    X, y = X - 3.0, y - 3.0
    est = _fresh(estimator)
    if _tags(est).input_tags.positive_only:
        with _raises(ValueError, "Negative values", f"{name}.fit on negative signals"):
            est.fit(X, y)
        return
    with _accepted(f"{name} on signals with negative values"):
        pred = est.fit(X, y).predict(X)
    _check_output(name, pred, y, "signals with negative values")


def check_signal_no_decision_function(name: str, estimator: Any) -> None:
    """A super-resolver fitted on signal pairs has no ``decision_function``,
    ``predict_proba`` or ``predict_log_proba``.

    Parameters and errors as :func:`check_signal_dtypes`.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.testing import check_signal_no_decision_function
    >>> check_signal_no_decision_function("spline", make_model("spline", "super_resolution"))
    """
    X, y = _signal_pair(estimator)
    est = _fresh(estimator).fit(X, y)
    present = [
        m for m in ("decision_function", "predict_proba", "predict_log_proba") if hasattr(est, m)
    ]
    assert not present, f"{name} is a regressor but has {present}"


# ---------------------------------------------------------------- which checks run
_CONTRACT_CHECKS = (
    check_fit_returns_self,
    check_is_fitted_after_fit,
    check_fit_leaves_input_unchanged,
    check_fit_leaves_params_unchanged,
    check_predict_leaves_state_unchanged,
    check_fit_twice_same_result,
    check_same_seed_same_result,
    check_pickle_round_trip,
    check_clone_keeps_params,
    check_predict_sample_order_invariant,
    check_predict_subset_invariant,
)

_TASK_CHECKS: dict[str, tuple[Callable[..., None], ...]] = {
    "super_resolution": (
        check_signal_output_shape,
        check_signal_dtypes,
        check_signal_dtype_object,
        check_signal_nan_inf,
        check_signal_n_features_in,
        check_signal_predict_input_consistency,
        check_signal_fit_one_series,
        check_signal_fit_one_timestep,
        check_signal_predict_1d,
        check_signal_readonly_memmap_input,
        check_signal_f_contiguous_input,
        check_signal_data_not_an_array,
        check_signal_regressor_train,
        check_signal_score_takes_y,
        check_signal_pipeline_consistency,
        check_signal_negative_values,
        check_signal_no_decision_function,
    ),
    "imputation": (check_imputer_keeps_observed, check_imputer_fills_missing),
    "classification": (check_classifier_labels, check_classifier_proba),
}


def _check_name(check: Any) -> str:
    while True:
        if isinstance(check, _ExpectedFailure):
            check = check.check
        elif isinstance(check, partial):
            check = check.func
        elif hasattr(check, "__wrapped__"):
            check = check.__wrapped__
        else:
            return check.__name__


def _check_id(check: Any) -> str:
    """The check's name, with the keyword arguments that tell variants apart."""
    inner = check.check if isinstance(check, _ExpectedFailure) else check
    kwargs = dict(inner.keywords) if isinstance(inner, partial) else {}
    kwargs.pop("task", None)
    name = _check_name(check)
    if kwargs:
        name += "(" + ",".join(f"{k}={v}" for k, v in sorted(kwargs.items())) + ")"
    return name


def _messages(exc: BaseException | None) -> str:
    """The message of an exception and of the exceptions it was raised from."""
    parts = []
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts.append(str(exc))
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return " | ".join(parts)


class _ExpectedFailure:
    """A scikit-learn check that must fail, with an exception saying ``pattern``.

    It raises AssertionError when the check passes, or fails for another reason; when it
    fails as expected it returns (``mark=None``) or calls ``pytest.xfail`` (``"xfail"``).
    """

    def __init__(self, check: Callable, reason: str, pattern: str | None, mark: str | None):
        self.check, self.reason, self.pattern, self.mark = check, reason, pattern, mark

    def __call__(self, estimator: Any) -> None:
        from unittest import SkipTest

        name = _check_id(self.check)
        try:
            self.check(estimator)
        except SkipTest:
            raise
        except Exception as exc:
            if self.pattern and not re.search(self.pattern, _messages(exc)):
                raise AssertionError(
                    f"{name} is expected to fail ({self.reason}) but failed for another "
                    f"reason: {type(exc).__name__}: {exc}"
                ) from exc
        else:
            raise AssertionError(f"{name} is listed as an expected failure but passes")
        if self.mark == "xfail":
            import pytest

            pytest.xfail(self.reason)

    def __repr__(self) -> str:
        return f"_ExpectedFailure({_check_id(self.check)})"


def _instances(estimator_or_cls: Any) -> list[Any]:
    if isinstance(estimator_or_cls, type):
        return create_test_instances(estimator_or_cls)
    return [estimator_or_cls]


def tsfilm_checks(
    estimator: Any,
    task: str | None = None,
    *,
    sklearn: bool = True,
    mark: str | None = None,
) -> Iterator[tuple[Any, Callable[[Any], None]]]:
    """Yield ``(estimator, check)`` pairs: run each as ``check(estimator)``.

    scikit-learn's checks first (from ``estimator_checks_generator``, legacy included,
    with the task's :data:`EXPECTED_FAILED_CHECKS`, each of which must fail for the
    documented reason), then tsfilm's contract checks and the task's own checks (for
    super-resolvers, the signal-shaped equivalents of :data:`SIGNAL_EQUIVALENTS`). An
    estimator whose input is text gets tsfilm's checks only, run on texts.

    Parameters
    ----------
    estimator : estimator instance or class
        A class is expanded into :func:`create_test_instances`, one estimator per test
        parameter set.
    task : {"super_resolution", "imputation", "classification"}, optional
        The task; looked up in the registry when omitted.
    sklearn : bool, default=True
        Include scikit-learn's checks.
    mark : {"xfail"} or None, default=None
        What an expected scikit-learn failure does when it fails as documented: None
        returns quietly, "xfail" calls ``pytest.xfail`` (the test shows as xfailed).

    Yields
    ------
    estimator : estimator instance
    check : callable
        ``check(estimator)`` raises AssertionError (or another error) when the property
        does not hold.

    Examples
    --------
    >>> from tsfilm.registry import get_model
    >>> from tsfilm.testing import tsfilm_checks
    >>> pairs = list(tsfilm_checks(get_model("spline", task="super_resolution"), sklearn=False))
    >>> for estimator, check in pairs:
    ...     check(estimator)
    >>> len(pairs) >= 28
    True
    """
    for est in _instances(estimator):
        est_task = task or _task_of(type(est))
        text = _takes_text(est)
        if sklearn and not text:
            expected = expected_failed_checks(est, est_task)
            pattern = _FAILURE_PATTERN.get(est_task)
            for instance, check in estimator_checks_generator(
                est, legacy=True, expected_failed_checks=expected, mark=None
            ):
                name = _check_name(check)
                if name in expected:
                    check = _ExpectedFailure(check, expected[name], pattern, mark)
                yield instance, check
        name = type(est).__name__
        for check in _CONTRACT_CHECKS:
            yield est, partial(check, name, task=est_task)
        for check in _TASK_CHECKS.get(est_task, ()):
            # The signal checks build super-resolution data; the others take the task.
            kwargs = {} if est_task == "super_resolution" else {"task": est_task}
            yield est, partial(check, name, **kwargs)


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
        ``pytest.mark.parametrize("estimator, check", ...)``. Test ids are
        ``"<EstimatorClass>-<check>"``, with ``_<k>`` after the class name for the k-th of
        several estimators of one class, e.g. ``TFiLMSuperResolver_1-check_fit_twice_same_result``.

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
    counts = Counter(type(est).__name__ for est in instances)
    seen: Counter[str] = Counter()
    params = []
    for est in instances:
        cls_name = type(est).__name__
        label = cls_name if counts[cls_name] == 1 else f"{cls_name}_{seen[cls_name]}"
        seen[cls_name] += 1
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

    Runs every check of :func:`tsfilm_checks` on every test parameter set: scikit-learn's
    ``check_estimator`` checks (legacy ones on) with the task's expected failures of
    :data:`EXPECTED_FAILED_CHECKS`, tsfilm's contract (``fit`` returns self and leaves its
    input and parameters unchanged, ``predict`` leaves the fitted state unchanged, the
    same ``random_state`` gives the same result, pickle and clone preserve the model,
    results do not depend on the order or grouping of the series, the output has the
    task's form) and, for super-resolvers, the signal-shaped equivalents of the expected
    failures (:data:`SIGNAL_EQUIVALENTS`).

    An estimator whose input is text (its ``__sklearn_tags__().input_tags.string`` is
    True, as for a classifier of strings) gets only tsfilm's checks, run on a list of
    short texts: scikit-learn's generic checks pass numeric arrays.

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
    from unittest import SkipTest

    if params is None:
        estimators = _instances(cls)
    else:
        sets = [params] if isinstance(params, dict) else list(params)
        estimators = [cls(**p) for p in sets]
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
