"""tsfilm: Temporal FiLM networks for time series, behind scikit-learn estimators.

The estimators wrap PyTorch networks (:mod:`tsfilm.nn`) behind ``fit``/``predict``/
``transform``; :mod:`tsfilm.registry` finds them and the baselines that plugins register.
"""

from __future__ import annotations

import os as _os
import sys as _sys

# Before torch loads OpenMP: threads that wait for work sleep instead of spinning. With
# spinning waits (OpenMP's default) two threads on two cores with a third process busy
# wait a scheduler slice at every parallel region; training steps and predictions then ran
# 2 to 10 times slower than with one thread (benchmarks/speed.py). A value the user set
# wins; if torch is already imported the setting comes too late and nothing is changed.
if "OMP_WAIT_POLICY" not in _os.environ and "torch" not in _sys.modules:
    _os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

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
