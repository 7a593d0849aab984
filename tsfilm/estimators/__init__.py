"""scikit-learn estimators wrapping tsfilm's networks on one shared training engine."""

from tsfilm.estimators._base import TorchEstimator, TrainingDivergedError
from tsfilm.estimators.budget import fit_within
from tsfilm.estimators.classification import TFiLMSequenceClassifier
from tsfilm.estimators.imputation import BaseSeriesImputer, TFiLMImputer, TorchImputer
from tsfilm.estimators.super_resolution import SuperResolverMixin, TFiLMSuperResolver
from tsfilm.estimators.text import TFiLMTextClassifier

__all__ = ["SuperResolverMixin", "TFiLMSuperResolver", "TorchEstimator", "TrainingDivergedError"]
__all__ += ["BaseSeriesImputer", "TFiLMImputer", "TorchImputer"]
__all__ += ["TFiLMSequenceClassifier", "TFiLMTextClassifier"]
__all__ += ["fit_within"]
