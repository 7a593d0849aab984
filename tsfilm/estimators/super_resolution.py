"""Super-resolution estimators: low-rate signals in, high-rate signals out.

:class:`SuperResolverMixin` holds what every super-resolver shares (pairing and
validating the data, ``upsample``, ``score``); :class:`TFiLMSuperResolver` adds the
TFiLM U-Net on the shared training engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import RegressorMixin

from tsfilm._validation import Signals, check_signals
from tsfilm.estimators._base import TorchEstimator, document_engine_params
from tsfilm.nn import TFiLMUNet
from tsfilm.preprocessing import chunk_spans, degrade, overlap_add, spline_upsample
from tsfilm.registry import register

__all__ = ["SuperResolverMixin", "TFiLMSuperResolver"]


def _infer_ratio(n_low: int, n_high: int) -> int | None:
    """The integer r with ceil(n_high / r) == n_low, as :func:`degrade` produces."""
    r = max(1, round(n_high / n_low))
    for candidate in (r, r + 1, r - 1):
        if candidate >= 1 and -(-n_high // candidate) == n_low:
            return candidate
    return None


#: Hyper-parameters of TFiLMSuperResolver that are TFiLMUNet arguments of the same name.
_NETWORK_PARAMS = (
    "depth",
    "width",
    "max_filters",
    "block_length",
    "rnn",
    "modulation",
    "tfilm",
    "skip",
    "residual",
    "dropout",
)


class SuperResolverMixin(RegressorMixin):
    """The data side of a super-resolution regressor, shared by tsfilm and its plugins.

    Gives an estimator the contract of :class:`TFiLMSuperResolver`: ``fit(X_low,
    y_high)`` with the ratio read from the shapes, or ``fit(X_high)`` with a ``ratio``
    parameter (the low-rate inputs are then built with
    :func:`~tsfilm.preprocessing.degrade`); ``predict(X_low)`` returns high-rate signals
    in the layout of ``X_low``; ``upsample(signal)`` takes one signal; ``score`` is the
    mean SNR. It validates and pairs the data with the same messages everywhere, so
    every super-resolver can be swapped for another in a ``Pipeline`` or
    ``GridSearchCV``.

    The estimator provides the parameters ``ratio`` (int or None) and ``lowpass``
    (bool), sets the fitted attributes ``ratio_`` and ``n_channels_`` in ``fit``, and
    implements ``predict``. The mixin goes first among the bases, before
    ``BaseEstimator`` (or :class:`~tsfilm.estimators.TorchEstimator`). Its helpers for
    ``fit`` and ``predict``, which take and return validated signals
    (``.arrays`` of shape (n_series, n_channels, n_timesteps) or a list of
    (n_channels, n_timesteps_i) arrays; ``.restore(outputs)`` gives outputs back in the
    caller's layout):

    - ``_check_ratio_param()``: the ``ratio`` parameter is a positive integer or None.
    - ``_pairs(X, y) -> (low, high, ratio)``: validated low- and high-rate signals.
    - ``_continues_fit(ratio, high) -> bool``: whether a ``warm_start`` fit continues.
    - ``_set_n_features_in(low)``, ``_signal_scale(high) -> float`` (root mean square).
    - ``_upsample(low, ratio, lengths)``: the cubic spline to the high rate.
    - ``_check_predict_input(X) -> low``: fitted, valid, same channels as in ``fit``.

    Examples
    --------
    The cubic-spline baseline in a few lines:

    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator
    >>> from tsfilm.estimators import SuperResolverMixin
    >>> class Spline(SuperResolverMixin, BaseEstimator):
    ...     def __init__(self, ratio=None, lowpass=True):
    ...         self.ratio, self.lowpass = ratio, lowpass
    ...     def fit(self, X, y=None):
    ...         self._check_ratio_param()
    ...         low, high, self.ratio_ = self._pairs(X, y)
    ...         self.n_channels_ = high.n_channels
    ...         return self
    ...     def predict(self, X):
    ...         low = self._check_predict_input(X)
    ...         return low.restore(self._upsample(low, self.ratio_, low.lengths * self.ratio_))
    >>> t = np.arange(64) / 64
    >>> y = np.stack([np.sin(2 * np.pi * 3 * t), np.cos(2 * np.pi * 2 * t)])
    >>> est = Spline().fit(y[:, ::4], y)
    >>> est.ratio_, est.predict(y[:, ::4]).shape
    (4, (2, 64))
    >>> bool(est.score(y[:, ::4], y) > 30)
    True
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # fit(X_high) with `ratio` builds its own targets.
        tags.target_tags.required = False
        tags.target_tags.single_output = False
        tags.target_tags.multi_output = True
        return tags

    def _check_ratio_param(self) -> None:
        """Raise ValueError unless the ``ratio`` parameter is a positive integer or None."""
        if self.ratio is not None and (
            isinstance(self.ratio, bool)
            or not isinstance(self.ratio, (int, np.integer))
            or self.ratio < 1
        ):
            raise ValueError(f"ratio must be a positive integer or None, got {self.ratio!r}.")

    def _pairs(self, X, y) -> tuple[Signals, Signals, int]:
        """Validated (low, high) signals and the ratio."""
        if y is None:
            if self.ratio is None:
                raise ValueError(
                    "fit(X) without y degrades X to build the low-rate inputs and needs the "
                    "ratio: pass ratio=... (or give the pairs as fit(X_low, y_high))."
                )
            high = check_signals(X, name="X", min_length=2)
            degraded = (
                degrade(high.arrays, self.ratio, lowpass=self.lowpass)
                if high.is_dense
                else [degrade(a, self.ratio, lowpass=self.lowpass) for a in high.arrays]
            )
            return Signals(degraded, high.layout), high, int(self.ratio)
        low = check_signals(X, name="X")
        shape = None if isinstance(y, (list, tuple)) else np.asarray(y).shape
        if shape is not None and (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
            raise ValueError(
                f"y of shape {shape} is not a high-rate signal: y must hold the signals "
                "at the high rate, shape (n_series, n_high) or (n_series, n_channels, n_high), "
                "with n_high = ratio * n_low."
            )
        high = check_signals(y, name="y", min_length=2)
        if low.n_series != high.n_series:
            raise ValueError(
                f"X has {low.n_series} series but y has {high.n_series}; they must be paired."
            )
        if low.n_channels != high.n_channels:
            raise ValueError(
                f"X has {low.n_channels} channel(s) but y has {high.n_channels}; they must match."
            )
        ratios = {
            _infer_ratio(int(a), int(b)) for a, b in zip(low.lengths, high.lengths, strict=True)
        }
        if None in ratios or len(ratios) != 1:
            raise ValueError(
                "y is not a high-rate signal for X: the lengths of X and y do not form one "
                "integer ratio: y must have about r times as many time steps as X (r * len(X) "
                "or as degrade gives); got X lengths "
                f"{sorted(set(low.lengths.tolist()))[:4]} and y lengths "
                f"{sorted(set(high.lengths.tolist()))[:4]}."
            )
        ratio = ratios.pop()
        if ratio < 2:
            raise ValueError("y must be longer than X (ratio >= 2) for super-resolution.")
        if self.ratio is not None and ratio != self.ratio:
            raise ValueError(f"ratio={self.ratio} but the shapes of X and y give ratio {ratio}.")
        return low, high, ratio

    def _continues_fit(self, ratio: int, high: Signals) -> bool:
        """Whether ``fit`` continues a fitted model (``warm_start``), on matching data."""
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted

        if not getattr(self, "warm_start", False):
            return False
        try:
            check_is_fitted(self)
        except NotFittedError:
            return False
        if ratio != self.ratio_ or high.n_channels != self.n_channels_:
            raise ValueError(
                "warm_start needs data with the ratio and channels of the first fit "
                f"(ratio {self.ratio_}, {self.n_channels_} channel(s))."
            )
        return True

    @staticmethod
    def _signal_scale(signals: Signals) -> float:
        """Root mean square of the signals (1.0 for silence): networks see signals / it."""
        rms = float(
            np.sqrt(np.mean([np.mean(np.square(a, dtype=np.float64)) for a in signals.arrays]))
        )
        return rms if rms > 0 else 1.0

    def _set_n_features_in(self, low: Signals) -> None:
        """``n_features_in_`` is the low-rate length when X was one 2-D array, else unset."""
        if low.layout == "2d":
            self.n_features_in_ = int(low.arrays.shape[-1])
        elif hasattr(self, "n_features_in_"):
            del self.n_features_in_

    @staticmethod
    def _upsample(low: Signals, ratio: int, lengths: np.ndarray) -> list[np.ndarray] | np.ndarray:
        """Cubic-spline up-sampling of validated signals to the given high-rate lengths."""
        if low.is_dense:
            return spline_upsample(low.arrays, ratio, length=int(lengths[0]))
        return [
            spline_upsample(a, ratio, length=int(n))
            for a, n in zip(low.arrays, lengths, strict=True)
        ]

    def _check_predict_input(self, X) -> Signals:
        """Validated low-rate signals for ``predict``, from a fitted model with their channels."""
        low = check_signals(X, name="X")
        self._check_fitted_channels(low)
        return low

    def _check_fitted_channels(self, signals: Signals) -> None:
        """Raise NotFittedError before ``fit``, ValueError on another number of channels."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        if signals.n_channels != self.n_channels_:
            raise ValueError(
                f"X has {signals.n_channels} channel(s) but the model was trained on "
                f"{self.n_channels_}."
            )

    def upsample(self, signal) -> np.ndarray:
        """Up-sample one signal.

        Parameters
        ----------
        signal : array-like of shape (n_low,) or (n_channels, n_low)
            One low-rate signal (channels first).

        Returns
        -------
        ndarray of shape (n_low * ratio_,) or (n_channels, n_low * ratio_)
            The high-rate signal.
        """
        arr = np.asarray(signal)
        if arr.ndim not in (1, 2):
            raise ValueError(
                "upsample takes one signal of shape (n,) or (n_channels, n); got shape "
                f"{arr.shape}. Use predict for several series."
            )
        out = self.predict(arr[None, None, :] if arr.ndim == 1 else arr[None])
        return out[0, 0] if arr.ndim == 1 else out[0]

    def score(self, X, y, sample_weight=None) -> float:
        """Mean signal-to-noise ratio (dB) of ``predict(X)`` against ``y``.

        Parameters
        ----------
        X : array-like of shape (n_series, n_low) or (n_series, n_channels, n_low)
            Low-rate signals.
        y : array-like of shape (n_series, n_high) or (n_series, n_channels, n_high)
            High-rate references.
        sample_weight : None
            Not supported; present for the scikit-learn signature.

        Returns
        -------
        float
            Mean SNR in dB over the series (higher is better).
        """
        from tsfilm.metrics import snr

        if sample_weight is not None:
            raise ValueError("score does not support sample_weight.")
        y_true = check_signals(y, name="y")
        y_pred = self.predict(X)
        y_pred = check_signals(y_pred, name="y_pred")
        scores = []
        for a, b in zip(y_true.arrays, y_pred.arrays, strict=True):
            n = min(a.shape[-1], b.shape[-1])  # degrade's ceil leaves up to r - 1 extra samples
            scores.append(snr(a[None, :, :n], b[None, :, :n]))
        return float(np.mean(scores))


@register("tfilm", task="super_resolution")
class TFiLMSuperResolver(SuperResolverMixin, TorchEstimator):
    """Time-series super-resolution with a TFiLM U-Net (Birnbaum et al., 2019).

    The network receives the low-rate signal up-sampled to the target rate with a cubic
    spline and learns the residual that turns it into the high-rate signal. It trains on
    random patches of ``patch_length`` samples and predicts signals of any length in
    overlapping chunks, so memory does not grow with the length of a recording.

    Parameters
    ----------
    ratio : int or None, default=None
        Up-sampling ratio r. With paired data ``fit(X_low, y_high)`` it is read from the
        shapes (and checked against this value if given); ``fit(X_high)`` needs it to
        build the low-rate inputs itself with :func:`tsfilm.preprocessing.degrade`.
    lowpass : bool, default=True
        How ``fit(X_high)`` degrades: low-pass decimation (as in the paper) or plain
        subsampling.
    patch_length : int, default=8192
        Length of the training patches at the high rate (the paper's 8192). Series
        shorter than this train on their whole length.
    depth : int, default=4
        Number of down-sampling (and up-sampling) blocks K.
    width : float, default=1.0
        Multiplies every block's number of filters; below 1 gives CPU-sized models.
    max_filters : int, default=512
        Cap on the filters of a block.
    block_length : int, default=256
        TFiLM block length at the input rate; level k uses ``block_length // 2**k``.
    rnn : {"lstm", "gru", "bilstm"}, default="lstm"
        The recurrent network of the TFiLM layers ("bilstm" sees future blocks).
    modulation : {"affine", "scale"}, default="affine"
        The paper's FiLM (gamma and beta) or the authors' code (gamma only).
    tfilm, skip, residual : bool, default=True
        The paper's ablations: TFiLM layers, U-Net skip connections, additive residual.
    dropout : float, default=0.5
        Dropout rate of every block.
    chunk_length : int or None, default=None
        Length of the chunks ``predict`` runs the network on; None uses
        ``4 * patch_length``. Neighbouring chunks overlap by an eighth and are
        cross-faded.
    sample_rate : int or None, default=None
        Sample rate (Hz) of the high-rate signals, kept with the model so audio tools
        (``tsfilm upsample``) can check the rate of a file; not used in computation.
    {engine}

    Attributes
    ----------
    module_ : TFiLMUNet
        The trained network.
    ratio_ : int
        The up-sampling ratio learned from the data.
    n_channels_ : int
        Number of channels per series.
    scale_ : float
        Root mean square of the training targets; the network sees signals divided by it.
    n_features_in_ : int
        Number of low-rate time steps of the training series when they were passed as
        one 2-D array (``predict`` accepts any length).
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``valid_loss`` (None without validation),
        ``seconds``.
    n_epochs_ : int
        Epochs trained.
    best_epoch_ : int
        Epoch whose weights were kept.

    See Also
    --------
    tsfilm.preprocessing.degrade : Build low-rate signals from high-rate ones.
    tsfilm.preprocessing.spline_upsample : The cubic-spline baseline.
    tsfilm.metrics.snr : Signal-to-noise ratio, the default ``score``.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm import TFiLMSuperResolver
    >>> t = np.arange(256) / 256
    >>> X_high = np.stack([np.sin(2 * np.pi * f * t) for f in (3, 5, 7, 11)])
    >>> est = TFiLMSuperResolver(ratio=2, depth=2, width=0.05, max_epochs=2,
    ...                          patch_length=128, random_state=0)
    >>> est = est.fit(X_high)
    >>> est.predict(X_high[:, ::2]).shape
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
        patch_length: int = 8192,
        depth: int = 4,
        width: float = 1.0,
        max_filters: int = 512,
        block_length: int = 256,
        rnn: str = "lstm",
        modulation: str = "affine",
        tfilm: bool = True,
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
        self.tfilm = tfilm
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

    @classmethod
    def get_test_params(cls) -> dict[str, Any]:
        """Hyper-parameters of a very small, fast model, for tests and examples."""
        return {
            "depth": 2,
            "width": 0.05,
            "max_filters": 16,
            "block_length": 8,
            "patch_length": 64,
            "dropout": 0.0,
            "max_epochs": 2,
            "batch_size": 8,
            "random_state": 0,
        }

    # ------------------------------------------------------------------ data
    def _check_params(self) -> None:
        self._check_ratio_param()
        if not isinstance(self.patch_length, (int, np.integer)) or self.patch_length < 2:
            raise ValueError(f"patch_length must be an integer >= 2, got {self.patch_length!r}.")
        if self.chunk_length is not None and (
            not isinstance(self.chunk_length, (int, np.integer)) or self.chunk_length < 8
        ):
            raise ValueError(
                f"chunk_length must be an integer >= 8 or None, got {self.chunk_length!r}."
            )

    def _as_tensors(self, arrays: Iterable[np.ndarray]) -> list[torch.Tensor]:
        return [torch.as_tensor(np.asarray(a, dtype=np.float32) / self.scale_) for a in arrays]

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None) -> TFiLMSuperResolver:
        """Train on paired signals, or on high-rate signals degraded by ``ratio``.

        Parameters
        ----------
        X : array-like of shape (n_series, n_low) or (n_series, n_channels, n_low), or list
            Low-rate signals when ``y`` is given; otherwise the high-rate signals. A list
            of arrays of different lengths is accepted.
        y : array-like of shape (n_series, n_high) or (n_series, n_channels, n_high), or None
            High-rate targets, ``n_high = ratio * n_low`` (or the ``ceil`` relation of
            :func:`~tsfilm.preprocessing.degrade`).

        Returns
        -------
        self : TFiLMSuperResolver
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
        inputs = self._as_tensors(self._upsample(low, ratio, high.lengths))
        targets = self._as_tensors(high.arrays)
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

    def _network_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :class:`~tsfilm.nn.TFiLMUNet`, from hyper-parameters.

        The one place a variant changes the network. A hyper-parameter that a subclass's
        ``__init__`` leaves out is not passed (the Conv baseline has no ``tfilm`` and
        overrides this method to switch TFiLM off).
        """
        params = self.get_params(deep=False)
        return {
            "in_channels": self.n_channels_,
            **{name: params[name] for name in _NETWORK_PARAMS if name in params},
        }

    def _build_module(self) -> TFiLMUNet:
        return TFiLMUNet(**self._network_kwargs())

    def _patch_size(self, lengths: torch.Tensor) -> int:
        return int(min(self.patch_length, int(lengths.min())))

    def _train_batches(self, data, generator: torch.Generator) -> Iterator[tuple]:
        inputs, targets = data
        lengths = torch.tensor([t.shape[-1] for t in inputs])
        size = self._patch_size(lengths)
        room = (lengths - size + 1).double()
        n_patches = max(1, int(lengths.sum()) // size)
        series = torch.multinomial(room, n_patches, replacement=True, generator=generator)
        starts = (
            torch.rand(n_patches, generator=generator, dtype=torch.float64) * room[series]
        ).long()
        for b in range(0, n_patches, self.batch_size):
            pick = list(
                zip(
                    series[b : b + self.batch_size].tolist(),
                    starts[b : b + self.batch_size].tolist(),
                    strict=True,
                )
            )
            yield (
                torch.stack([inputs[s][:, t : t + size] for s, t in pick]),
                torch.stack([targets[s][:, t : t + size] for s, t in pick]),
            )

    def _valid_batches(self, data) -> Iterator[tuple]:
        inputs, targets = data
        lengths = torch.tensor([t.shape[-1] for t in inputs])
        size = self._patch_size(lengths)
        pick = [
            (s, t) for s, n in enumerate(lengths.tolist()) for t in range(0, n - size + 1, size)
        ]
        for b in range(0, len(pick), self.batch_size):
            part = pick[b : b + self.batch_size]
            yield (
                torch.stack([inputs[s][:, t : t + size] for s, t in part]),
                torch.stack([targets[s][:, t : t + size] for s, t in part]),
            )

    def _loss(self, module: torch.nn.Module, batch: tuple) -> torch.Tensor:
        x, y = batch
        # The authors' loss: root mean squared error per example, averaged.
        return torch.sqrt(torch.mean((module(x).float() - y) ** 2, dim=(1, 2)) + 1e-6).mean()

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
            ``n_high = n_low * ratio_``. The high-rate signals, in the layout of ``X``, as float32.
        """
        low = self._check_predict_input(X)
        return low.restore(self._run_network(low))

    def _chunking(self) -> tuple[int, int]:
        chunk = int(self.chunk_length or 4 * self.patch_length)
        return chunk, chunk // 8

    def _run_network(self, low: Signals) -> np.ndarray | list[np.ndarray]:
        """Spline-upsample and run the network, chunk by chunk for long signals."""
        chunk, overlap = self._chunking()
        ratio = self.ratio_
        with self._inference() as device:
            if low.is_dense and low.arrays.shape[-1] * ratio <= chunk:
                upsampled = spline_upsample(low.arrays, ratio)
                parts = [
                    self._forward(upsampled[b : b + self.batch_size], device)
                    for b in range(0, upsampled.shape[0], self.batch_size)
                ]
                return np.concatenate(parts, axis=0)
            return [self._forward_long(x, chunk, overlap, device) for x in low.arrays]

    def _spline_span(self, x_low: np.ndarray, start: int, stop: int) -> np.ndarray:
        """The spline-upsampled signal on [start, stop) at the high rate, from a window of
        low-rate samples with a margin: a cubic B-spline's dependence on a sample decays
        by about 0.27 per sample, so 16 samples of margin match the whole-signal spline to
        float32 precision while memory stays bounded by the chunk."""
        ratio, margin = self.ratio_, 16
        first = max(start // ratio - margin, 0)
        last = min(-(-stop // ratio) + margin, x_low.shape[-1])
        window = spline_upsample(x_low[:, first:last], ratio)
        offset = first * ratio
        if stop - offset > window.shape[-1]:  # the tail beyond the last low-rate sample
            window = spline_upsample(x_low[:, first:last], ratio, length=stop - offset)
        return window[:, start - offset : stop - offset]

    def _forward(self, x: np.ndarray, device: torch.device) -> np.ndarray:
        batch = torch.as_tensor(np.ascontiguousarray(x, dtype=np.float32) / self.scale_)
        out = self.module_(batch.to(device)).float().cpu().numpy()
        return out * np.float32(self.scale_)

    def _forward_long(self, x_low: np.ndarray, chunk: int, overlap: int, device) -> np.ndarray:
        """One (C, n_low) signal through the network in overlapping chunks, so memory
        holds the output and a few chunks, never a second copy of the whole signal."""
        length = x_low.shape[-1] * self.ratio_
        if length <= chunk:
            return self._forward(spline_upsample(x_low, self.ratio_)[None], device)[0]
        spans = chunk_spans(length, chunk, overlap)

        def outputs() -> Iterator[np.ndarray]:
            for b in range(0, len(spans), self.batch_size):
                group = spans[b : b + self.batch_size]
                inputs = [self._spline_span(x_low, s, e) for s, e in group]
                if all(stop - start == chunk for start, stop in group):
                    yield from self._forward(np.stack(inputs), device)
                else:
                    for x in inputs:
                        yield self._forward(x[None], device)[0]

        return overlap_add(outputs(), spans, length, overlap).astype(np.float32, copy=False)


document_engine_params(TFiLMSuperResolver)
