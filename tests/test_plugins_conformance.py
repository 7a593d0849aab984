"""Every registered model, built in or from a plugin, passes tsfilm's conformance checks.

One test per model, test parameter set and check (``parametrize_with_tsfilm_checks``):
scikit-learn's checks, with the task's expected failures shown as xfailed, tsfilm's
contract, and for super-resolvers the signal-shaped equivalents of those expected
failures. The models are listed when the tests are collected, so a model registered
later (in tsfilm or through a ``tsfilm.models`` entry point) is checked without editing
this file. Test ids read ``<Class>_<parameter set>-<check>``, e.g.
``TFiLMSuperResolver_1-check_signal_dtypes``; select with ``-k``.

The kit itself (that each check catches what it should) is tested in test_testing.py.
"""

from __future__ import annotations

import pytest

from tsfilm import registry
from tsfilm.testing import parametrize_with_tsfilm_checks

#: Checks that take more than about a second per torch model (measured with
#: ``pytest -p no:xdist --durations``); they run in the slow suite.
SLOW_CHECKS: frozenset[str] = frozenset()


def _marks(estimator, check_id: str) -> list:
    return [pytest.mark.slow] if check_id in SLOW_CHECKS else []


def _models(task: str) -> list[type]:
    return [info.cls for info in registry.list_models(task)]


def test_the_paper_models_are_registered():
    names = {(info.task, info.name) for info in registry.list_models()}
    assert {
        ("super_resolution", "tfilm"),
        ("super_resolution", "spline"),
        ("super_resolution", "dnn"),
        ("super_resolution", "conv"),
    } <= names


@parametrize_with_tsfilm_checks(_models("super_resolution"), task="super_resolution", marks=_marks)
def test_super_resolver(estimator, check):
    check(estimator)


@parametrize_with_tsfilm_checks(_models("imputation"), task="imputation", marks=_marks)
def test_imputer(estimator, check):
    check(estimator)


@parametrize_with_tsfilm_checks(_models("classification"), task="classification", marks=_marks)
def test_classifier(estimator, check):
    check(estimator)
