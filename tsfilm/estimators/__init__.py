"""scikit-learn estimators wrapping tsfilm's networks on one shared training engine."""

from tsfilm.estimators._base import TorchEstimator, TrainingDivergedError
from tsfilm.estimators.super_resolution import TFiLMSuperResolver

__all__ = ["TFiLMSuperResolver", "TorchEstimator", "TrainingDivergedError"]
