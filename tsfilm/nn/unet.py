"""The time-series super-resolution network of the paper: a 1-D U-Net with TFiLM layers."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from tsfilm.nn._checks import check_bool, check_input, check_int, check_option, check_real
from tsfilm.nn.conv import ALGORITHMS, Conv1d
from tsfilm.nn.dropout import Dropout
from tsfilm.nn.subpixel import SubPixel1d
from tsfilm.nn.tfilm import MODULATIONS, RNN_TYPES, TFiLM, check_causal

if TYPE_CHECKING:
    from tsfilm.streaming import UNetStream

__all__ = ["TFiLMUNet"]

_ACTIVATIONS = ("leaky_relu", "relu")


class CausalConv1d(Conv1d):
    """A :class:`torch.nn.Conv1d` padded on the left only: output step ``m`` reads input
    steps ``stride * m - kernel_size + 1`` to ``stride * m``, zeros before the start.

    Its parameters are those of a ``Conv1d`` of the same shape (same state-dict keys);
    ``algorithm`` is that of :class:`tsfilm.nn.conv.Conv1d`.

    Examples
    --------
    >>> import torch
    >>> conv = CausalConv1d(1, 1, kernel_size=3, stride=2)
    >>> x = torch.randn(1, 1, 10)
    >>> changed = x.clone()
    >>> changed[..., 5:] += 1.0  # output step m reads inputs up to 2 m
    >>> y, y_changed = conv(x), conv(changed)
    >>> y.shape[-1], torch.equal(y[..., :3], y_changed[..., :3])
    (5, True)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        algorithm: str = "auto",
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, algorithm=algorithm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve ``x`` of shape (N, C_in, T) into (N, C_out, ceil(T / stride))."""
        return super().forward(nn.functional.pad(x, (self.kernel_size[0] - 1, 0)))


class _Block(nn.Module):
    """Conv -> dropout -> activation [-> sub-pixel shuffle] [-> TFiLM]."""

    def __init__(
        self,
        conv: nn.Conv1d,
        dropout: float,
        activation: nn.Module,
        shuffle: bool,
        tfilm: TFiLM | None,
    ) -> None:
        super().__init__()
        self.conv = conv
        self.dropout = Dropout(dropout)
        self.activation = activation
        self.shuffle = SubPixel1d(2) if shuffle else nn.Identity()
        self.tfilm = tfilm if tfilm is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.shuffle(self.activation(self.dropout(self.conv(x))))
        return self.tfilm(x)


class TFiLMUNet(nn.Module):
    r"""1-D U-Net with TFiLM layers for time-series super-resolution and imputation.

    The network of appendix B of the paper. With ``K = depth`` and filter counts
    ``f_k = max(1, round(width * min(2**(6+k), max_filters)))``:

    * down block ``k = 1..K``: ``Conv1d(f_k, kernel max(2**(7-k) + 1, 9),
      stride 2)``, dropout, activation, TFiLM;
    * bottleneck: the same with ``k = K + 1``;
    * up block ``k = K..1``: ``Conv1d(2 f_k, same kernel as down block k,
      stride 1)``, dropout, ReLU (``up_activation``), ``SubPixel1d(2)`` (-> ``f_k``
      channels at twice the length), TFiLM, then concatenation with the output of down
      block ``k`` (-> ``2 f_k`` channels);
    * output: ``Conv1d(2 * out_channels, kernel 9)`` and ``SubPixel1d(2)``, its
      weights drawn from N(0, 1e-3**2) and bias zero so that, with the residual,
      training starts at the input signal;
    * residual: ``output = net(x) + x[:, :out_channels]``.

    With ``causal=True`` every layer reads only the past and present: each
    convolution is padded on the left only (:class:`CausalConv1d`: the stride-2
    down convolutions make step ``m`` of level ``k`` from input steps up to
    ``m * 2**k``, and the sub-pixel shuffles place what step ``m`` computes at
    steps ``2m`` and ``2m + 1`` of the level above, never earlier), and the TFiLM
    layers modulate each block with the RNN output of the blocks before it
    (:class:`~tsfilm.nn.TFiLM`'s ``causal``). Output step ``t`` then depends on
    input steps ``<= t`` only (bit for bit with ``conv_algorithm="direct"``; the FFT
    of the long kernels mixes a block's steps at the level of float rounding, about
    1e-7 of the signal): the network has no look-ahead, and
    :meth:`stream` runs it on chunks of any length with the same result as on the
    whole signal. The parameters are those of the non-causal network.
    ``lookahead=D`` then grants a fixed look-ahead of ``D`` steps: the network's
    part of output ``t`` is the causal network's output at step ``t + D`` (the
    input extended by repeating its last step), the residual stays ``x[t]``.

    Time is halved ``K + 1`` times, so inputs are padded at the end to a
    multiple of :attr:`length_multiple` ``= 2**(K+1)`` (repeating the last
    sample, which adds no jump to the signal) and the output is cropped back.

    The TFiLM layers at level ``k`` (time divided by ``2**k``), down and up, use
    block length ``max(block_length // 2**k, 1)``, so a block always spans about
    ``block_length`` input samples. The authors' code has 32 blocks in the down
    path at 8192 samples, which is ``block_length=256`` here; its up path uses
    block length 8 at every level, an accident not reproduced.

    With the paper configuration (``in_channels=1``, ``depth=4``, ``width=1``,
    ``max_filters=512``, ``rnn="lstm"``, ``modulation="affine"``, all switches on)
    the network has **71,190,274** parameters (:attr:`PAPER_PARAMETER_COUNT`).

    Parameters
    ----------
    in_channels : int, default=1
        Input channels (e.g. the signal, or values plus an observation mask).
    out_channels : int, optional
        Output channels; defaults to ``in_channels``.
    depth : int, default=4
        Number ``K`` of down (and up) blocks.
    width : float, default=1.0
        Multiplies every filter count (at least one filter per layer remains).
    max_filters : int, default=512
        Cap on the filter count before ``width`` is applied.
    block_length : int, default=256
        TFiLM block length, in input samples, see above.
    rnn : {"lstm", "gru", "bilstm"}, default="lstm"
        RNN of every TFiLM layer.
    modulation : {"affine", "scale"}, default="affine"
        Modulation of every TFiLM layer, see :class:`~tsfilm.nn.TFiLM`.
    tfilm : bool, default=True
        False removes every TFiLM layer (the paper's "Conv." baseline); no RNN
        parameters are created.
    skip : bool, default=True
        False removes the concatenation of down-path features (ablation of
        appendix F). As in the paper, every convolution keeps its filter count;
        the next up convolution (and the output one) just reads ``f_k`` instead
        of ``2 f_k`` channels.
    residual : bool, default=True
        Add ``x[:, :out_channels]`` to the output, so the network learns
        ``y - x``. Requires ``in_channels >= out_channels``; extra input channels
        (such as a mask) only feed the network.
    dropout : float, default=0.5
        Dropout rate after every convolution but the output one.
    activation : {"leaky_relu", "relu"}, default="leaky_relu"
        Activation of the down blocks and bottleneck; ``"leaky_relu"`` uses slope
        0.2 as the authors' code.
    up_activation : {"relu", "leaky_relu"}, default="relu"
        Activation of the up blocks: ReLU as in the authors' code, or LeakyReLU with
        slope 0.2, whose units cannot die (a ReLU unit whose input stays negative
        passes no gradient and stays off).
    causal : bool, default=False
        Make every layer causal, see above. Refuses ``rnn="bilstm"``.
    lookahead : int, default=0
        Input steps beyond ``t`` that output ``t`` may read, with ``causal=True`` (see
        above; a stream holds back that many output steps). Must be 0 otherwise.
    conv_algorithm : {"auto", "direct", "fft"}, default="auto"
        How every convolution is computed (:class:`tsfilm.nn.conv.Conv1d`): ``"auto"``
        uses the FFT (overlap-save) for the long kernels, where it is several times
        faster, and the direct kernel elsewhere; the results agree to float rounding.

    Attributes
    ----------
    down : torch.nn.ModuleList
        The ``K`` down blocks.
    bottleneck : torch.nn.Module
    up : torch.nn.ModuleList
        The ``K`` up blocks, deepest first.
    output : torch.nn.Conv1d
        The output convolution, followed by ``SubPixel1d(2)``.
    filters : tuple of int
        ``(f_1, ..., f_K, f_{K+1})``; the last is the bottleneck's.

    Examples
    --------
    >>> import torch
    >>> from tsfilm.nn import TFiLMUNet
    >>> net = TFiLMUNet(depth=2, width=0.125, block_length=32).eval()
    >>> net.length_multiple
    8
    >>> x = torch.randn(3, 1, 101)
    >>> tuple(net(x).shape)
    (3, 1, 101)
    >>> with torch.no_grad():
    ...     _ = net.output.weight.zero_()
    >>> torch.equal(net(x), x)
    True

    A causal network gives the same output when the future changes:

    >>> causal = TFiLMUNet(depth=2, width=0.125, block_length=32, causal=True).eval()
    >>> changed = x.clone()
    >>> changed[..., 60:] = 0.0
    >>> torch.equal(causal(x)[..., :60], causal(changed)[..., :60])
    True
    """

    #: Parameter count of ``TFiLMUNet()`` (the paper configuration).
    PAPER_PARAMETER_COUNT = 71_190_274

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int | None = None,
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
        activation: str = "leaky_relu",
        up_activation: str = "relu",
        causal: bool = False,
        lookahead: int = 0,
        conv_algorithm: str = "auto",
    ) -> None:
        super().__init__()
        in_channels = check_int(in_channels, "in_channels")
        out_channels = in_channels if out_channels is None else out_channels
        out_channels = check_int(out_channels, "out_channels")
        depth = check_int(depth, "depth")
        max_filters = check_int(max_filters, "max_filters")
        block_length = check_int(block_length, "block_length")
        width = check_real(width, "width", 0, None, closed="neither")
        dropout = check_real(dropout, "dropout", 0, 1, closed="left")
        activation = check_option(activation, "activation", _ACTIVATIONS)
        up_activation = check_option(up_activation, "up_activation", _ACTIVATIONS)
        # Checked even when tfilm=False: a typo should not wait for the switch.
        rnn = check_option(rnn, "rnn", RNN_TYPES)
        modulation = check_option(modulation, "modulation", MODULATIONS)
        tfilm = check_bool(tfilm, "tfilm")
        skip = check_bool(skip, "skip")
        residual = check_bool(residual, "residual")
        causal = check_bool(causal, "causal")
        check_causal(causal, rnn)
        lookahead = check_int(lookahead, "lookahead", minimum=0)
        conv_algorithm = check_option(conv_algorithm, "conv_algorithm", ALGORITHMS)
        if lookahead and not causal:
            raise ValueError(
                f"lookahead={lookahead} needs causal=True: the offline network already reads "
                "the whole signal."
            )
        if residual and in_channels < out_channels:
            raise ValueError(
                f"residual=True adds the first out_channels={out_channels} input channels to "
                f"the output, but the input has only in_channels={in_channels}; "
                "set residual=False or out_channels <= in_channels."
            )

        self.in_channels = in_channels
        self.out_channels = out_channels
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
        self.activation = activation
        self.up_activation = up_activation
        self.causal = causal
        self.lookahead = lookahead
        self.conv_algorithm = conv_algorithm

        self.filters = tuple(
            max(1, round(width * min(2 ** (6 + k), max_filters))) for k in range(1, depth + 2)
        )
        kernels = [max(2 ** (7 - k) + 1, 9) for k in range(1, depth + 2)]

        def make_tfilm(channels: int, level: int) -> TFiLM | None:
            if not self.tfilm:
                return None
            return TFiLM(
                channels,
                block_length=max(block_length // 2**level, 1),
                rnn=rnn,
                modulation=modulation,
                causal=causal,
            )

        def conv(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Conv1d:
            if causal:
                return CausalConv1d(c_in, c_out, kernel, stride=stride, algorithm=conv_algorithm)
            return Conv1d(
                c_in, c_out, kernel, stride=stride, padding=kernel // 2, algorithm=conv_algorithm
            )

        def make_activation(name: str) -> nn.Module:
            return nn.LeakyReLU(0.2) if name == "leaky_relu" else nn.ReLU()

        self.down = nn.ModuleList()
        channels = in_channels
        for level in range(1, depth + 2):
            f, kernel = self.filters[level - 1], kernels[level - 1]
            block = _Block(
                conv(channels, f, kernel, stride=2),
                dropout,
                make_activation(activation),
                shuffle=False,
                tfilm=make_tfilm(f, level),
            )
            if level <= depth:
                self.down.append(block)
            else:
                self.bottleneck = block
            channels = f

        self.up = nn.ModuleList()
        for level in range(depth, 0, -1):
            f, kernel = self.filters[level - 1], kernels[level - 1]
            self.up.append(
                _Block(
                    conv(channels, 2 * f, kernel),
                    dropout,
                    make_activation(up_activation),
                    shuffle=True,
                    tfilm=make_tfilm(f, level),
                )
            )
            channels = 2 * f if skip else f

        self.output = conv(channels, 2 * out_channels, 9)
        nn.init.normal_(self.output.weight, std=1e-3)
        nn.init.zeros_(self.output.bias)
        self.output_shuffle = SubPixel1d(2)

    @property
    def length_multiple(self) -> int:
        """Inputs are padded to a multiple of this length, ``2**(depth + 1)``."""
        return 2 ** (self.depth + 1)

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
            f"depth={self.depth}, filters={self.filters}, tfilm={self.tfilm}, "
            f"skip={self.skip}, residual={self.residual}"
            + (", causal=True" if self.causal else "")
            + (f", lookahead={self.lookahead}" if self.lookahead else "")
        )

    def stream(self, batch_size: int = 1, n_threads: int | None = 1) -> UNetStream:
        """A stream that runs this causal network on consecutive chunks of a signal.

        Parameters
        ----------
        batch_size : int, default=1
            Number ``N`` of signals streamed side by side.
        n_threads : int or None, default=1
            BLAS threads for the stream's matrix products while a chunk runs; None
            leaves NumPy's setting alone.

        Returns
        -------
        tsfilm.streaming.UNetStream
            ``stream.process(x)`` takes the next chunk, shape (N, in_channels, L) for
            any ``L >= 0``, and returns the next output steps as a float32 NumPy array
            (``L`` of them without ``lookahead``); ``stream.flush()`` returns those
            held back by ``lookahead`` at the end of the signal. It runs on the CPU
            with a copy of the weights made now: build it after training.

        Raises
        ------
        ValueError
            If the network is not causal.

        Examples
        --------
        >>> import numpy as np, torch
        >>> net = TFiLMUNet(depth=2, width=0.125, block_length=16, causal=True).eval()
        >>> x = torch.randn(1, 1, 50)
        >>> stream = net.stream()
        >>> y = np.concatenate([stream.process(x[..., :7]), stream.process(x[..., 7:])], -1)
        >>> with torch.no_grad():
        ...     bool(np.allclose(y, net(x).numpy(), atol=1e-6))
        True
        """
        from tsfilm.streaming import UNetStream

        return UNetStream(self, batch_size=batch_size, n_threads=n_threads)

    def _up_path(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Last up block's output (before the skip) and the output convolution's input."""
        check_input(x, self.in_channels, "C_in")
        pad = -x.shape[-1] % self.length_multiple
        h = nn.functional.pad(x, (0, pad), mode="replicate") if pad else x
        skips = []
        for block in self.down:
            h = block(h)
            skips.append(h)
        h = self.bottleneck(h)
        features = h
        for block, skip in zip(self.up, reversed(skips), strict=True):
            features = block(h)
            h = torch.cat([features, skip], dim=1) if self.skip else features
        return features, h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map an input signal to an output signal of the same length.

        Parameters
        ----------
        x : torch.Tensor of shape (N, in_channels, T)
            Any length ``T >= 1``.

        Returns
        -------
        torch.Tensor of shape (N, out_channels, T)
        """
        length, ahead = x.shape[-1], self.lookahead
        if ahead:
            check_input(x, self.in_channels, "C_in")
            _, h = self._up_path(nn.functional.pad(x, (0, ahead), mode="replicate"))
        else:
            _, h = self._up_path(x)
        y = self.output_shuffle(self.output(h))[:, :, ahead : ahead + length]
        if self.residual:
            y = y + x[:, : self.out_channels]
        return y

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Activations after the final TFiLM layer of the up path.

        These are the features the paper's t-SNE plots (figure 4) embed; average
        or max-pool them over time for one vector per series. With
        ``tfilm=False`` they are the same activations without modulation.

        Parameters
        ----------
        x : torch.Tensor of shape (N, in_channels, T)

        Returns
        -------
        torch.Tensor of shape (N, F, ceil(T / 2))
            ``F = f_1`` filters, at half the input rate; steps that only cover
            the padding are cropped.
        """
        features, _ = self._up_path(x)
        return features[:, :, : math.ceil(x.shape[-1] / 2)]
