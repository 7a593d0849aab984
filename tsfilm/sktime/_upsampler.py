"""An sktime transformer that raises the sampling rate of series with a TFiLM U-Net."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset
from sktime.transformations.base import BaseTransformer

from tsfilm.sktime._common import to_arrays
from tsfilm.sktime._mirror import MirroredParams

__all__ = ["TFiLMUpsampler"]


class TFiLMUpsampler(MirroredParams, BaseTransformer):
    """Up-sample sktime Series, Panel or Hierarchical data by an integer ratio with TFiLM.

    The sktime transformer of :class:`tsfilm.TFiLMSuperResolver`, with its
    hyper-parameters. ``fit(X)`` trains the network to undo a ``ratio``-fold decimation
    of the series of ``X`` (:func:`tsfilm.preprocessing.degrade`): from ``X`` taken at
    ``1 / ratio`` of its rate back to ``X``, one model for every series of a panel.
    ``transform(X)`` applies it to ``X`` at its own rate, so every series comes back
    with ``ratio`` times as many time points, on a time index ``ratio`` times finer.
    Fitting and transforming the same series (``fit_transform``) thus assumes that
    the series looks alike at both scales; fit on data recorded at the higher rate when
    you have it.

    The time index of every series must be regular (constant steps):

    - a ``DatetimeIndex`` (or a ``PeriodIndex`` of fixed-length periods, such as days
      or hours) whose step divides by ``ratio`` into whole nanoseconds: a daily series
      up-sampled by 2 comes back every 12 hours, from the same first time point;
    - an integer index (``RangeIndex``), which counts samples: time point ``t`` of the
      input is time point ``ratio * t`` of the output.

    Months, weeks, business days and other periods of varying length cannot be divided
    and raise ValueError. The last ``ratio - 1`` time points of each output series lie
    after the last input time point.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    estimator_ : tsfilm.TFiLMSuperResolver
        The fitted super-resolver (``ratio_``, ``history_``, ``save``).

    See Also
    --------
    TFiLMSeriesImputer : Fill missing values, keeping the time index.
    tsfilm.TFiLMSuperResolver : The wrapped estimator, for NumPy arrays.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from tsfilm.sktime import TFiLMUpsampler
    >>> t = np.arange(96)
    >>> X = pd.DataFrame({"x": np.sin(t / 5)},
    ...                  index=pd.date_range("2024-01-01", periods=96, freq="h"))
    >>> up = TFiLMUpsampler(ratio=2, depth=2, width=0.05, patch_length=32, max_epochs=2,
    ...                     random_state=0)
    >>> X_fine = up.fit_transform(X)
    >>> X_fine.shape, X_fine.index.freqstr
    ((192, 1), '30min')
    """

    _model = ("super_resolution", "tfilm")
    _tags: ClassVar[dict[str, Any]] = {
        "authors": ["tsfilm developers"],
        "maintainers": ["tsfilm developers"],
        "python_dependencies": "torch",
        "object_type": "transformer",
        "scitype:transform-input": "Series",
        "scitype:transform-output": "Series",
        "scitype:transform-labels": "None",
        # One model is fitted on every instance of a Panel.
        "scitype:instancewise": False,
        "X_inner_mtype": ["pd.DataFrame", "pd-multiindex", "pd_multiindex_hier"],
        "y_inner_mtype": "None",
        "requires_X": True,
        "requires_y": False,
        "fit_is_empty": False,
        "capability:multivariate": True,
        "capability:unequal_length": True,
        "capability:unequal_length:removes": False,
        "capability:unequal_length:adds": False,
        "capability:missing_values": False,
        "capability:categorical_in_X": False,
        "capability:inverse_transform": False,
        "transform-returns-same-time-index": False,
        "capability:random_state": True,
        "property:randomness": "derandomized",
    }

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Test settings: the super-resolver's two tiny settings, at ratios 2 and 3.

        Plain subsampling (``lowpass=False``) degrades the series of sktime's checks,
        which are too short for the low-pass filter.

        Parameters
        ----------
        parameter_set : str, default="default"
            Name of the set of test parameters; only "default" exists.

        Returns
        -------
        params : list of dict
            Parameters of the test instances.
        """
        params = cls._estimator_class.get_test_params(parameter_set)
        return [
            {**p, "ratio": ratio, "lowpass": False} for p, ratio in zip(params, (2, 3), strict=True)
        ]

    def _fit(self, X: pd.DataFrame, y: Any = None) -> TFiLMUpsampler:
        """Train the super-resolver to undo a ``ratio``-fold decimation of ``X``.

        Parameters
        ----------
        X : pd.DataFrame
            One series (rows are time points, columns variables), or a Panel or
            Hierarchical frame with a MultiIndex whose last level is time.
        y : None
            Ignored.

        Returns
        -------
        self : reference to self
        """
        if self.ratio is None:
            raise ValueError(
                "TFiLMUpsampler needs the up-sampling ratio: pass ratio=2 (or any integer >= 2)."
            )
        arrays, rows = _observed_arrays(X)
        for positions in rows:
            _finer_times(_time_level(X.index[positions]), int(self.ratio))  # fail early
        self.estimator_ = self._estimator_class(**self.estimator_params()).fit(arrays)
        return self

    def _transform(self, X: pd.DataFrame, y: Any = None) -> pd.DataFrame:
        """Up-sample every series of ``X`` by ``ratio``.

        Parameters
        ----------
        X : pd.DataFrame
            Series, Panel or Hierarchical frame with the variables seen in ``fit``.
        y : None
            Ignored.

        Returns
        -------
        X_fine : pd.DataFrame
            The same series and columns with ``ratio`` times as many time points each,
            float64, on the finer time index.
        """
        ratio = int(self.estimator_.ratio_)
        arrays, rows = _observed_arrays(X)
        outputs = self.estimator_.predict(arrays)
        frames, keys = [], []
        for series, positions in zip(outputs, rows, strict=True):
            index = X.index[positions]
            if isinstance(index, pd.MultiIndex):
                keys.append(index[0][:-1])
            times = _finer_times(_time_level(index), ratio)
            frames.append(pd.DataFrame(np.asarray(series).T, index=times, columns=X.columns))
        if not isinstance(X.index, pd.MultiIndex):
            return frames[0]
        out = pd.concat(frames, keys=keys, names=X.index.names)
        return out


def _observed_arrays(X: pd.DataFrame) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """:func:`to_arrays`, refusing missing values with a hint."""
    if X.isna().to_numpy().any():
        raise ValueError(
            "TFiLMUpsampler cannot take missing values (NaN); fill them first, e.g. with "
            "tsfilm.sktime.TFiLMSeriesImputer in a pipeline: "
            "TFiLMSeriesImputer() * TFiLMUpsampler(...)."
        )
    return to_arrays(X)


def _time_level(index: pd.Index) -> pd.Index:
    """The time points of one series: the last level of a MultiIndex."""
    return index.get_level_values(-1) if isinstance(index, pd.MultiIndex) else index


def _finer_times(times: pd.Index, ratio: int) -> pd.Index:
    """The time index of a series up-sampled by ``ratio``.

    Raises ValueError if ``times`` is not regular or its step cannot be divided.
    """
    if len(times) < 2:
        raise ValueError(
            "TFiLMUpsampler needs series of at least two time points, to know their step."
        )
    n = len(times) * ratio
    if isinstance(times, pd.PeriodIndex):
        step = _step(times.to_timestamp(), ratio, times.freqstr)
        return pd.period_range(start=times[0].start_time, periods=n, freq=to_offset(step))
    if isinstance(times, pd.DatetimeIndex):
        step = _step(times, ratio, times.freqstr or "irregular")
        return pd.date_range(start=times[0], periods=n, freq=to_offset(step), name=times.name)
    if pd.api.types.is_integer_dtype(times.dtype):
        steps = np.unique(np.diff(times.to_numpy()))
        if len(steps) != 1:
            raise ValueError(
                "TFiLMUpsampler needs a regular time index (constant steps); the integer "
                f"index has steps {steps[:4].tolist()}."
            )
        start, step = int(times[0]) * ratio, int(steps[0])
        return pd.RangeIndex(start, start + n * step, step, name=times.name)
    raise ValueError(
        "TFiLMUpsampler needs a DatetimeIndex, a PeriodIndex or an integer time index; "
        f"got {type(times).__name__} of dtype {times.dtype}."
    )


def _step(times: pd.DatetimeIndex, ratio: int, freq: str) -> pd.Timedelta:
    """The step of regular timestamps divided by ``ratio``, in whole nanoseconds."""
    steps = np.unique(np.diff(times.as_unit("ns").asi8))
    if len(steps) != 1 or steps[0] <= 0:
        raise ValueError(
            f"TFiLMUpsampler needs a regular time index (constant steps), which a frequency "
            f"of {freq!r} does not give: months, weeks and business days vary in length. "
            "Use a DatetimeIndex with a fixed step (days, hours...) or an integer index."
        )
    if steps[0] % ratio:
        raise ValueError(
            f"The time step of {pd.Timedelta(int(steps[0]), unit='ns')} does not divide by "
            f"ratio={ratio} into whole nanoseconds."
        )
    return pd.Timedelta(int(steps[0]) // ratio, unit="ns")
