"""tsfilm: Temporal FiLM networks for time series, behind scikit-learn estimators.

The estimators wrap PyTorch networks (:mod:`tsfilm.nn`) behind ``fit``/``predict``/
``transform``; :mod:`tsfilm.registry` finds them and the baselines that plugins register.
"""

from __future__ import annotations

from tsfilm.estimators import (
    TFiLMImputer,
    TFiLMSequenceClassifier,
    TFiLMSuperResolver,
    TFiLMTextClassifier,
    TrainingDivergedError,
    TrainingInterruptedWarning,
)
from tsfilm.io.model_file import load, save

__version__ = "0.1.0.dev0"

__all__ = [
    "TFiLMImputer",
    "TFiLMSequenceClassifier",
    "TFiLMSuperResolver",
    "TFiLMTextClassifier",
    "TrainingDivergedError",
    "TrainingInterruptedWarning",
    "__version__",
    "load",
    "save",
]
