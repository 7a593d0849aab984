"""sktime adapters: tsfilm's estimators as sktime transformers and classifiers.

Needs the ``sktime`` extra (``pip install "tsfilm[sktime]"``); nothing else in tsfilm
imports sktime.

- :class:`TFiLMSeriesImputer` and :class:`TsfilmImputer`: transformers that fill the missing
  values of Series, Panel and Hierarchical data with one network trained on every
  series (:class:`tsfilm.TFiLMImputer`, or any imputer of the model registry).
- :class:`TFiLMUpsampler`: a transformer that raises the sampling rate of series by an
  integer ratio with :class:`tsfilm.TFiLMSuperResolver`, on a finer time index.
- :class:`TFiLMClassifier`, :class:`SmallCNNClassifier`, :class:`LSTMClassifier` and
  :class:`TsfilmClassifier`: time-series classifiers around
  :class:`tsfilm.TFiLMSequenceClassifier`, the paper's baselines, or any sequence
  classifier of the model registry.

The named adapters take the hyper-parameters of the registered estimator they wrap, with
the same names and defaults; the generic ones (``Tsfilm*``) take an ``estimator``. Each
keeps the fitted tsfilm estimator as ``estimator_``. See :doc:`/user_guide/sktime`.
"""

from __future__ import annotations

try:
    import sktime
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'tsfilm.sktime needs sktime, which is not installed: pip install "tsfilm[sktime]"'
    ) from exc

from packaging.version import Version  # a dependency of sktime

if Version(sktime.__version__) < Version("1.2"):  # pragma: no cover
    raise ImportError(
        f"tsfilm.sktime needs sktime >= 1.2, but sktime {sktime.__version__} is installed: "
        'pip install "tsfilm[sktime]"'
    )

from tsfilm.sktime._classifier import (
    LSTMClassifier,
    SmallCNNClassifier,
    TFiLMClassifier,
    TsfilmClassifier,
)
from tsfilm.sktime._imputer import TFiLMSeriesImputer, TsfilmImputer
from tsfilm.sktime._upsampler import TFiLMUpsampler

__all__ = [
    "LSTMClassifier",
    "SmallCNNClassifier",
    "TFiLMClassifier",
    "TFiLMSeriesImputer",
    "TFiLMUpsampler",
    "TsfilmClassifier",
    "TsfilmImputer",
]
