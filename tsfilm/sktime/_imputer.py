"""sktime transformers that fill missing values with a tsfilm imputer."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sktime.transformations.base import BaseTransformer

from tsfilm.estimators import BaseSeriesImputer
from tsfilm.sktime._common import WrapsEstimator, to_arrays
from tsfilm.sktime._mirror import MirroredParams

__all__ = ["TFiLMSeriesImputer", "TsfilmImputer"]

#: sktime tags shared by the imputer adapters.
_IMPUTER_TAGS: dict[str, Any] = {
    "authors": ["tsfilm developers"],
    "maintainers": ["tsfilm developers"],
    "python_dependencies": "torch",
    "object_type": "transformer",
    "scitype:transform-input": "Series",
    "scitype:transform-output": "Series",
    "scitype:transform-labels": "None",
    # One model is fitted on every instance of a Panel, so the result for one series
    # depends on the others given to fit.
    "scitype:instancewise": False,
    # Series, Panel and Hierarchical data reach _fit whole: no vectorisation, one model.
    "X_inner_mtype": ["pd.DataFrame", "pd-multiindex", "pd_multiindex_hier"],
    "y_inner_mtype": "None",
    "requires_X": True,
    "requires_y": False,
    "fit_is_empty": False,
    "capability:multivariate": True,
    "capability:unequal_length": True,
    "capability:unequal_length:removes": False,
    "capability:unequal_length:adds": False,
    "capability:missing_values": True,
    "capability:missing_values:removes": True,
    "capability:categorical_in_X": False,
    "transform-returns-same-time-index": True,
    # As sktime's own Imputer: inverse_transform is the identity, so that the imputer
    # can sit in a TransformedTargetForecaster.
    "capability:inverse_transform": True,
    "skip-inverse-transform": True,
}


class _ImputerAdapter(BaseTransformer):
    """What the imputer adapters share: conversion between sktime data and tsfilm arrays.

    A subclass implements ``_new_estimator()``, the unfitted tsfilm imputer that ``fit``
    trains on every series of ``X`` at once. The fitted imputer is ``estimator_``.
    """

    _tags: ClassVar[dict[str, Any]] = dict(_IMPUTER_TAGS)

    def _new_estimator(self) -> BaseSeriesImputer:
        raise NotImplementedError  # pragma: no cover - abstract

    def _fit(self, X: pd.DataFrame, y: Any = None) -> _ImputerAdapter:
        """Train one tsfilm imputer on every series of ``X``.

        Parameters
        ----------
        X : pd.DataFrame
            One series (rows are time points, columns variables), or a Panel or
            Hierarchical frame with a MultiIndex whose last level is time; NaN marks
            missing values.
        y : None
            Ignored.

        Returns
        -------
        self : reference to self
        """
        estimator = self._new_estimator()
        if not isinstance(estimator, BaseSeriesImputer):
            raise TypeError(
                "estimator must be a tsfilm imputer (a tsfilm.estimators.BaseSeriesImputer, "
                "e.g. tsfilm.TFiLMImputer() or tsfilm.registry.make_model(name, "
                f"task='imputation')); got {type(estimator).__name__}."
            )
        arrays, _ = to_arrays(X)
        self.estimator_ = estimator.fit(arrays)
        return self

    def _transform(self, X: pd.DataFrame, y: Any = None) -> pd.DataFrame:
        """Fill the missing values of ``X``.

        Parameters
        ----------
        X : pd.DataFrame
            Series, Panel or Hierarchical frame with the variables seen in ``fit``; the
            series may have any length.
        y : None
            Ignored.

        Returns
        -------
        X_filled : pd.DataFrame
            ``X`` with the same index and columns, every missing value filled and every
            observed value unchanged. Float columns keep their dtype; other numeric
            columns become float64.
        """
        arrays, rows = to_arrays(X)
        filled = self.estimator_.transform(arrays)
        values = np.empty((len(X), X.shape[1]), dtype=np.float64)
        for series, positions in zip(filled, rows, strict=True):
            values[positions] = np.asarray(series).T
        out = pd.DataFrame(values, index=X.index, columns=X.columns)
        float_columns = {c: t for c, t in X.dtypes.items() if pd.api.types.is_float_dtype(t)}
        return out.astype(float_columns) if float_columns else out


class TsfilmImputer(WrapsEstimator, _ImputerAdapter):
    """Fill missing values of sktime Series, Panel or Hierarchical data with any tsfilm imputer.

    The generic adapter: ``estimator`` is an unfitted tsfilm imputer, tsfilm's own
    (:class:`tsfilm.TFiLMImputer`) or any imputer of the model registry, a third-party
    plugin's included (``tsfilm.registry.make_model(name, task="imputation", ...)``).
    ``fit`` trains a clone of it on every series of ``X`` at once, one global model
    for the whole panel; ``transform`` fills the missing values (NaN) of any series
    with the variables seen in ``fit``, of any length, and returns ``X`` with its
    index, columns and observed values unchanged. :class:`TFiLMSeriesImputer` is the same
    adapter with the hyper-parameters of :class:`tsfilm.TFiLMImputer` as its own.

    Parameters
    ----------
    estimator : tsfilm imputer or None, default=None
        An unfitted :class:`tsfilm.estimators.BaseSeriesImputer`; None uses
        ``tsfilm.TFiLMImputer()``. It is cloned, never fitted in place; its parameters
        can be tuned as ``estimator__<name>``.

    Attributes
    ----------
    estimator_ : tsfilm imputer
        The fitted clone of ``estimator``. Save it as a model file with
        ``estimator_.save(path)``.

    See Also
    --------
    TFiLMSeriesImputer : This adapter for the TFiLM imputer, its parameters mirrored.
    sktime.transformations.series.impute.Imputer : sktime's per-series imputer.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm.registry import make_model
    >>> from tsfilm.sktime import TsfilmImputer
    >>> from sktime.datasets import load_airline
    >>> y = load_airline()
    >>> y_missing = y.copy()
    >>> y_missing.iloc[[10, 50, 51, 90]] = np.nan
    >>> imputer = TsfilmImputer(make_model("spline", task="imputation"))
    >>> y_filled = imputer.fit_transform(y_missing)
    >>> bool(y_filled.isna().any()), y_filled.index.equals(y.index)
    (False, True)
    """

    @staticmethod
    def default_estimator() -> BaseSeriesImputer:
        """The estimator fitted when ``estimator`` is None."""
        from tsfilm import TFiLMImputer

        return TFiLMImputer()

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Test settings: a tiny TFiLM imputer, and the spline baseline of the registry.

        Parameters
        ----------
        parameter_set : str, default="default"
            Name of the set of test parameters; only "default" exists.

        Returns
        -------
        params : list of dict
            Parameters of the test instances.
        """
        from tsfilm import TFiLMImputer as Model
        from tsfilm.registry import make_model

        return [
            {"estimator": Model(**_tiny_imputer_params())},
            {"estimator": make_model("spline", task="imputation")},
        ]


class TFiLMSeriesImputer(MirroredParams, _ImputerAdapter):
    """Fill missing values of sktime Series, Panel or Hierarchical data with a TFiLM U-Net.

    The sktime transformer of :class:`tsfilm.TFiLMImputer`, with its hyper-parameters:
    ``fit`` trains one network on every series of ``X`` at once, a global model for the
    whole panel (series of different lengths and several variables included);
    ``transform`` fills the missing values (NaN, or ``missing_values``) of any series
    with the variables seen in ``fit``, of any length, and returns ``X`` with its index,
    columns and every observed value unchanged, bit for bit. ``inverse_transform`` is
    the identity, as for sktime's ``Imputer``.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    estimator_ : tsfilm.TFiLMImputer
        The fitted imputer: ``estimator_.history_`` holds the losses per epoch,
        ``estimator_.save(path)`` writes a model file.

    See Also
    --------
    TsfilmImputer : The generic adapter, for any imputer of the model registry.
    tsfilm.TFiLMImputer : The wrapped estimator, for NumPy arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from sktime.datasets import load_airline
    >>> from tsfilm.sktime import TFiLMSeriesImputer
    >>> y = load_airline()
    >>> y_missing = y.copy()
    >>> y_missing.iloc[[10, 50, 51, 90]] = np.nan
    >>> imputer = TFiLMSeriesImputer(window_length=32, depth=1, width=0.1, max_epochs=2,
    ...                        random_state=0)
    >>> y_filled = imputer.fit_transform(y_missing)
    >>> bool(y_filled.isna().any()), y_filled.index.equals(y.index)
    (False, True)
    >>> bool((y_filled[y_missing.notna()] == y[y_missing.notna()]).all())
    True
    """

    _model = ("imputation", "tfilm")

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Test settings: a one-level U-Net, and a two-level one with LSTM TFiLM layers.

        Parameters
        ----------
        parameter_set : str, default="default"
            Name of the set of test parameters; only "default" exists.

        Returns
        -------
        params : list of dict
            Parameters of the test instances.
        """
        tiny = _tiny_imputer_params()
        return [tiny, {**tiny, "depth": 2, "rnn": "lstm", "scaling": "standard"}]


def _tiny_imputer_params() -> dict[str, Any]:
    """A TFiLM imputer that trains in a blink, for the test settings."""
    return {
        "window_length": 32,
        "depth": 1,
        "width": 0.1,
        "max_filters": 16,
        "block_length": 8,
        "dropout": 0.0,
        "max_epochs": 2,
        "batch_size": 16,
        "random_state": 0,
    }
