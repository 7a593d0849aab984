"""Super-resolution estimators: low-rate signals in, high-rate signals out.

:class:`SuperResolverMixin` holds what every super-resolver shares (pairing and
validating the data, ``fit``/``predict``, ``upsample``, ``score``) and is the base for
plugins; :class:`UNetSuperResolver` adds a U-Net on the shared training engine, and
:class:`TFiLMSuperResolver` is the paper's model.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from numbers import Real
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from tsfilm.estimators._base import (
    UNET_CONSTRAINTS,
    TorchEstimator,
    document_engine_params,
    grid_windows,
    random_windows,
    unet_kwargs,
)
from tsfilm.nn import TFiLMUNet
from tsfilm.preprocessing import degrade, spline_upsample
from tsfilm.registry import register
from tsfilm.validation import Signals, StrictInterval, StrOptions, check_signals, int_at_least

if TYPE_CHECKING:
    from tsfilm.streaming import SuperResolutionStream

__all__ = [
    "SuperResolverMixin",
    "TFiLMSuperResolver",
    "UNetSuperResolver",
    "multi_resolution_stft_loss",
]


def _infer_ratio(n_low: int, n_high: int) -> int | None:
    """The integer r with ceil(n_high / r) == n_low, as :func:`degrade` produces."""
    r = max(1, round(n_high / n_low))
    for candidate in (r, r + 1, r - 1):
        if candidate >= 1 and -(-n_high // candidate) == n_low:
            return candidate
    return None


class SuperResolverMixin(RegressorMixin):
    """Base of every super-resolver, tsfilm's and plugins': the data contract.

    Gives an estimator the contract of :class:`TFiLMSuperResolver`: ``fit(X_low,
    y_high)`` with the ratio read from the shapes, or ``fit(X_high)`` with a ``ratio``
    parameter (the low-rate inputs are then built with
    :func:`~tsfilm.preprocessing.degrade`); ``predict(X_low)`` returns high-rate signals
    in the layout of ``X_low``; ``upsample(signal)`` takes one signal; ``score`` is the
    mean SNR. It validates and pairs the data with the same messages everywhere, so
    every super-resolver can be swapped for another in a ``Pipeline`` or
    ``GridSearchCV``.

    A subclass lists ``ratio`` (int or None) and ``lowpass`` (bool) among its
    parameters, puts the mixin first among its bases (before ``BaseEstimator`` or
    :class:`~tsfilm.estimators.TorchEstimator`) and implements two methods, which
    receive validated :class:`~tsfilm.validation.Signals` (``.arrays`` of shape
    (n_series, n_channels, n_timesteps), or a list of (n_channels, n_timesteps_i)
    arrays when lengths differ):

    ``fit_signals(low, high)``
        Learn from paired low- and high-rate signals. ``ratio_``, ``n_channels_`` and
        ``n_features_in_`` are already set.
    ``predict_signals(low) -> outputs``
        High-rate signals of ``low.lengths * ratio_`` samples, as one array or a list
        of arrays like ``low.arrays``.

    Its helpers :meth:`spline` (the cubic spline to the high rate) and
    :meth:`signal_scale` (root mean square) serve both.

    Examples
    --------
    A sample-and-hold super-resolver in a few lines:

    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator
    >>> from tsfilm.estimators import SuperResolverMixin
    >>> class Hold(SuperResolverMixin, BaseEstimator):
    ...     def __init__(self, ratio=None, lowpass=True):
    ...         self.ratio, self.lowpass = ratio, lowpass
    ...     def fit_signals(self, low, high):
    ...         pass
    ...     def predict_signals(self, low):
    ...         return [np.repeat(a, self.ratio_, axis=-1) for a in low.arrays]
    >>> t = np.arange(64) / 64
    >>> y = np.stack([np.sin(2 * np.pi * 3 * t), np.cos(2 * np.pi * 2 * t)])
    >>> est = Hold().fit(y[:, ::4], y)
    >>> est.ratio_, est.predict(y[:, ::4]).shape
    (4, (2, 64))
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "ratio": [int_at_least(2), None],
        "lowpass": ["boolean"],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # fit(X_high) with `ratio` builds its own targets.
        tags.target_tags.required = False
        tags.target_tags.single_output = False
        tags.target_tags.multi_output = True
        return tags

    # ------------------------------------------------------------------ hooks
    def fit_signals(self, low: Signals, high: Signals) -> None:
        """Learn from validated, paired low- and high-rate signals."""
        raise NotImplementedError  # pragma: no cover - abstract

    def predict_signals(self, low: Signals) -> np.ndarray | list[np.ndarray]:
        """High-rate outputs for validated low-rate signals."""
        raise NotImplementedError  # pragma: no cover - abstract

    # ------------------------------------------------------------------ fit / predict
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn from paired signals, or from high-rate signals degraded by ``ratio``.

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
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            If ``y`` is not a high-rate signal for ``X``, the shapes give no integer
            ratio, ``fit(X)`` is called without ``ratio``, or the input has NaN,
            infinity or the wrong number of dimensions.
        """
        low, high, ratio = self._pairs(X, y)
        if not self._continues_fit(ratio, high):
            self.ratio_ = ratio
            self.n_channels_ = high.n_channels
        if low.layout == "2d":
            self.n_features_in_ = int(low.arrays.shape[-1])
        elif hasattr(self, "n_features_in_"):
            del self.n_features_in_
        self.fit_signals(low, high)
        return self

    def predict(self, X) -> np.ndarray | list[np.ndarray]:
        """Up-sample low-rate signals.

        Parameters
        ----------
        X : array-like of shape (n_series, n_low) or (n_series, n_channels, n_low), or list
            Low-rate signals of any length, at the rate the model was trained for.

        Returns
        -------
        y_pred : ndarray of shape (n_series, n_high) or (n_series, n_channels, n_high), or list
            ``n_high = n_low * ratio_``: the high-rate signals, in the layout of ``X``.
        """
        check_is_fitted(self)
        low = check_signals(X, name="X")
        self._check_channels(low)
        return low.restore(self.predict_signals(low))

    # ------------------------------------------------------------------ helpers
    def _pairs(self, X, y) -> tuple[Signals, Signals, int]:
        """Validated (low, high) signals and the ratio."""
        if y is None:
            if self.ratio is None:
                raise ValueError(
                    "fit(X) without y degrades X to build the low-rate inputs and needs the "
                    "ratio: pass ratio=... (or give the pairs as fit(X_low, y_high))."
                )
            high = check_signals(X, name="X", min_length=2)
            return self._degrade(high, int(self.ratio)), high, int(self.ratio)
        low = check_signals(X, name="X")
        shape = None if isinstance(y, (list, tuple)) else np.asarray(y).shape
        if shape is not None and (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
            raise ValueError(
                f"y of shape {shape} is not a high-rate signal: y must hold the signals "
                "at the high rate, shape (n_series, n_high) or (n_series, n_channels, n_high), "
                "with n_high = ratio * n_low."
            )
        high = check_signals(y, name="y", min_length=2)
        ratio = self._pair_ratio(low, high)
        if self.ratio is not None and ratio != self.ratio:
            raise ValueError(f"ratio={self.ratio} but the shapes of X and y give ratio {ratio}.")
        return low, high, ratio

    def _degrade(self, high: Signals, ratio: int) -> Signals:
        """The low-rate signals that ``fit(X_high)`` trains from."""
        if high.is_dense:
            return Signals(degrade(high.arrays, ratio, lowpass=self.lowpass), high.layout)
        return Signals([degrade(a, ratio, lowpass=self.lowpass) for a in high.arrays], high.layout)

    @staticmethod
    def _pair_ratio(low: Signals, high: Signals) -> int:
        """The one integer ratio between paired low- and high-rate signals."""
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
        return ratio

    def _check_channels(self, low: Signals) -> None:
        if low.n_channels != self.n_channels_:
            raise ValueError(
                f"X has {low.n_channels} channel(s) but the model was trained on "
                f"{self.n_channels_}."
            )

    def _continues_fit(self, ratio: int, high: Signals) -> bool:
        """Whether ``fit`` continues a fitted model (``warm_start``), on matching data."""
        if not (getattr(self, "warm_start", False) and hasattr(self, "ratio_")):
            return False
        if ratio != self.ratio_ or high.n_channels != self.n_channels_:
            raise ValueError(
                "warm_start needs data with the ratio and channels of the first fit "
                f"(ratio {self.ratio_}, {self.n_channels_} channel(s))."
            )
        return True

    @staticmethod
    def signal_scale(signals: Signals) -> float:
        """Root mean square of the signals (1.0 for silence).

        Computed relative to the peak, so that signals beyond float32's range (or whose
        squares overflow float64) still give a finite scale.

        Parameters
        ----------
        signals : Signals
            Validated signals.

        Returns
        -------
        float
            The root mean square over every sample of every series.
        """
        peak = max(float(np.max(np.abs(a))) for a in signals.arrays)
        if peak == 0:
            return 1.0
        mean_square = np.mean(
            [np.mean(np.square(np.asarray(a, dtype=np.float64) / peak)) for a in signals.arrays]
        )
        return peak * float(np.sqrt(mean_square))

    def normalize(self, x: np.ndarray) -> np.ndarray:
        """``x / scale_`` as the float32 a network reads (divided in ``x``'s precision)."""
        return np.ascontiguousarray(np.asarray(x) / self.scale_, dtype=np.float32)

    def denormalize(self, y: np.ndarray, dtype) -> np.ndarray:
        """A network's output times ``scale_``, in ``dtype`` (the input's float type)."""
        return np.asarray(y, dtype=dtype) * np.asarray(self.scale_, dtype=dtype)

    def spline(self, low: Signals, lengths=None) -> np.ndarray | list[np.ndarray]:
        """Cubic-spline up-sampling of validated signals by ``ratio_``.

        Parameters
        ----------
        low : Signals
            Validated low-rate signals.
        lengths : array-like of int, optional
            High-rate length of every series; ``low.lengths * ratio_`` by default.

        Returns
        -------
        ndarray or list of ndarray
            Like ``low.arrays``, at the high rate.
        """
        ratio = self.ratio_
        lengths = low.lengths * ratio if lengths is None else np.asarray(lengths)
        if low.is_dense:
            return spline_upsample(low.arrays, ratio, length=int(lengths[0]))
        return [
            spline_upsample(a, ratio, length=int(n))
            for a, n in zip(low.arrays, lengths, strict=True)
        ]

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

    def score(self, X, y=None, sample_weight=None) -> float:
        """Mean signal-to-noise ratio (dB) of the up-sampled ``X`` against ``y``.

        Parameters
        ----------
        X : array-like of shape (n_series, n_low) or (n_series, n_channels, n_low), or list
            Low-rate signals; with ``y=None``, high-rate signals, degraded as
            ``fit(X_high)`` does (so ``GridSearchCV`` works on high-rate data alone).
        y : array-like of shape (n_series, n_high) or (n_series, n_channels, n_high), or None
            High-rate references, paired with ``X`` as in ``fit``.
        sample_weight : None
            Not supported; present for the scikit-learn signature.

        Returns
        -------
        float
            Mean SNR in dB over the series (higher is better).

        Raises
        ------
        ValueError
            If ``y`` is not paired with ``X`` at the fitted ratio (other number of series,
            channels or lengths).
        """
        from tsfilm.metrics import snr

        if sample_weight is not None:
            raise ValueError("score does not support sample_weight.")
        check_is_fitted(self)
        if y is None:
            high = check_signals(X, name="X", min_length=2)
            low = self._degrade(high, self.ratio_)
        else:
            low, high = check_signals(X, name="X"), check_signals(y, name="y", min_length=2)
            if self._pair_ratio(low, high) != self.ratio_:
                raise ValueError(
                    f"y is not paired with X at the fitted ratio {self.ratio_}: X lengths "
                    f"{sorted(set(low.lengths.tolist()))[:4]}, y lengths "
                    f"{sorted(set(high.lengths.tolist()))[:4]}."
                )
        self._check_channels(low)
        scores = []
        for a, b in zip(high.arrays, self.predict_signals(low), strict=True):
            n = a.shape[-1]  # degrade's ceil leaves up to r - 1 extra predicted samples
            scores.append(snr(a[None], b[None, :, :n]))
        return float(np.mean(scores))


#: (FFT size, hop) of :func:`multi_resolution_stft_loss`.
STFT_RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))


def _stft_magnitude(signal: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, device=signal.device, dtype=signal.dtype)
    spec = torch.stft(signal, n_fft, hop, window=window, center=False, return_complex=True)
    return spec.abs().clamp_min(1e-7)


def multi_resolution_stft_loss(
    y_hat: torch.Tensor,
    y: torch.Tensor,
    resolutions: Sequence[tuple[int, int]] = STFT_RESOLUTIONS,
) -> torch.Tensor:
    """Multi-resolution STFT loss: spectral convergence plus mean absolute log-magnitude
    difference, averaged over the resolutions (Yamamoto et al., Parallel WaveGAN, 2020).

    The spectral convergence takes its norms over the whole batch, as the reference
    does, so a silent example in a batch does not blow the loss up.

    Parameters
    ----------
    y_hat, y : torch.Tensor of shape (N, C, T)
        Prediction and target, of the same shape, ``T`` at least the smallest FFT size.
        FFT sizes longer than ``T`` are left out.
    resolutions : sequence of (int, int), default=STFT_RESOLUTIONS
        (FFT size, hop) pairs; each frame has a Hann window of the FFT size.

    Returns
    -------
    torch.Tensor
        A scalar; 0 when ``y_hat`` equals ``y``.

    Raises
    ------
    ValueError
        If the shapes differ, or ``T`` is shorter than every FFT size.

    Examples
    --------
    >>> import torch
    >>> from tsfilm.estimators import multi_resolution_stft_loss
    >>> y = torch.randn(2, 1, 4096)
    >>> float(multi_resolution_stft_loss(y, y))
    0.0
    >>> bool(multi_resolution_stft_loss(y + 0.1 * torch.randn_like(y), y) > 0)
    True
    """
    if y_hat.shape != y.shape or y.ndim != 3:
        raise ValueError(
            "multi_resolution_stft_loss needs a prediction and a target of one shape "
            f"(N, C, T); got {tuple(y_hat.shape)} and {tuple(y.shape)}."
        )
    length = y.shape[-1]
    fitting = [(n_fft, hop) for n_fft, hop in resolutions if n_fft <= length]
    if not fitting:
        smallest = min(n_fft for n_fft, _ in resolutions)
        raise ValueError(
            f"The STFT loss needs signals of at least {smallest} samples (its smallest FFT "
            f"size); got {length}. Use longer patches (patch_length) or stft_weight=0."
        )
    flat_hat, flat = y_hat.reshape(-1, length).float(), y.reshape(-1, length).float()
    terms = []
    for n_fft, hop in fitting:
        m_hat, m = _stft_magnitude(flat_hat, n_fft, hop), _stft_magnitude(flat, n_fft, hop)
        convergence = torch.linalg.vector_norm(m - m_hat) / torch.linalg.vector_norm(m)
        terms.append(convergence + (m.log() - m_hat.log()).abs().mean())
    return torch.stack(terms).mean()


class UNetSuperResolver(SuperResolverMixin, TorchEstimator):
    """Super-resolution with a :class:`~tsfilm.nn.TFiLMUNet`: the shared body of
    :class:`TFiLMSuperResolver` and the Conv baseline.

    The network receives the low-rate signal up-sampled to the target rate with a cubic
    spline and learns the residual that turns it into the high-rate signal. It trains on
    random patches of ``patch_length`` samples and predicts signals of any length in
    overlapping chunks, so memory does not grow with the length of a recording.

    A subclass defines ``__init__`` with ``ratio``, ``lowpass``, ``patch_length``,
    ``chunk_length``, ``sample_rate``, the engine's parameters and any of the U-Net's
    (:data:`~tsfilm.estimators.UNET_CONSTRAINTS`); U-Net arguments it does not expose
    take the class attribute ``network_defaults`` or the U-Net's defaults. A subclass
    with a ``causal`` parameter (and ``"causal": ["boolean"]`` among its constraints)
    gets the causal model of :class:`TFiLMSuperResolver` and :meth:`stream`.
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SuperResolverMixin._parameter_constraints,
        **TorchEstimator._parameter_constraints,
        **UNET_CONSTRAINTS,
        "patch_length": [int_at_least(2)],
        "chunk_length": [int_at_least(8), None],
        "sample_rate": [int_at_least(1), None],
        "stft_weight": [StrictInterval(Real, 0, None, closed="left")],
    }
    #: Parameters added after model files were first written, with the value that
    #: reproduces a file that lacks them.
    _legacy_params: ClassVar[dict[str, Any]] = {"up_activation": "relu"}
    _saved_attributes: ClassVar[tuple[str, ...]] = (
        *TorchEstimator._saved_attributes,
        "ratio_",
        "n_channels_",
        "scale_",
        "n_features_in_",
    )
    #: U-Net arguments fixed by the class (the Conv baseline sets ``{"tfilm": False}``).
    network_defaults: ClassVar[dict[str, Any]] = {}

    # ------------------------------------------------------------------ fit
    def fit_signals(self, low: Signals, high: Signals) -> None:
        """Train the network on interpolated ``low`` against ``high``."""
        if not self.continues_training():
            self.scale_ = self.signal_scale(high)
        elif self._module_layout() != self._layout():
            self._relayout_module()
        inputs = self._tensors(self.interpolate(low, high.lengths))
        targets = self._tensors(high.arrays)
        self.run_training((inputs, targets))

    def _tensors(self, arrays) -> list[torch.Tensor]:
        return [torch.from_numpy(self.normalize(a)) for a in arrays]

    @property
    def _causal(self) -> bool:
        return bool(getattr(self, "causal", False))

    @property
    def _causal_input(self) -> str:
        return str(getattr(self, "causal_input", "lagrange"))

    def interpolate(self, low: Signals, lengths=None) -> np.ndarray | list[np.ndarray]:
        """The network's input: ``low`` interpolated to the high rate.

        The cubic spline (:meth:`spline`), or with ``causal=True``
        :func:`tsfilm.streaming.causal_upsample` of kind ``causal_input``, which looks
        a few low-rate samples ahead.

        Parameters
        ----------
        low : Signals
            Validated low-rate signals.
        lengths : array-like of int, optional
            High-rate length of every series; ``low.lengths * ratio_`` by default.

        Returns
        -------
        ndarray or list of ndarray
            Like ``low.arrays``, at the high rate.
        """
        if not self._causal:
            return self.spline(low, lengths)
        from tsfilm.streaming import causal_upsample

        ratio = self.ratio_
        lengths = low.lengths * ratio if lengths is None else np.asarray(lengths)
        kind = self._causal_input
        if low.is_dense:
            return causal_upsample(low.arrays, ratio, length=int(lengths[0]), kind=kind)
        return [
            causal_upsample(a, ratio, length=int(n), kind=kind)
            for a, n in zip(low.arrays, lengths, strict=True)
        ]

    def _layout(self) -> tuple[bool, int]:
        """(causal, lookahead) of the network the hyper-parameters describe."""
        return (self._causal, int(getattr(self, "lookahead", 0)) if self._causal else 0)

    def _module_layout(self) -> tuple[bool, int]:
        """(causal, lookahead) of the fitted network."""
        module = self.module_
        return (bool(getattr(module, "causal", False)), int(getattr(module, "lookahead", 0)))

    def _relayout_module(self) -> None:
        """Rebuild the fitted network as ``causal`` and ``lookahead`` now say, with its
        weights: a causal U-Net has the parameters of the offline one, so a warm-started
        ``fit`` turns an offline model into a causal one (or changes the look-ahead) and
        fine-tunes it."""
        module = self.build_module()
        module.load_state_dict(self.module_.state_dict())
        self.module_ = module

    def _check_layout(self) -> None:
        """Refuse to predict with a network that ``causal``/``lookahead`` no longer describe."""
        if self._module_layout() != self._layout():
            causal, lookahead = self._module_layout()
            raise ValueError(
                f"The fitted network has causal={causal} and lookahead={lookahead}, but the "
                f"parameters now say causal={self._causal} and lookahead="
                f"{self._layout()[1]}: a change of causal or lookahead takes effect at the next "
                "fit (with warm_start=True that fit starts from the fitted weights)."
            )

    def build_module(self) -> TFiLMUNet:
        """The U-Net, from the hyper-parameters and ``n_channels_``."""
        causal = (
            {"causal": True, "lookahead": int(getattr(self, "lookahead", 0))}
            if self._causal
            else {}
        )
        return TFiLMUNet(**unet_kwargs(self, in_channels=self.n_channels_), **causal)

    def _patch(self, fields) -> int:
        return int(min(self.patch_length, min(t.shape[-1] for t in fields[0])))

    def train_batches(self, data, generator: torch.Generator):
        """Random patches of ``patch_length`` (or the shortest series), batched."""
        return random_windows(data, self._patch(data), self.batch_size, generator)

    def valid_batches(self, data):
        """Patches covering every validation series."""
        return grid_windows(data, self._patch(data), self.batch_size)

    def compute_loss(self, module: torch.nn.Module, batch: tuple) -> torch.Tensor:
        """The authors' loss, root mean squared error per example, averaged; plus
        ``stft_weight`` times :func:`multi_resolution_stft_loss` where that is set."""
        x, y = batch
        y_hat = module(x).float()
        loss = torch.sqrt(torch.mean((y_hat - y) ** 2, dim=(1, 2)) + 1e-6).mean()
        weight = float(getattr(self, "stft_weight", 0.0))
        if weight:
            loss = loss + weight * multi_resolution_stft_loss(y_hat, y)
        return loss

    def splits_batches(self) -> bool:
        """True for this class's loss without the STFT term, whose norms span the whole
        batch; False for a subclass with a loss of its own (it says so itself)."""
        own = type(self).compute_loss is UNetSuperResolver.compute_loss
        return own and not float(getattr(self, "stft_weight", 0.0))

    # ------------------------------------------------------------------ predict
    def predict_signals(self, low: Signals) -> list[np.ndarray]:
        """Interpolate and run the network in chunks, batched: overlapping and
        cross-faded, or with ``causal=True`` consecutive with state carried."""
        self._check_layout()
        if self._causal:
            return self._predict_causal(low)
        chunk = int(self.chunk_length or 4 * self.patch_length)
        dtype = low.series(0).dtype
        with self.inference() as device:

            def forward(x: np.ndarray) -> np.ndarray:
                batch = torch.from_numpy(self.normalize(x)).to(device)
                return self.denormalize(self.module_(batch).float().cpu().numpy(), dtype)

            def window(i: int, start: int, stop: int) -> np.ndarray:
                return self._spline_span(low.series(i), start, stop)

            return list(
                self.forward_windows(
                    low.lengths * self.ratio_, window, forward, window=chunk, overlap=chunk // 8
                )
            )

    def _predict_causal(self, low: Signals) -> list[np.ndarray]:
        """The causal network on whole signals, batched by length.

        A signal of at most ``chunk_length`` samples goes through the network in one
        call; a longer one through :meth:`TFiLMUNet.stream <tsfilm.nn.TFiLMUNet.stream>`
        on the CPU, which carries every layer's state from piece to piece, so the result
        is the network on the whole signal (up to float rounding) in memory bounded by
        the piece.
        """
        from threadpoolctl import threadpool_limits

        from tsfilm.streaming import causal_upsample

        chunk = int(self.chunk_length or 4 * self.patch_length)
        dtype = low.series(0).dtype
        ratio = self.ratio_
        outputs: list[np.ndarray] = []
        with self.inference() as device:
            module = self.module_

            def forward(batch: list[np.ndarray]) -> np.ndarray:
                x = self.normalize(
                    np.stack([causal_upsample(a, ratio, kind=self._causal_input) for a in batch])
                )
                if x.shape[-1] <= chunk:
                    y = module(torch.from_numpy(x).to(device)).float().cpu().numpy()
                else:
                    stream, piece = module.stream(batch_size=x.shape[0]), min(chunk, 4096)
                    with threadpool_limits(torch.get_num_threads(), user_api="blas"):
                        pieces = range(0, x.shape[-1], piece)
                        y = [stream.process(x[..., i : i + piece]) for i in pieces]
                        y = np.concatenate([*y, stream.flush()], axis=-1)
                return self.denormalize(y, dtype)

            # Consecutive series of one length share batches.
            for _, group in itertools.groupby(range(low.n_series), key=lambda i: low.lengths[i]):
                series = (low.series(i) for i in group)
                outputs.extend(self.forward_batches(series, forward))
        return outputs

    def stream(self, n_threads: int | None = 1) -> SuperResolutionStream:
        """A stream that up-samples one signal chunk by chunk (causal models only).

        Parameters
        ----------
        n_threads : int or None, default=1
            BLAS threads for the stream's matrix products while a chunk runs (one is
            fastest on chunks of a few milliseconds and does not collapse when other
            work shares the cores); None leaves NumPy's setting alone.

        Returns
        -------
        tsfilm.streaming.SuperResolutionStream
            ``stream.process(chunk)`` takes the next low-rate samples, of any number,
            shape (n,) or (n_channels, n), and returns the high-rate samples that are
            ready; ``stream.flush()`` returns the last ones. Together they equal
            ``predict`` of the whole signal. See :doc:`/user_guide/streaming`.

        Raises
        ------
        ValueError
            If the model was not fitted with ``causal=True``, or ``causal`` or
            ``lookahead`` changed since the fit.
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        """
        from tsfilm.streaming import SuperResolutionStream

        return SuperResolutionStream(self, n_threads=n_threads)

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


@register("tfilm", task="super_resolution")
class TFiLMSuperResolver(UNetSuperResolver):
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
    causal : bool, default=False
        A model for streaming (:doc:`/user_guide/streaming`): the input is interpolated
        with :func:`tsfilm.streaming.causal_upsample` (``causal_input``) instead of the
        cubic spline, and every layer of the network reads
        only past and present samples (:class:`~tsfilm.nn.TFiLMUNet`'s ``causal``;
        each TFiLM block is modulated from the blocks before it). ``predict`` runs the
        network on whole signals (those longer than ``chunk_length`` through the
        streaming engine, on the CPU), and :meth:`stream` gives the same output chunk
        by chunk. Needs ``rnn="lstm"`` or ``"gru"``. The causal network has the
        offline one's weights: on a fitted model, a new ``causal`` (or ``lookahead``)
        takes effect at the next ``fit``, which with ``warm_start=True`` fine-tunes the
        fitted weights in the new network (``predict`` refuses until then).
    causal_input : {"sinc", "lagrange"}, default="sinc"
        With ``causal=True``, the interpolation the network adds its output to:
        ``"sinc"``, a Kaiser-windowed sinc over 16 low-rate samples, 8 of them ahead
        (0.16 dB above the cubic spline on low-pass decimated speech at r = 2), or
        ``"lagrange"``, a degree-5 polynomial through 6 samples, 3 ahead (0.18 dB below
        it). Model files written before this parameter existed load with
        ``"lagrange"``, the interpolation they were trained on.
    lookahead : int, default=0
        With ``causal=True``, high-rate samples the network may read ahead (besides
        the interpolation's own look-ahead); adds ``lookahead / sample_rate`` seconds
        of latency to a stream. A few milliseconds recover part of the offline
        model's gain (:doc:`/user_guide/streaming`).
    stft_weight : float, default=0.0
        Weight of a multi-resolution STFT loss
        (:func:`~tsfilm.estimators.multi_resolution_stft_loss`: spectral
        convergence and log-magnitude distance at FFT sizes 512, 1024 and 2048) added to
        the waveform RMSE, as newer super-resolution systems train; 0 trains on the
        RMSE alone, as the paper's authors did.
    dropout : float, default=0.5
        Dropout rate of every block.
    up_activation : {"relu", "leaky_relu"}, default="relu"
        Activation of the up blocks (:class:`~tsfilm.nn.TFiLMUNet`): ReLU as in the
        paper's code, or LeakyReLU with slope 0.2, whose units cannot die. In the
        training-recipe experiment (:doc:`/user_guide/benchmarks`) the last up block's
        ReLUs died in 16 of 39 three-minute TFiLM speech models, which then scored about
        0.4 dB SNR lower; with LeakyReLU none did and LSD was lower, so the recipe of
        ``benchmarks/pretrain.py`` uses it.
    chunk_length : int or None, default=None
        Length of the chunks ``predict`` runs the network on; None uses
        ``4 * patch_length``. Neighbouring chunks overlap by an eighth and are
        cross-faded; with ``causal=True`` they do not overlap but carry the state of
        every layer, so the result is that of the whole signal.
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

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **UNetSuperResolver._parameter_constraints,
        "causal": ["boolean"],
        "causal_input": [StrOptions({"sinc", "lagrange"})],
        "lookahead": [int_at_least(0)],
    }
    #: Parameters added after model files were first written, with the value that
    #: reproduces a file that lacks them.
    _legacy_params: ClassVar[dict[str, Any]] = {
        **UNetSuperResolver._legacy_params,
        "causal_input": "lagrange",
    }

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
        causal: bool = False,
        causal_input: str = "sinc",
        lookahead: int = 0,
        stft_weight: float = 0.0,
        dropout: float = 0.5,
        up_activation: str = "relu",
        chunk_length: int | None = None,
        sample_rate: int | None = None,
        max_epochs: int = 50,
        batch_size: int = 16,
        learning_rate: float = 3e-4,
        validation_fraction: float = 0.1,
        patience: int | None = 10,
        max_time: float | None = None,
        device: Any = "auto",
        precision: str = "auto",
        n_threads: int | str | None = "auto",
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
        self.causal = causal
        self.causal_input = causal_input
        self.lookahead = lookahead
        self.stft_weight = stft_weight
        self.dropout = dropout
        self.up_activation = up_activation
        self.chunk_length = chunk_length
        self.sample_rate = sample_rate
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.max_time = max_time
        self.device = device
        self.precision = precision
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    @classmethod
    def from_pretrained(cls, name: str, **params: Any) -> TFiLMSuperResolver:
        """A fitted model that ships with tsfilm (:doc:`/user_guide/pretrained`).

        Parameters
        ----------
        name : str
            "speech-r2" (8 kHz -> 16 kHz), "speech-r4" (4 kHz -> 16 kHz) or "piano-r4";
            see :func:`tsfilm.pretrained.list_pretrained`.
        **params
            Hyper-parameters to set, e.g. ``warm_start=True`` to fine-tune with ``fit``.

        Returns
        -------
        TFiLMSuperResolver
            The fitted estimator; ``sample_rate`` is its output rate in Hz.

        Examples
        --------
        >>> from tsfilm import TFiLMSuperResolver
        >>> est = TFiLMSuperResolver.from_pretrained("speech-r2")
        >>> est.ratio_, est.sample_rate
        (2, 16000)
        """
        from tsfilm import pretrained

        est = pretrained.load(name, **params)
        if not isinstance(est, cls):
            raise TypeError(
                f"The pretrained model {name!r} is a {type(est).__name__}, not a {cls.__name__}."
            )
        return est

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Test settings (``parameter_set="default"``): a tiny U-Net, and a deeper one with GRU
        scale-only TFiLM.
        """
        tiny = {
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
        return [tiny, {**tiny, "depth": 3, "rnn": "gru", "modulation": "scale", "dropout": 0.1}]


document_engine_params(TFiLMSuperResolver)
