"""The paper's super-resolution baselines: cubic spline, dense DNN, and Conv (no TFiLM).

Each is a scikit-learn regressor with the contract of :class:`tsfilm.TFiLMSuperResolver`
(``fit(X_low, y_high)`` or ``fit(X_high)`` with ``ratio``; ``predict(X_low)``;
``upsample``; ``score`` = mean SNR), shared through
:class:`tsfilm.estimators.SuperResolverMixin`, so any of them can replace another in a
``Pipeline`` or ``GridSearchCV``. They are registered for the task ``"super_resolution"``
as ``"spline"``, ``"dnn"`` and ``"conv"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator

from tsfilm.estimators import SuperResolverMixin, TFiLMSuperResolver, TorchEstimator
from tsfilm.estimators._base import document_engine_params
from tsfilm.nn import DenseDNN
from tsfilm.preprocessing import chunk_spans, overlap_add
from tsfilm.registry import register

__all__ = ["ConvSuperResolver", "DNNSuperResolver", "SplineSuperResolver"]


@register("spline", task="super_resolution")
class SplineSuperResolver(SuperResolverMixin, BaseEstimator):
    """Cubic B-spline interpolation to the high rate: the paper's "Spline" baseline.

    Nothing is learned: ``fit`` only reads the ratio and the number of channels, and
    ``predict`` is :func:`tsfilm.preprocessing.spline_upsample`, the same interpolation
    that prepares the input of the networks.

    Parameters
    ----------
    ratio : int or None, default=None
        Up-sampling ratio r. With ``fit(X_low, y_high)`` it is read from the shapes (and
        checked against this value if given); ``fit(X_high)`` needs it.
    lowpass : bool, default=True
        How ``fit(X_high)`` degrades its input, as in :class:`tsfilm.TFiLMSuperResolver`;
        ``fit`` validates the pairs the same way, so the two estimators accept and refuse
        the same data.

    Attributes
    ----------
    ratio_ : int
        The up-sampling ratio.
    n_channels_ : int
        Number of channels per series.
    n_features_in_ : int
        Number of low-rate time steps of the training series when they were passed as one
        2-D array (``predict`` accepts any length).

    See Also
    --------
    tsfilm.preprocessing.spline_upsample : The interpolation itself.
    DNNSuperResolver, ConvSuperResolver : The learned baselines.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm.registry import make_model
    >>> t = np.arange(64) / 64
    >>> y = np.stack([np.sin(2 * np.pi * f * t) for f in (2, 3)])
    >>> est = make_model("spline", task="super_resolution").fit(y[:, ::4], y)
    >>> est.ratio_, est.predict(y[:, ::4]).shape
    (4, (2, 64))
    """

    def __init__(self, ratio: int | None = None, *, lowpass: bool = True) -> None:
        self.ratio = ratio
        self.lowpass = lowpass

    @classmethod
    def get_test_params(cls) -> dict[str, Any]:
        """Parameters for tests (the defaults: the spline has nothing to size)."""
        return {}

    def fit(self, X, y=None) -> SplineSuperResolver:
        """Read the ratio and the number of channels from the data.

        Parameters
        ----------
        X : array-like of shape (n_series, n_low) or (n_series, n_channels, n_low), or list
            Low-rate signals when ``y`` is given; otherwise the high-rate signals.
        y : array-like of shape (n_series, n_high) or (n_series, n_channels, n_high), or None
            High-rate signals, ``n_high = ratio * n_low``.

        Returns
        -------
        self : SplineSuperResolver
            The fitted estimator.
        """
        self._check_ratio_param()
        low, high, ratio = self._pairs(X, y)
        self.ratio_ = ratio
        self.n_channels_ = high.n_channels
        self._set_n_features_in(low)
        return self

    def predict(self, X) -> np.ndarray | list[np.ndarray]:
        """Interpolate low-rate signals to the high rate.

        Parameters
        ----------
        X : array-like of shape (n_series, n_low) or (n_series, n_channels, n_low), or list
            Low-rate signals of any length.

        Returns
        -------
        y_pred : ndarray of shape (n_series, n_high) or (n_series, n_channels, n_high), or list
            ``n_high = n_low * ratio_``, in the layout of ``X``; float32 for float32 input,
            float64 otherwise.
        """
        low = self._check_predict_input(X)
        return low.restore(self._upsample(low, self.ratio_, low.lengths * self.ratio_))


@register("dnn", task="super_resolution")
class DNNSuperResolver(SuperResolverMixin, TorchEstimator):
    """A fully connected network on fixed-length patches: the paper's "DNN" baseline.

    Every patch of ``patch_length`` samples at the high rate is interpolated with a cubic
    spline, flattened (all channels), and mapped by a :class:`tsfilm.nn.DenseDNN` to a
    correction of the same size that is added to it (the network starts at the spline,
    as the TFiLM network does). ``predict`` runs the network on windows of
    ``patch_length`` samples that overlap by ``overlap`` samples and cross-fades them
    (:func:`~tsfilm.preprocessing.chunk_spans`, :func:`~tsfilm.preprocessing.overlap_add`);
    the last window is shifted back to end with the signal, so any length of at least
    ``patch_length`` samples is covered by whole windows. Shorter signals (in ``fit`` and
    ``predict``) are padded with zeros at the end to ``patch_length`` and the output is
    cropped back.

    The defaults suit a CPU. The authors' code uses patches of 8192 samples, hidden
    layers of 8192 / 6 then 8192 / 2 units with batch normalisation and LeakyReLU(0.2),
    no dropout, and Adam; ``patch_length=8192, hidden_sizes=(1365, 4096)`` gives a
    network of that size (about 56 million weights).

    Parameters
    ----------
    ratio : int or None, default=None
        Up-sampling ratio r, as in :class:`tsfilm.TFiLMSuperResolver`.
    lowpass : bool, default=True
        How ``fit(X_high)`` degrades: low-pass decimation or plain subsampling.
    patch_length : int, default=256
        Samples per patch at the high rate; the network's input and output size is
        ``n_channels * patch_length``.
    hidden_sizes : sequence of int, default=(1024, 1024)
        Width of each hidden layer.
    dropout : float, default=0.0
        Dropout rate after every hidden layer.
    overlap : int or None, default=None
        Samples shared by neighbouring windows in ``predict``; None uses
        ``patch_length // 4``. 0 runs non-overlapping windows (the last one still shifted
        back to end with the signal).
    sample_rate : int or None, default=None
        Sample rate (Hz) of the high-rate signals, kept with the model for audio tools;
        not used in computation.
    {engine}

    Attributes
    ----------
    module_ : DenseDNN
        The trained network.
    ratio_ : int
        The up-sampling ratio.
    n_channels_ : int
        Number of channels per series.
    scale_ : float
        Root mean square of the training targets; the network sees signals divided by it.
    n_features_in_ : int
        Number of low-rate time steps of the training series when they were passed as one
        2-D array (``predict`` accepts any length).
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``valid_loss``, ``seconds``.
    n_epochs_ : int
        Epochs trained.
    best_epoch_ : int
        Epoch whose weights were kept.

    See Also
    --------
    tsfilm.TFiLMSuperResolver : The TFiLM network.
    tsfilm.nn.DenseDNN : The network.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm.registry import make_model
    >>> t = np.arange(256) / 256
    >>> X_high = np.stack([np.sin(2 * np.pi * f * t) for f in (3, 5, 7, 11)])
    >>> est = make_model("dnn", task="super_resolution", ratio=2, patch_length=64,
    ...                  hidden_sizes=(32,), max_epochs=2, random_state=0)
    >>> est.fit(X_high).predict(X_high[:, ::2]).shape
    (4, 256)
    """

    _saved_attributes: ClassVar[tuple[str, ...]] = (
        *TorchEstimator._saved_attributes,
        "ratio_",
        "n_channels_",
        "scale_",
        "n_features_in_",
    )

    def __init__(
        self,
        ratio: int | None = None,
        *,
        lowpass: bool = True,
        patch_length: int = 256,
        hidden_sizes: Sequence[int] = (1024, 1024),
        dropout: float = 0.0,
        overlap: int | None = None,
        sample_rate: int | None = None,
        max_epochs: int = 50,
        batch_size: int = 64,
        learning_rate: float = 3e-4,
        validation_fraction: float = 0.1,
        patience: int | None = 10,
        device: Any = "auto",
        precision: str = "float32",
        n_threads: int | None = None,
        random_state: Any = None,
        verbose: int = 0,
        warm_start: bool = False,
    ) -> None:
        self.ratio = ratio
        self.lowpass = lowpass
        self.patch_length = patch_length
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.overlap = overlap
        self.sample_rate = sample_rate
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.precision = precision
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    @classmethod
    def get_test_params(cls) -> dict[str, Any]:
        """Hyper-parameters of a very small, fast model, for tests and examples."""
        return {
            "patch_length": 32,
            "hidden_sizes": (16,),
            "max_epochs": 2,
            "batch_size": 8,
            "random_state": 0,
        }

    # ------------------------------------------------------------------ data
    def _check_params(self) -> None:
        self._check_ratio_param()
        if (
            isinstance(self.patch_length, bool)
            or not isinstance(self.patch_length, (int, np.integer))
            or self.patch_length < 2
        ):
            raise ValueError(f"patch_length must be an integer >= 2, got {self.patch_length!r}.")
        self._overlap()

    def _overlap(self) -> int:
        if self.overlap is None:
            return int(self.patch_length) // 4
        if (
            isinstance(self.overlap, bool)
            or not isinstance(self.overlap, (int, np.integer))
            or not 0 <= self.overlap < self.patch_length
        ):
            raise ValueError(
                f"overlap must be an integer in [0, patch_length={self.patch_length}) or None, "
                f"got {self.overlap!r}."
            )
        return int(self.overlap)

    def _padded(self, x: np.ndarray) -> np.ndarray:
        """A (C, T) signal, zero-padded at the end to at least ``patch_length`` samples."""
        missing = self.patch_length - x.shape[-1]
        return np.pad(x, ((0, 0), (0, missing))) if missing > 0 else x

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None) -> DNNSuperResolver:
        """Train on paired signals, or on high-rate signals degraded by ``ratio``.

        Parameters
        ----------
        X : array-like of shape (n_series, n_low) or (n_series, n_channels, n_low), or list
            Low-rate signals when ``y`` is given; otherwise the high-rate signals. A list
            of arrays of different lengths is accepted.
        y : array-like of shape (n_series, n_high) or (n_series, n_channels, n_high), or None
            High-rate targets, ``n_high = ratio * n_low``.

        Returns
        -------
        self : DNNSuperResolver
            The fitted estimator.
        """
        self._check_params()
        self._check_engine_params()
        low, high, ratio = self._pairs(X, y)
        if not self._continues_fit(ratio, high):
            self.ratio_ = ratio
            self.n_channels_ = high.n_channels
            self.scale_ = self._signal_scale(high)
        self._set_n_features_in(low)
        upsampled = self._upsample(low, ratio, high.lengths)

        def tensors(arrays) -> list[torch.Tensor]:
            return [
                torch.as_tensor(self._padded(np.asarray(a, dtype=np.float32) / self.scale_))
                for a in arrays
            ]

        inputs, targets = tensors(upsampled), tensors(high.arrays)
        seed = self._seed()
        train_idx, valid_idx = self._split_series(len(inputs), seed)
        train = ([inputs[i] for i in train_idx], [targets[i] for i in train_idx])
        valid = (
            ([inputs[i] for i in valid_idx], [targets[i] for i in valid_idx])
            if len(valid_idx)
            else None
        )
        self._run_training(train, valid, seed)
        return self

    def _build_module(self) -> DenseDNN:
        size = int(self.n_channels_) * int(self.patch_length)
        return DenseDNN(
            size,
            size,
            hidden_sizes=tuple(int(h) for h in self.hidden_sizes),
            dropout=self.dropout,
            residual=True,
        )

    def _train_batches(self, data, generator: torch.Generator) -> Iterator[tuple]:
        inputs, targets = data
        size = int(self.patch_length)
        lengths = torch.tensor([t.shape[-1] for t in inputs])
        # Every start position of every series is equally likely.
        room = (lengths - size + 1).double()
        n_patches = max(1, int(lengths.sum()) // size)
        series = torch.multinomial(room, n_patches, replacement=True, generator=generator)
        starts = (
            torch.rand(n_patches, generator=generator, dtype=torch.float64) * room[series]
        ).long()
        for b in range(0, n_patches, self.batch_size):
            pick = zip(
                series[b : b + self.batch_size].tolist(),
                starts[b : b + self.batch_size].tolist(),
                strict=True,
            )
            x, y = zip(
                *((inputs[s][:, t : t + size], targets[s][:, t : t + size]) for s, t in pick),
                strict=True,
            )
            yield torch.stack(x).flatten(1), torch.stack(y).flatten(1)

    def _valid_batches(self, data) -> Iterator[tuple]:
        inputs, targets = data
        size = int(self.patch_length)
        pick = [
            (s, t) for s, x in enumerate(inputs) for t in range(0, x.shape[-1] - size + 1, size)
        ]
        for b in range(0, len(pick), self.batch_size):
            part = pick[b : b + self.batch_size]
            yield (
                torch.stack([inputs[s][:, t : t + size] for s, t in part]).flatten(1),
                torch.stack([targets[s][:, t : t + size] for s, t in part]).flatten(1),
            )

    def _loss(self, module: torch.nn.Module, batch: tuple) -> torch.Tensor:
        x, y = batch
        # Root mean squared error per patch, averaged: the loss of the TFiLM network.
        return torch.sqrt(torch.mean((module(x).float() - y) ** 2, dim=1) + 1e-6).mean()

    # ------------------------------------------------------------------ predict
    def predict(self, X) -> np.ndarray | list[np.ndarray]:
        """Up-sample low-rate signals.

        Parameters
        ----------
        X : array-like of shape (n_series, n_low) or (n_series, n_channels, n_low), or list
            Low-rate signals of any length, at the rate the model was trained for.

        Returns
        -------
        y_pred : ndarray of shape (n_series, n_high) or (n_series, n_channels, n_high), or list
            ``n_high = n_low * ratio_``, in the layout of ``X``, as float32.
        """
        low = self._check_predict_input(X)
        overlap = self._overlap()
        upsampled = self._upsample(low, self.ratio_, low.lengths * self.ratio_)
        with self._inference() as device:
            outputs = [self._predict_one(x, overlap, device) for x in upsampled]
        return low.restore(np.stack(outputs) if low.is_dense else outputs)

    def _predict_one(self, x: np.ndarray, overlap: int, device: torch.device) -> np.ndarray:
        """One spline-upsampled (C, T) signal through the network, window by window."""
        length = x.shape[-1]
        padded = self._padded(np.asarray(x, dtype=np.float32) / np.float32(self.scale_))
        spans = chunk_spans(padded.shape[-1], self.patch_length, overlap)
        shape = (len(x), self.patch_length)

        def outputs() -> Iterator[np.ndarray]:
            for b in range(0, len(spans), self.batch_size):
                windows = np.stack([padded[:, s:e] for s, e in spans[b : b + self.batch_size]])
                batch = torch.from_numpy(windows.reshape(len(windows), -1)).to(device)
                out = self.module_(batch).float().cpu().numpy()
                yield from out.reshape(len(windows), *shape)

        blended = overlap_add(outputs(), spans, padded.shape[-1], overlap)
        return (blended[:, :length] * np.float32(self.scale_)).astype(np.float32, copy=False)


document_engine_params(DNNSuperResolver)


@register("conv", task="super_resolution")
class ConvSuperResolver(TFiLMSuperResolver):
    """The TFiLM U-Net with its TFiLM layers removed: the paper's "Conv" baseline.

    Everything else is :class:`tsfilm.TFiLMSuperResolver`: the same convolutions,
    sub-pixel up-sampling, skip connections, additive residual, training and chunked
    prediction, and the same parameters except ``tfilm``. The difference between the
    two measures what TFiLM adds. ``block_length``, ``rnn`` and ``modulation`` are kept
    so that parameters can be copied between the two, and have no effect here.

    Parameters
    ----------
    **params
        Every parameter of :class:`tsfilm.TFiLMSuperResolver` except ``tfilm``, with the
        same defaults.

    Attributes
    ----------
    module_ : TFiLMUNet
        The trained network, built with ``tfilm=False``.
    ratio_, n_channels_, scale_, n_features_in_, history_, n_epochs_, best_epoch_
        As in :class:`tsfilm.TFiLMSuperResolver`.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm.registry import make_model
    >>> t = np.arange(256) / 256
    >>> X_high = np.stack([np.sin(2 * np.pi * f * t) for f in (3, 5, 7, 11)])
    >>> est = make_model("conv", task="super_resolution", ratio=2, depth=2, width=0.05,
    ...                  patch_length=128, max_epochs=2, random_state=0)
    >>> est.fit(X_high).predict(X_high[:, ::2]).shape
    (4, 256)
    >>> est.module_.tfilm
    False
    """

    def __init__(
        self,
        ratio: int | None = None,
        *,
        lowpass: bool = True,
        patch_length: int = 8192,
        depth: int = 4,
        width: float = 1.0,
        max_filters: int = 512,
        block_length: int = 256,
        rnn: str = "lstm",
        modulation: str = "affine",
        skip: bool = True,
        residual: bool = True,
        dropout: float = 0.5,
        chunk_length: int | None = None,
        sample_rate: int | None = None,
        max_epochs: int = 50,
        batch_size: int = 16,
        learning_rate: float = 3e-4,
        validation_fraction: float = 0.1,
        patience: int | None = 10,
        device: Any = "auto",
        precision: str = "float32",
        n_threads: int | None = None,
        random_state: Any = None,
        verbose: int = 0,
        warm_start: bool = False,
    ) -> None:
        self.ratio = ratio
        self.lowpass = lowpass
        self.patch_length = patch_length
        self.depth = depth
        self.width = width
        self.max_filters = max_filters
        self.block_length = block_length
        self.rnn = rnn
        self.modulation = modulation
        self.skip = skip
        self.residual = residual
        self.dropout = dropout
        self.chunk_length = chunk_length
        self.sample_rate = sample_rate
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.precision = precision
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    def _network_kwargs(self) -> dict[str, Any]:
        return {**super()._network_kwargs(), "tfilm": False}
