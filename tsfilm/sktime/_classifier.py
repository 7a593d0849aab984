"""sktime classifiers around tsfilm's sequence classifiers."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sktime.classification.base import BaseClassifier

from tsfilm.estimators import BaseSequenceClassifier, TextInputMixin
from tsfilm.sktime._common import WrapsEstimator
from tsfilm.sktime._mirror import MirroredParams

__all__ = ["LSTMClassifier", "SmallCNNClassifier", "TFiLMClassifier", "TsfilmClassifier"]


class _ClassifierAdapter(BaseClassifier):
    """What the classifier adapters share: sktime Panels in, a tsfilm classifier inside.

    A subclass implements ``_new_estimator()``, the unfitted tsfilm sequence classifier
    that ``fit`` trains. The fitted classifier is ``estimator_``.
    """

    _tags: ClassVar[dict[str, Any]] = {
        "authors": ["tsfilm developers"],
        "maintainers": ["tsfilm developers"],
        "python_dependencies": "torch",
        # A 3-D array arrives as it is; any other Panel as a list of frames (sktime
        # converts to the first entry), which keeps series of different lengths apart.
        "X_inner_mtype": ["df-list", "numpy3D"],
        "y_inner_mtype": "numpy1D",
        "capability:multivariate": True,
        "capability:multioutput": False,
        "capability:unequal_length": True,
        "capability:missing_values": False,
        "capability:predict_proba": True,
        "capability:contractable": True,  # the max_time training budget
        "capability:train_estimate": False,
        "capability:feature_importance": False,
        "capability:multithreading": False,
        "capability:class_weight": False,
        "capability:categorical_in_X": False,
        "fit_is_empty": False,
    }

    def _new_estimator(self) -> BaseSequenceClassifier:
        raise NotImplementedError  # pragma: no cover - abstract

    def _fit(self, X: np.ndarray | list[pd.DataFrame], y: np.ndarray) -> _ClassifierAdapter:
        """Train the tsfilm classifier.

        Parameters
        ----------
        X : ndarray of shape (n_instances, n_variables, n_timepoints), or list of \
pd.DataFrame
            The series; a list holds one (n_timepoints_i, n_variables) frame per
            instance.
        y : ndarray of shape (n_instances,)
            Class labels, at least two classes (sktime handles a single class itself).

        Returns
        -------
        self : reference to self
        """
        estimator = self._new_estimator()
        if not isinstance(estimator, BaseSequenceClassifier) or isinstance(
            estimator, TextInputMixin
        ):
            raise TypeError(
                "estimator must be a tsfilm classifier of numeric series (a "
                "tsfilm.estimators.BaseSequenceClassifier that does not read text, e.g. "
                "tsfilm.TFiLMSequenceClassifier() or tsfilm.registry.make_model('lstm', "
                f"task='classification')); got {type(estimator).__name__}."
            )
        self.estimator_ = estimator.fit(_to_series(X), y)
        return self

    def _predict(self, X: np.ndarray | list[pd.DataFrame]) -> np.ndarray:
        """Most probable class of every instance.

        Parameters
        ----------
        X : ndarray of shape (n_instances, n_variables, n_timepoints), or list of \
pd.DataFrame
            Series with the variables seen in ``fit``, of any length.

        Returns
        -------
        y_pred : ndarray of shape (n_instances,)
            Elements of ``classes_``.
        """
        return self.estimator_.predict(_to_series(X))

    def _predict_proba(self, X: np.ndarray | list[pd.DataFrame]) -> np.ndarray:
        """Class probabilities, the softmax of the network's logits.

        Parameters
        ----------
        X : ndarray of shape (n_instances, n_variables, n_timepoints), or list of \
pd.DataFrame
            Series with the variables seen in ``fit``, of any length.

        Returns
        -------
        y_proba : ndarray of shape (n_instances, n_classes)
            Rows sum to 1; columns follow ``classes_``.
        """
        return self.estimator_.predict_proba(_to_series(X))


def _to_series(X: np.ndarray | list[pd.DataFrame]) -> np.ndarray | list[np.ndarray]:
    """sktime's inner Panel as tsfilm input: the 3-D array as it is, or a list of
    ``(n_variables, n_timepoints_i)`` arrays."""
    if isinstance(X, np.ndarray):
        return X
    return [frame.to_numpy(dtype=np.float64).T for frame in X]


class TsfilmClassifier(WrapsEstimator, _ClassifierAdapter):
    """Classify sktime time series with any tsfilm sequence classifier.

    The generic adapter: ``estimator`` is an unfitted tsfilm classifier of numeric
    series, tsfilm's own (:class:`tsfilm.TFiLMSequenceClassifier`) or any classifier of
    the model registry, a third-party plugin's included
    (``tsfilm.registry.make_model(name, task="classification", ...)``); ``fit`` trains a
    clone of it. Panels may be multivariate and of unequal length. :class:`TFiLMClassifier`,
    :class:`SmallCNNClassifier` and :class:`LSTMClassifier` are this adapter with the
    hyper-parameters of a registered model as their own.

    Parameters
    ----------
    estimator : tsfilm sequence classifier or None, default=None
        An unfitted :class:`tsfilm.estimators.BaseSequenceClassifier` for numeric
        series; None uses ``tsfilm.TFiLMSequenceClassifier()``. It is cloned, never
        fitted in place; its parameters can be tuned as ``estimator__<name>``.

    Attributes
    ----------
    estimator_ : tsfilm sequence classifier
        The fitted clone of ``estimator`` (absent when ``y`` has a single class, which
        sktime predicts without a model). Save it as a model file with
        ``estimator_.save(path)``.
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    n_classes_ : int
        Number of classes.

    See Also
    --------
    TFiLMClassifier : This adapter for the TFiLM classifier, its parameters mirrored.

    Examples
    --------
    >>> from sktime.datasets import load_unit_test
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.sktime import TsfilmClassifier
    >>> X, y = load_unit_test(split="train")
    >>> lstm = make_model("lstm", task="classification", hidden_size=8, max_epochs=3,
    ...                   random_state=0)
    >>> clf = TsfilmClassifier(lstm).fit(X, y)
    >>> clf.predict_proba(X).shape
    (20, 2)
    """

    @staticmethod
    def default_estimator() -> BaseSequenceClassifier:
        """The estimator fitted when ``estimator`` is None."""
        from tsfilm import TFiLMSequenceClassifier

        return TFiLMSequenceClassifier()

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Test settings: tiny TFiLM and LSTM classifiers from the registry.

        Parameters
        ----------
        parameter_set : str, default="default"
            Name of the set of test parameters; only "default" exists.

        Returns
        -------
        params : list of dict
            Parameters of the test instances.
        """
        from tsfilm.registry import get_model

        models = [get_model(name, task="classification") for name in ("tfilm", "lstm")]
        return [{"estimator": model(**model.get_test_params()[0])} for model in models]


class _MirroredClassifier(MirroredParams, _ClassifierAdapter):
    """A classifier adapter with the hyper-parameters of the registered model ``_model``."""

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Test settings: the wrapped model's own two tiny settings.

        Parameters
        ----------
        parameter_set : str, default="default"
            Name of the set of test parameters; only "default" exists.

        Returns
        -------
        params : list of dict
            Parameters of the test instances.
        """
        return cls._estimator_class.get_test_params(parameter_set)


class TFiLMClassifier(_MirroredClassifier):
    """Time-series classification with a small CNN and TFiLM layers, for sktime.

    The sktime classifier of :class:`tsfilm.TFiLMSequenceClassifier` (registered as
    "tfilm"), with its hyper-parameters. Panels may be multivariate and of unequal
    length (series are padded and masked, so an instance gets the same prediction alone
    or among longer ones); they must not hold missing values: put an imputer such as
    :class:`TFiLMSeriesImputer` in front (``TFiLMSeriesImputer() * TFiLMClassifier()``).

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    estimator_ : tsfilm.TFiLMSequenceClassifier
        The fitted classifier (``history_``, ``embed``, ``save``); absent when ``y`` has
        a single class, which sktime predicts without a model.
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    n_classes_ : int
        Number of classes.

    See Also
    --------
    SmallCNNClassifier : The same network without TFiLM layers.
    LSTMClassifier : The LSTM baseline.
    TsfilmClassifier : The generic adapter, for any classifier of the model registry.

    Examples
    --------
    >>> from sktime.datasets import load_unit_test
    >>> from tsfilm.sktime import TFiLMClassifier
    >>> X, y = load_unit_test(split="train")
    >>> clf = TFiLMClassifier(n_filters=8, embedding_dim=8, n_layers=2, block_length=4,
    ...                       max_epochs=3, random_state=0)
    >>> clf = clf.fit(X, y)
    >>> clf.predict(X).shape, clf.predict_proba(X).shape
    ((20,), (20, 2))
    """

    _model = ("classification", "tfilm")


class SmallCNNClassifier(_MirroredClassifier):
    """Time-series classification with the SmallCNN baseline, for sktime.

    The sktime classifier of the paper's SmallCNN baseline (registered as "smallcnn"):
    :class:`TFiLMClassifier`'s network without the TFiLM layers, with its
    hyper-parameters. Panels may be multivariate and of unequal length, without
    missing values.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    estimator_ : tsfilm_baselines.classification.SmallCNNSequenceClassifier
        The fitted classifier; absent when ``y`` has a single class.
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    n_classes_ : int
        Number of classes.

    See Also
    --------
    TFiLMClassifier : The same network with TFiLM layers.

    Examples
    --------
    >>> from sktime.datasets import load_unit_test
    >>> from tsfilm.sktime import SmallCNNClassifier
    >>> X, y = load_unit_test(split="train")
    >>> clf = SmallCNNClassifier(n_filters=8, embedding_dim=8, n_layers=2, max_epochs=3,
    ...                          random_state=0).fit(X, y)
    >>> clf.predict(X).shape
    (20,)
    """

    _model = ("classification", "smallcnn")


class LSTMClassifier(_MirroredClassifier):
    """Time-series classification with the one-layer LSTM baseline, for sktime.

    The sktime classifier of the paper's LSTM baseline (registered as "lstm"), with its
    hyper-parameters. Panels may be multivariate and of unequal length, without missing
    values.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    estimator_ : tsfilm_baselines.classification.LSTMSequenceClassifier
        The fitted classifier; absent when ``y`` has a single class.
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    n_classes_ : int
        Number of classes.

    See Also
    --------
    TFiLMClassifier : The TFiLM classifier.

    Examples
    --------
    >>> from sktime.datasets import load_unit_test
    >>> from tsfilm.sktime import LSTMClassifier
    >>> X, y = load_unit_test(split="train")
    >>> clf = LSTMClassifier(hidden_size=8, embedding_dim=8, max_epochs=3,
    ...                      random_state=0).fit(X, y)
    >>> clf.predict(X).shape
    (20,)
    """

    _model = ("classification", "lstm")
