"""PyTorch networks of tsfilm: the TFiLM layer and the models built on it.

Pure ``torch.nn`` modules, independent of scikit-learn; the estimators in
:mod:`tsfilm.estimators` train them. All take channels-first input
(N, C, T), as :class:`torch.nn.Conv1d` does.
"""

from __future__ import annotations

from tsfilm.nn.classifiers import (
    LinearFront,
    LSTMClassifier,
    SequenceClassifierNet,
    SmallCNN,
    TokenEmbedding,
)
from tsfilm.nn.dense import DenseDNN
from tsfilm.nn.subpixel import SubPixel1d, subpixel_shuffle1d, subpixel_unshuffle1d
from tsfilm.nn.tfilm import TFiLM
from tsfilm.nn.unet import TFiLMUNet

__all__ = [
    "DenseDNN",
    "LSTMClassifier",
    "LinearFront",
    "SequenceClassifierNet",
    "SmallCNN",
    "SubPixel1d",
    "TFiLM",
    "TFiLMUNet",
    "TokenEmbedding",
    "subpixel_shuffle1d",
    "subpixel_unshuffle1d",
]
