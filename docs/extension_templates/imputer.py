"""Extension template: an imputer without a network.

Copy this file into your package, rename the class and its registered name, and fill in
the two hooks. ``BaseSeriesImputer`` does the rest: it validates ``X`` (2-D, 3-D or a
list of series of different lengths), finds the entries equal to ``missing_values``,
sets ``n_channels_``, ``fill_values_``, ``n_features_in_`` and ``feature_names_in_``,
writes the estimates into the missing entries only (observed values come back bit for
bit, in the input's dtype and layout), fills channels with no observed value and
supports ``set_output(transform="pandas")``. Run the file to check the class with
tsfilm's conformance kit.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from tsfilm.estimators import BaseSeriesImputer
from tsfilm.registry import register
from tsfilm.validation import Signals


def interpolate(values: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Linear interpolation along the last axis through the observed entries.

    Before the first and after the last observed entry the nearest observed value is
    held. Rows without any observed entry are left at 0 (the base class fills them).
    """
    steps = np.arange(values.shape[-1])
    rows = values.reshape(-1, values.shape[-1])
    masks = observed.reshape(-1, values.shape[-1])
    estimates = np.zeros(rows.shape)
    for i, (row, mask) in enumerate(zip(rows, masks, strict=True)):
        if mask.any():
            estimates[i] = np.interp(steps, steps[mask], row[mask])
    return estimates.reshape(values.shape)


@register("linear", task="imputation")
class LinearImputer(BaseSeriesImputer):
    """Linear interpolation between the observed values of each series and channel.

    Parameters
    ----------
    missing_values : float, default=np.nan
        Marker of a missing value: NaN, or a number such as 0 for zero-coded data.

    Attributes
    ----------
    n_channels_ : int
        Number of channels per series.
    fill_values_ : ndarray of shape (n_channels_,)
        Mean of the observed training values of each channel, for series channels with
        no observed value.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, np.nan, 2.0, np.nan, 6.0]])
    >>> LinearImputer().fit_transform(X)
    array([[0., 1., 2., 4., 6.]])
    """

    # scikit-learn's convention (a class attribute with a leading underscore, read by
    # fit): the accepted values of every parameter. The base class's dict covers
    # missing_values; add one entry per parameter you add.
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **BaseSeriesImputer._parameter_constraints,
    }

    def __init__(self, *, missing_values: float = np.nan) -> None:
        self.missing_values = missing_values

    def fit_signals(self, signals: Signals, observed) -> None:
        """Learn from the validated series and their boolean ``observed`` masks.

        ``signals.arrays`` is one (n_series, n_channels, n_timesteps) array or a list of
        (n_channels, n_timesteps_i) arrays, and ``observed`` has the same structure.
        Store what is learned in attributes ending with an underscore; interpolation
        has nothing to learn.
        """

    def impute_signals(self, values, observed):
        """Estimates for every entry of ``values`` (only the missing ones are used).

        ``values`` and ``observed`` are lists of (n_channels, n_timesteps_i) arrays, one
        per series that misses something; return one estimate of the same shape per
        series. Missing entries of ``values`` hold arbitrary numbers.
        """
        return [interpolate(v, m) for v, m in zip(values, observed, strict=True)]

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Settings for the conformance checks (two or more)."""
        return [{}, {"missing_values": 0.0}]


if __name__ == "__main__":
    from tsfilm.testing import check_plugin

    check_plugin(LinearImputer, task="imputation")
    print("LinearImputer passes tsfilm's conformance checks.")
