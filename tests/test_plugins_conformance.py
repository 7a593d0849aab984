"""Every registered model, built in or from a plugin, passes tsfilm.testing.check_plugin.

The models are listed when the tests are collected, so a model registered later (in
tsfilm or through a ``tsfilm.models`` entry point) is checked without editing this file.
Models from entry points are checked in every run; tsfilm's own estimators are marked
slow here because their own test modules (tests/estimators/) already run check_plugin.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from tsfilm import registry
from tsfilm.testing import _takes_text, check_plugin

MODELS = registry.list_models()


def _as_param(info: registry.ModelInfo):
    marks = [pytest.mark.slow] if info.source == "tsfilm" else []
    return pytest.param(info, marks=marks, id=f"{info.task}-{info.name}")


def test_the_paper_models_are_registered():
    names = {(info.task, info.name) for info in MODELS}
    assert {
        ("super_resolution", "tfilm"),
        ("super_resolution", "spline"),
        ("super_resolution", "dnn"),
        ("super_resolution", "conv"),
    } <= names


@pytest.mark.parametrize("info", [_as_param(info) for info in MODELS])
def test_registered_model_passes_check_plugin(info: registry.ModelInfo):
    check_plugin(info.cls, task=info.task)


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
        return np.full(len(X), self.majority_, dtype=object)

    def predict_proba(self, X):
        proba = (self.classes_ == self.majority_).astype(float)
        return np.tile(proba, (len(X), 1))


def test_text_classifier_gets_the_contract_checks_on_texts():
    assert _takes_text(MajorityTextClassifier())
    assert not _takes_text(registry.get_model("spline", task="super_resolution")())
    check_plugin(MajorityTextClassifier, task="classification")


def test_text_classifier_that_breaks_the_contract_is_reported():
    class Mutating(MajorityTextClassifier):
        def fit(self, X, y):
            X[0] = X[0].upper()
            return super().fit(X, y)

    with pytest.raises(AssertionError, match="fit modified its input"):
        check_plugin(Mutating, task="classification")
