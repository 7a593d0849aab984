"""scikit-learn estimators wrapping tsfilm's networks on one shared training engine.

The public bases are for plugin authors: :class:`SuperResolverMixin`,
:class:`BaseSeriesImputer` and :class:`BaseSequenceClassifier` give a task's data
contract, :class:`TorchEstimator` the training engine.
"""

from tsfilm.estimators._base import (
    UNET_CONSTRAINTS,
    TorchEstimator,
    TrainingDivergedError,
    TrainingInterruptedWarning,
    document_engine_params,
    grid_windows,
    random_windows,
    resolve_precision,
    unet_kwargs,
)
from tsfilm.estimators._distributed import (
    DistributedTrainingError,
    is_main_process,
    local_fit,
)
from tsfilm.estimators.classification import (
    SMALLCNN_CONSTRAINTS,
    BaseSequenceClassifier,
    SeriesInputMixin,
    TFiLMSequenceClassifier,
    smallcnn_kwargs,
)
from tsfilm.estimators.imputation import (
    BaseSeriesImputer,
    TFiLMImputer,
    TorchImputer,
    UNetImputer,
)
from tsfilm.estimators.super_resolution import (
    SuperResolverMixin,
    TFiLMSuperResolver,
    UNetSuperResolver,
    multi_resolution_stft_loss,
)
from tsfilm.estimators.text import TextInputMixin, TFiLMTextClassifier

__all__ = [
    "SMALLCNN_CONSTRAINTS",
    "UNET_CONSTRAINTS",
    "BaseSequenceClassifier",
    "BaseSeriesImputer",
    "DistributedTrainingError",
    "SeriesInputMixin",
    "SuperResolverMixin",
    "TFiLMImputer",
    "TFiLMSequenceClassifier",
    "TFiLMSuperResolver",
    "TFiLMTextClassifier",
    "TextInputMixin",
    "TorchEstimator",
    "TorchImputer",
    "TrainingDivergedError",
    "TrainingInterruptedWarning",
    "UNetImputer",
    "UNetSuperResolver",
    "document_engine_params",
    "grid_windows",
    "is_main_process",
    "local_fit",
    "multi_resolution_stft_loss",
    "random_windows",
    "resolve_precision",
    "smallcnn_kwargs",
    "unet_kwargs",
]
