"""Conformance checks for tsfilm estimators and third-party plugins.

:func:`check_plugin` runs scikit-learn's ``check_estimator`` (legacy checks included) and
tsfilm's own contract checks on an estimator class. The scikit-learn checks a task
cannot pass are listed once, here, in :data:`EXPECTED_FAILED_CHECKS`, each with its
reason; a listed check that passes, or that fails for another reason, is an error.
"""

from __future__ import annotations

import pickle
import re
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

__all__ = ["EXPECTED_FAILED_CHECKS", "check_plugin", "expected_failed_checks"]

_NOT_A_SIGNAL = (
    "scikit-learn's generic regressor checks pass y of shape (n,) or (n, 1); a "
    "super-resolver's y is the high-rate signal (n_series, ratio * n_low), so fit refuses "
    "it with 'not a high-rate signal'"
)

#: scikit-learn checks each task cannot pass, with the reason, by task.
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
    """
    task = task or _task_of(type(estimator))
    return dict(EXPECTED_FAILED_CHECKS.get(task, {}))


def _task_of(cls: type) -> str:
    from tsfilm import registry

    tasks = {info.task for info in registry.list_models() if info.cls is cls}
    if len(tasks) != 1:
        raise ValueError(
            f"{cls.__name__} is registered for {sorted(tasks) or 'no'} task(s); pass task=."
        )
    return tasks.pop()


def _instance(cls: type, params: dict | None) -> Any:
    if params is None:
        getter = getattr(cls, "get_test_params", None)
        params = getter() if callable(getter) else {}
    return cls(**params)


def _messages(exc: BaseException | None) -> str:
    """The message of an exception and of the exceptions it was raised from."""
    parts = []
    while exc is not None:
        parts.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return " | ".join(parts)


def _sklearn_checks(estimator: Any, task: str) -> None:
    expected = expected_failed_checks(estimator, task)
    results = check_estimator(
        estimator, legacy=True, expected_failed_checks=expected, on_fail=None, on_skip=None
    )
    problems = []
    pattern = _FAILURE_PATTERN.get(task)
    for result in results:
        name, status = result["check_name"], result["status"]
        if status == "failed":
            problems.append(f"{name} failed: {result['exception']!r}")
        elif status == "passed" and result["expected_to_fail"]:
            problems.append(f"{name} is listed as an expected failure but passes")
        elif (
            status == "xfail" and pattern and not re.search(pattern, _messages(result["exception"]))
        ):
            problems.append(f"{name} failed for another reason: {result['exception']!r}")
    if problems:
        raise AssertionError(
            f"{type(estimator).__name__} fails scikit-learn's checks:\n  " + "\n  ".join(problems)
        )


def _series(n: int = 6, length: int = 96, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    return (
        np.sin(2 * np.pi * rng.uniform(1, 6, (n, 1)) * t) + 0.1 * rng.normal(size=(n, length))
    ).astype(np.float32)


def _takes_text(estimator: Any) -> bool:
    """Whether the estimator's input is text (``__sklearn_tags__().input_tags.string``).

    scikit-learn's generic checks feed numeric arrays, which a text estimator rightly
    refuses, so :func:`check_plugin` runs only tsfilm's contract checks on it, with texts.
    """
    tags = getattr(estimator, "__sklearn_tags__", None)
    return bool(callable(tags) and tags().input_tags.string)


_TEXTS = (
    "a fine film, warm and funny",
    "dull plot and wooden acting",
    "the best score I have heard in years",
    "too long, too loud, too late",
    "a quiet gem with a great cast",
    "I want those two hours back",
)


def _task_data(task: str, text: bool = False) -> tuple[tuple, str]:
    """Arguments of ``fit`` and the name of the output method for a task's contract check."""
    X = _series()
    if text:
        return (list(_TEXTS), np.array(["a", "b"] * (len(_TEXTS) // 2), dtype=object)), "predict"
    if task == "super_resolution":
        return (X[:, ::2].copy(), X), "predict"
    if task == "imputation":
        missing = X.copy()
        missing[np.random.default_rng(1).random(X.shape) < 0.2] = np.nan
        missing[:, 0] = X[:, 0]  # every series keeps an observed value
        return (missing,), "transform"
    y = np.array(["a", "b"] * (X.shape[0] // 2), dtype=object)
    return (X, y), "predict"


def _unchanged(before: np.ndarray, after: Any) -> bool:
    after = np.asarray(after)
    numeric = before.dtype.kind in "fc"
    return before.shape == after.shape and np.array_equal(before, after, equal_nan=numeric)


def _contract_checks(cls: type, params: dict | None, task: str, text: bool = False) -> None:
    args, method = _task_data(task, text)
    copies = [np.array(a, copy=True) for a in args]
    est = _instance(cls, params).fit(*args)
    for before, after in zip(copies, args, strict=True):
        assert _unchanged(before, after), f"{cls.__name__}.fit modified its input"
    out = getattr(est, method)(args[0])
    if task == "super_resolution":
        assert np.shape(out) == np.shape(args[1]), (
            f"{cls.__name__}.predict returned shape {np.shape(out)}, expected {np.shape(args[1])}"
        )
    elif task == "imputation":
        observed = ~np.isnan(args[0])
        assert not np.isnan(out).any(), f"{cls.__name__}.transform left NaN"
        assert np.array_equal(out[observed], args[0][observed]), (
            f"{cls.__name__}.transform changed observed values"
        )
    else:
        assert set(np.unique(out)) <= {"a", "b"}, f"{cls.__name__}.predict returned unknown labels"
        if hasattr(est, "predict_proba"):
            proba = est.predict_proba(args[0])
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    again = getattr(_instance(cls, params).fit(*args), method)(args[0])
    if "random_state" in est.get_params():
        np.testing.assert_array_equal(
            np.asarray(out, dtype=object if task == "classification" else float),
            np.asarray(again, dtype=object if task == "classification" else float),
            err_msg=f"{cls.__name__}: the same random_state gave different results",
        )
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(
        np.asarray(getattr(restored, method)(args[0])),
        np.asarray(out),
        err_msg=f"{cls.__name__}: a pickled copy predicts differently",
    )
    assert clone(est).get_params() == est.get_params()


def check_plugin(cls: type, *, task: str | None = None, params: dict | None = None) -> None:
    """Check that an estimator class meets scikit-learn's and tsfilm's contracts.

    Runs ``sklearn.utils.estimator_checks.check_estimator`` (legacy checks on) with the
    task's expected failures of :data:`EXPECTED_FAILED_CHECKS`, then tsfilm's own
    contract for the task: ``fit`` leaves its input unchanged, the output has the
    task's shape (super-resolution), observed values come back exactly and no NaN
    remains (imputation), labels and probabilities are valid (classification), the same
    ``random_state`` gives the same result, and clone and pickle preserve the model.

    An estimator whose input is text (its ``__sklearn_tags__().input_tags.string`` is
    True, as for a classifier of strings) gets only tsfilm's contract checks, run on a
    list of short texts: scikit-learn's generic checks pass numeric arrays.

    Parameters
    ----------
    cls : type
        The estimator class.
    task : {"super_resolution", "imputation", "classification"}, optional
        Its task; looked up in the registry when omitted.
    params : dict, optional
        Constructor parameters; ``cls.get_test_params()`` when the class has it.

    Raises
    ------
    AssertionError
        Naming every check that failed.

    Examples
    --------
    >>> from tsfilm import TFiLMSuperResolver
    >>> from tsfilm.testing import check_plugin
    >>> check_plugin(TFiLMSuperResolver)  # doctest: +SKIP
    """
    task = task or _task_of(cls)
    estimator = _instance(cls, params)
    text = _takes_text(estimator)
    if not text:
        _sklearn_checks(estimator, task)
    _contract_checks(cls, params, task, text)
