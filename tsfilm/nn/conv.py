"""1-D convolutions that pick the fastest exact algorithm: direct or FFT (overlap-save).

The U-Net's long kernels (65 and 33 taps with 32 to 1024 channels) make its direct
convolutions cost ``C_in * C_out * kernel`` multiply-adds per output step, the bulk of a
training step. The same convolution computed in the frequency domain, on overlapping
blocks of ``nfft`` steps (overlap-save), costs about ``8 * C_in * C_out`` real flops per
frequency bin and block, a few FFTs, and no more memory than the blocks: 5 to 30 times
fewer flops for these kernels. The result is the same convolution up to float rounding
(relative error about 1e-7 in float32), and autograd differentiates it as usual.

:class:`Conv1d` is a :class:`torch.nn.Conv1d` (same parameters, same state-dict keys)
whose ``algorithm="auto"`` chooses per call with :func:`use_fft`, a rule fitted to
measurements of both algorithms on the U-Net's shapes (``benchmarks/speed.py``, section
"Convolution algorithms"): FFT where the kernel is long, the channels many and the
output long enough to fill the blocks; direct elsewhere (short kernels, few channels,
the short chunks of a stream). Stride 2 goes through the FFT as a stride-1 convolution
of the even and odd phases stacked as channels (polyphase), which is exact.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ALGORITHMS", "Conv1d", "fft_conv1d", "use_fft"]

#: Accepted values of :class:`Conv1d`'s ``algorithm``.
ALGORITHMS = ("auto", "direct", "fft")

#: Least taps (after the polyphase split of a stride-2 kernel) for "auto" to use the FFT.
FFT_MIN_KERNEL = 17
#: Least ``C_in * C_out`` (after the polyphase split) for "auto" to use the FFT.
FFT_MIN_CHANNEL_PRODUCT = 64
#: Least output steps, summed over the batch, for "auto" to use the FFT: below it the FFT's
#: fixed cost per call (a dozen tensor operations) outweighs its savings.
FFT_MIN_POSITIONS = 2048
#: The same for a stride-2 convolution without gradient: the direct kernel's forward pass
#: is fast on few channels (its backward pass is not).
FFT_MIN_CHANNEL_PRODUCT_STRIDED_INFERENCE = 1024


def _fft_length(kernel: int, length: int) -> int:
    """Block length of the overlap-save: a power of two about 8 kernels long, no longer
    than the padded input needs."""
    target = 1 << max(6, math.ceil(math.log2(8 * max(kernel - 1, 1))))
    return min(target, 1 << math.ceil(math.log2(max(length, 2))))


def use_fft(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int,
    output_length: int,
    grad: bool = True,
    batch: int = 1,
) -> bool:
    """Whether ``algorithm="auto"`` computes a convolution with the FFT.

    Parameters
    ----------
    in_channels, out_channels, kernel_size, stride : int
        The convolution's shape.
    output_length : int
        Output steps of the call.
    grad : bool, default=True
        Whether the call is differentiated (training).
    batch : int, default=1
        Number of series in the call.

    Returns
    -------
    bool
        True for stride 1 or 2 when the kernel (per phase, for stride 2) has at least
        :data:`FFT_MIN_KERNEL` taps, ``C_in * C_out`` (``2 C_in`` per phase) is at least
        :data:`FFT_MIN_CHANNEL_PRODUCT` (for stride 2 without gradient
        :data:`FFT_MIN_CHANNEL_PRODUCT_STRIDED_INFERENCE`), and the output has at least
        two kernels' worth of steps and :data:`FFT_MIN_POSITIONS` over the batch;
        False otherwise.

    Examples
    --------
    >>> use_fft(64, 64, 65, 1, 8192), use_fft(64, 64, 9, 1, 8192), use_fft(64, 64, 65, 1, 512)
    (True, False, False)
    >>> use_fft(64, 64, 65, 1, 512, batch=4)
    True
    >>> use_fft(1, 32, 65, 2, 4096, grad=True), use_fft(1, 32, 65, 2, 4096, grad=False)
    (True, False)
    """
    if stride not in (1, 2):
        return False
    kernel = math.ceil(kernel_size / stride)
    channels = in_channels * stride * out_channels
    least = (
        FFT_MIN_CHANNEL_PRODUCT
        if grad or stride == 1
        else FFT_MIN_CHANNEL_PRODUCT_STRIDED_INFERENCE
    )
    return (
        kernel >= FFT_MIN_KERNEL
        and channels >= least
        and output_length >= 2 * kernel
        and batch * output_length >= FFT_MIN_POSITIONS
    )


class _RFFT(torch.autograd.Function):
    """``torch.fft.rfft`` of real input whose last axis has ``n`` (even) steps, with the
    backward pass as one inverse real FFT. torch differentiates ``rfft`` with a complex
    FFT of the zero-padded half spectrum, twice the work and memory; for real input the
    gradient is ``n * irfft(g')``, ``g'`` being ``g`` with its bins other than 0 and
    ``n / 2`` halved (each stands for itself and its conjugate twin)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.n = x.shape[-1]
        return torch.fft.rfft(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        n = ctx.n
        grad = grad.clone()
        grad[..., 1 : n // 2] *= 0.5
        return torch.fft.irfft(grad, n=n) * n


def _rfft(x: torch.Tensor) -> torch.Tensor:
    """The real FFT over the last axis (of even length), cheaper to differentiate."""
    if torch.is_grad_enabled() and x.requires_grad and x.shape[-1] % 2 == 0:
        return _RFFT.apply(x)
    return torch.fft.rfft(x)


def _fft_valid(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Valid stride-1 cross-correlation of ``x`` (N, C_in, L) with ``weight`` (C_out, C_in, K)
    by overlap-save, float32 in and out."""
    n, c_in, length = x.shape
    c_out, _, kernel = weight.shape
    out_length = length - kernel + 1
    nfft = _fft_length(kernel, length)
    hop = nfft - kernel + 1
    n_blocks = -(-out_length // hop)
    x = F.pad(x, (0, (n_blocks - 1) * hop + nfft - length))
    spectra = _rfft(x.unfold(-1, nfft, hop))  # (N, C_in, B, F)
    kernels = torch.fft.rfft(weight.flip(-1), n=nfft)  # (C_out, C_in, F)
    bins = spectra.shape[-1]
    # One (N * B, C_in) x (C_in, C_out) complex product per frequency bin.
    products = torch.bmm(
        spectra.permute(3, 0, 2, 1).reshape(bins, n * n_blocks, c_in), kernels.permute(2, 1, 0)
    )
    products = products.reshape(bins, n, n_blocks, c_out).permute(1, 3, 2, 0)
    y = torch.fft.irfft(products, n=nfft)[..., kernel - 1 :]  # (N, C_out, B, hop)
    return y.reshape(n, c_out, n_blocks * hop)[..., :out_length]


def fft_conv1d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int = 1,
    padding: int | tuple[int, int] = 0,
) -> torch.Tensor:
    """:func:`torch.nn.functional.conv1d` computed with the FFT (overlap-save).

    Parameters
    ----------
    x : torch.Tensor of shape (N, C_in, L)
    weight : torch.Tensor of shape (C_out, C_in, K)
    bias : torch.Tensor of shape (C_out,), optional
    stride : {1, 2}, default=1
        Stride 2 runs as a stride-1 convolution of the even and odd phases.
    padding : int or (int, int), default=0
        Zeros added on both sides, or (left, right).

    Returns
    -------
    torch.Tensor of shape (N, C_out, (L + left + right - K) // stride + 1)
        In float32 (the FFT runs in float32 whatever the autocast), then cast to the
        input's dtype.

    Raises
    ------
    ValueError
        If ``stride`` is not 1 or 2, or the padded input is shorter than the kernel.

    Examples
    --------
    >>> import torch
    >>> x, w = torch.randn(2, 8, 300), torch.randn(4, 8, 33)
    >>> y = fft_conv1d(x, w, stride=2, padding=16)
    >>> torch.allclose(y, torch.nn.functional.conv1d(x, w, stride=2, padding=16), atol=1e-4)
    True
    """
    if stride not in (1, 2):
        raise ValueError(f"fft_conv1d supports stride 1 or 2, got stride={stride}.")
    left, right = (padding, padding) if isinstance(padding, int) else padding
    kernel = weight.shape[-1]
    padded_length = x.shape[-1] + left + right
    if padded_length < kernel:
        raise ValueError(
            f"The padded input ({padded_length} steps) is shorter than the kernel ({kernel})."
        )
    dtype = x.dtype
    out_length = (padded_length - kernel) // stride + 1
    with torch.autocast(x.device.type, enabled=False):
        h = F.pad(x.float(), (left, right))
        w = weight.float()
        if stride == 2:
            h = F.pad(h, (0, h.shape[-1] % 2))
            h = torch.cat([h[..., 0::2], h[..., 1::2]], dim=1)
            odd = F.pad(w[..., 1::2], (0, kernel % 2))
            w = torch.cat([w[..., 0::2], odd], dim=1)
            # Each phase is one step longer than the kernel needs when the length is odd.
            h = F.pad(h, (0, max(out_length + w.shape[-1] - 1 - h.shape[-1], 0)))
        y = _fft_valid(h, w)[..., :out_length]
        if bias is not None:
            y = y + bias.float()[:, None]
    return y.to(dtype) if dtype.is_floating_point else y


class Conv1d(nn.Conv1d):
    """A :class:`torch.nn.Conv1d` that computes each call directly or with the FFT.

    Same parameters and state-dict keys as ``torch.nn.Conv1d``; only ``groups=1``,
    ``dilation=1`` and zero padding are offered.

    Parameters
    ----------
    in_channels, out_channels, kernel_size : int
    stride : int, default=1
    padding : int, default=0
    bias : bool, default=True
    algorithm : {"auto", "direct", "fft"}, default="auto"
        ``"auto"`` uses the FFT where :func:`use_fft` says it is faster; ``"fft"``
        forces it (stride 1 or 2); ``"direct"`` is ``torch.nn.Conv1d``.

    Examples
    --------
    >>> import torch
    >>> conv = Conv1d(64, 64, 65, padding=32)
    >>> direct = Conv1d(64, 64, 65, padding=32, algorithm="direct")
    >>> _ = direct.load_state_dict(conv.state_dict())
    >>> x = torch.randn(2, 64, 1000)
    >>> with torch.no_grad():
    ...     bool(torch.allclose(conv(x), direct(x), atol=1e-4))
    True
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
        algorithm: str = "auto",
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias=bias)
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}.")
        if algorithm == "fft" and self.stride[0] not in (1, 2):
            raise ValueError(f"algorithm='fft' supports stride 1 or 2, got {self.stride[0]}.")
        self.algorithm = algorithm

    def extra_repr(self) -> str:
        return super().extra_repr() + (
            f", algorithm={self.algorithm!r}" if self.algorithm != "auto" else ""
        )

    def _conv_forward(
        self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        stride, padding = self.stride[0], self.padding[0]
        if self.algorithm == "direct":
            return super()._conv_forward(input, weight, bias)
        if input.dim() == 2:  # unbatched (C_in, L), as torch.nn.Conv1d accepts
            return self._conv_forward(input[None], weight, bias)[0]
        if self.algorithm == "auto":
            out_length = (input.shape[-1] + 2 * padding - self.kernel_size[0]) // stride + 1
            grad = torch.is_grad_enabled() and (input.requires_grad or weight.requires_grad)
            if not use_fft(
                self.in_channels,
                self.out_channels,
                self.kernel_size[0],
                stride,
                out_length,
                grad,
                batch=input.shape[0],
            ):
                return super()._conv_forward(input, weight, bias)
        return fft_conv1d(input, weight, bias, stride=stride, padding=padding)
