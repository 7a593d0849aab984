"""Extension template: a super-resolver without a network.

Copy this file into your package, rename the class and its registered name, and fill in
the two hooks. ``SuperResolverMixin`` does the rest: it validates and pairs the data
(``fit(X_low, y_high)``, or ``fit(X_high)`` with ``ratio``), sets ``ratio_``,
``n_channels_`` and ``n_features_in_``, gives outputs back in the layout of the input,
and provides ``upsample`` and ``score`` (mean SNR). Run the file to check the class with
tsfilm's conformance kit.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from tsfilm.estimators import SuperResolverMixin
from tsfilm.registry import register
from tsfilm.validation import Signals


@register("hold", task="super_resolution")
class HoldSuperResolver(SuperResolverMixin, BaseEstimator):
    """Sample and hold: every low-rate sample is repeated ``ratio_`` times.

    Parameters
    ----------
    ratio : int or None, default=None
        Up-sampling ratio. ``fit(X_low, y_high)`` reads it from the shapes (and checks it
        against this value if given); ``fit(X_high)`` needs it to degrade ``X_high``.
    lowpass : bool, default=True
        How ``fit(X_high)`` degrades its input: low-pass decimation or plain subsampling.

    Attributes
    ----------
    ratio_ : int
        The up-sampling ratio.
    n_channels_ : int
        Number of channels per series.

    Examples
    --------
    >>> import numpy as np
    >>> X_low = np.array([[1.0, 2.0, 3.0]])
    >>> HoldSuperResolver(ratio=2).fit(X_low, np.zeros((1, 6))).predict(X_low)
    array([[1., 1., 2., 2., 3., 3.]])
    """

    # scikit-learn's convention (a class attribute with a leading underscore, read by
    # fit): the accepted values of every parameter. The mixin's dict covers ratio and
    # lowpass; add one entry per parameter you add.
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SuperResolverMixin._parameter_constraints,
    }

    def __init__(self, ratio: int | None = None, *, lowpass: bool = True) -> None:
        self.ratio = ratio
        self.lowpass = lowpass

    def fit_signals(self, low: Signals, high: Signals) -> None:
        """Learn from validated pairs; ``low.arrays`` and ``high.arrays`` hold the series.

        Each is one array of shape (n_series, n_channels, n_timesteps) or, when the
        series differ in length, a list of (n_channels, n_timesteps_i) arrays. Store
        what is learned in attributes ending with an underscore. Sample and hold has
        nothing to learn.
        """

    def predict_signals(self, low: Signals) -> list[np.ndarray]:
        """High-rate signals of ``low.lengths * ratio_`` samples, one per series."""
        return [np.repeat(a, self.ratio_, axis=-1) for a in low.arrays]

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Small, fast settings for the conformance checks (two or more)."""
        return [{}, {"lowpass": False}]


if __name__ == "__main__":
    from tsfilm.testing import check_plugin

    check_plugin(HoldSuperResolver, task="super_resolution")
    print("HoldSuperResolver passes tsfilm's conformance checks.")
