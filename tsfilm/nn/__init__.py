"""PyTorch networks of tsfilm: the TFiLM layer and the models built on it.

Pure ``torch.nn`` modules, independent of scikit-learn; the estimators in
:mod:`tsfilm.estimators` train them. All take channels-first input (N, C, T), as
:class:`torch.nn.Conv1d` does, and raise ValueError for an input of the wrong shape.
Constructors check their arguments: a value of the wrong type raises TypeError, a value out
of range or not among the options ValueError.

A padding ``mask`` is a bool tensor of shape (N, T), True for real steps; real steps come
first in every row (padding only at the end) and every row has at least one.
"""

from __future__ import annotations

from tsfilm.nn.classifiers import (
    LinearFront,
    LSTMClassifier,
    SequenceClassifierNet,
    SmallCNN,
    TokenEmbedding,
)
from tsfilm.nn.conv import Conv1d, fft_conv1d
from tsfilm.nn.dense import DenseDNN
from tsfilm.nn.subpixel import SubPixel1d, subpixel_shuffle1d, subpixel_unshuffle1d
from tsfilm.nn.tfilm import TFiLM
from tsfilm.nn.unet import CausalConv1d, TFiLMUNet

__all__ = [
    "CausalConv1d",
    "Conv1d",
    "DenseDNN",
    "LSTMClassifier",
    "LinearFront",
    "SequenceClassifierNet",
    "SmallCNN",
    "SubPixel1d",
    "TFiLM",
    "TFiLMUNet",
    "TokenEmbedding",
    "fft_conv1d",
    "subpixel_shuffle1d",
    "subpixel_unshuffle1d",
]
