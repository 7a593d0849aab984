"""Helpers shared by the adapters: sktime frames to tsfilm arrays, randomness tags."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import clone

__all__ = ["WrapsEstimator", "to_arrays", "wrapped_randomness"]


def to_arrays(X: pd.DataFrame) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The series of an sktime frame as tsfilm arrays, and where their rows are.

    Parameters
    ----------
    X : pd.DataFrame
        One series (rows are time points), or a Panel or Hierarchical frame whose
        MultiIndex ends with the time level; rows of one series in time order, the
        series in any order, even interleaved.

    Returns
    -------
    arrays : list of ndarray of shape (n_variables, n_timepoints_i)
        Float64 values of each series (NaN where missing), in order of first appearance.
    rows : list of ndarray of int
        Row positions in ``X`` of each series, so ``X.iloc[rows[i]]`` is series ``i``.

    Examples
    --------
    >>> import pandas as pd
    >>> index = pd.MultiIndex.from_tuples([("b", 0), ("a", 0), ("b", 1)])
    >>> arrays, rows = to_arrays(pd.DataFrame({"v": [1.0, 2.0, 3.0]}, index=index))
    >>> [a.tolist() for a in arrays], [r.tolist() for r in rows]
    ([[[1.0, 3.0]], [[2.0]]], [[0, 2], [1]])
    """
    values = X.to_numpy(dtype=np.float64, na_value=np.nan)
    if not isinstance(X.index, pd.MultiIndex):
        return [values.T], [np.arange(len(X))]
    instance = X.index.droplevel(-1)
    codes, _ = pd.factorize(instance)  # in order of first appearance
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    rows = np.split(order, bounds)
    return [values[r].T for r in rows], rows


def wrapped_randomness(estimator: Any) -> str:
    """sktime's ``property:randomness`` of a generic adapter wrapping ``estimator``.

    "derandomized" when the estimator has a ``random_state`` parameter (sktime's checks set
    it through ``estimator__random_state``), "deterministic" when it has none (nothing
    random, as the spline imputer), "stochastic" for None: the adapter's default
    estimator has ``random_state=None`` and no parameter of the adapter reaches it.
    """
    if estimator is None:
        return "stochastic"
    params = estimator.get_params(deep=False)
    if "random_state" not in params:
        return "deterministic"
    return "derandomized"


class WrapsEstimator:
    """Mixin of the generic adapters: the wrapped tsfilm estimator is the one parameter.

    ``estimator=None`` uses :meth:`default_estimator`; the adapter fits a clone. Place it
    before the adapter base, so that its ``__init__`` and tags come first.
    """

    _tags: ClassVar[dict[str, Any]] = {
        # The randomness of the wrapped estimator, set per instance in __init__.
        "capability:random_state": False,
        "property:randomness": "stochastic",
    }

    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator
        super().__init__()
        self.set_tags(**{"property:randomness": wrapped_randomness(estimator)})

    @staticmethod
    def default_estimator() -> Any:  # pragma: no cover - each adapter defines it
        raise NotImplementedError

    def _new_estimator(self) -> Any:
        return self.default_estimator() if self.estimator is None else clone(self.estimator)
