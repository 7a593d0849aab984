"""One-dimensional sub-pixel shuffle: trade channels for time steps."""

from __future__ import annotations

import torch
from torch import nn

from tsfilm.nn._checks import check_int, check_option

__all__ = ["SubPixel1d", "subpixel_shuffle1d", "subpixel_unshuffle1d"]

_ORDERS = ("channel", "subposition")


def subpixel_shuffle1d(x: torch.Tensor, ratio: int, order: str = "channel") -> torch.Tensor:
    """Rearrange (N, C*r, T) into (N, C, T*r).

    See :class:`SubPixel1d` for the index formulas.

    Parameters
    ----------
    x : torch.Tensor of shape (N, C * ratio, T)
        Input; its channel count must be divisible by ``ratio``.
    ratio : int
        Upsampling factor ``r``.
    order : {"channel", "subposition"}, default="channel"
        Channel order, see :class:`SubPixel1d`.

    Returns
    -------
    torch.Tensor of shape (N, C, T * ratio)

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(8.0).reshape(1, 4, 2)
    >>> subpixel_shuffle1d(x, 2)
    tensor([[[0., 2., 1., 3.],
             [4., 6., 5., 7.]]])
    """
    ratio = check_int(ratio, "ratio")
    order = check_option(order, "order", _ORDERS)
    if x.dim() != 3:
        raise ValueError(f"Expected input of shape (N, C*r, T), got {tuple(x.shape)}.")
    n, cr, length = x.shape
    if cr % ratio:
        raise ValueError(
            f"The number of input channels ({cr}) must be divisible by ratio={ratio}; "
            f"use a preceding convolution with a multiple of {ratio} output channels."
        )
    c = cr // ratio
    if order == "channel":
        shuffled = x.reshape(n, c, ratio, length).permute(0, 1, 3, 2)
    else:
        shuffled = x.reshape(n, ratio, c, length).permute(0, 2, 3, 1)
    return shuffled.reshape(n, c, length * ratio)


def subpixel_unshuffle1d(y: torch.Tensor, ratio: int, order: str = "channel") -> torch.Tensor:
    """Inverse of :func:`subpixel_shuffle1d`: rearrange (N, C, T*r) into (N, C*r, T).

    Parameters
    ----------
    y : torch.Tensor of shape (N, C, T * ratio)
        Input; its length must be divisible by ``ratio``.
    ratio : int
        Downsampling factor ``r``.
    order : {"channel", "subposition"}, default="channel"
        Channel order, see :class:`SubPixel1d`.

    Returns
    -------
    torch.Tensor of shape (N, C * ratio, T)

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(2, 6, 5)
    >>> torch.equal(subpixel_unshuffle1d(subpixel_shuffle1d(x, 3), 3), x)
    True
    """
    ratio = check_int(ratio, "ratio")
    order = check_option(order, "order", _ORDERS)
    if y.dim() != 3:
        raise ValueError(f"Expected input of shape (N, C, T*r), got {tuple(y.shape)}.")
    n, c, tr = y.shape
    if tr % ratio:
        raise ValueError(f"The input length ({tr}) must be divisible by ratio={ratio}.")
    length = tr // ratio
    split = y.reshape(n, c, length, ratio)
    if order == "channel":
        return split.permute(0, 1, 3, 2).reshape(n, c * ratio, length)
    return split.permute(0, 3, 1, 2).reshape(n, ratio * c, length)


class SubPixel1d(nn.Module):
    r"""One-dimensional sub-pixel shuffle: (N, C*r, T) -> (N, C, T*r).

    With ``order="channel"`` (default) the ``r`` output sub-positions of output
    channel ``c`` come from ``r`` consecutive input channels::

        output[n, c, t*r + i] = input[n, c*r + i, t]     0 <= i < r, 0 <= c < C

    This is the one-axis version of :class:`torch.nn.PixelShuffle`: input channels
    are grouped by output channel first. For ``r = 1`` it is the identity.

    With ``order="subposition"`` the input channels are grouped by sub-position
    first, which is the order of the authors' code (TensorFlow's
    ``batch_to_space``/``depth_to_space`` convention)::

        output[n, c, t*r + i] = input[n, i*C + c, t]

    The two orders differ only by a fixed permutation of the input channels, so a
    convolution in front of the shuffle learns either equally well;
    ``"subposition"`` matters only to load weights trained with the authors' code.

    The shuffle is local in time: output steps ``t*r .. t*r + r - 1`` come from
    input step ``t`` alone, so it keeps a network causal (no output step comes
    before the input step it is made from) and streams chunk by chunk without
    state.

    Parameters
    ----------
    ratio : int
        Upsampling factor ``r >= 1``.
    order : {"channel", "subposition"}, default="channel"
        Channel order, as above.

    See Also
    --------
    subpixel_unshuffle1d : the inverse rearrangement.

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(8.0).reshape(1, 4, 2)
    >>> SubPixel1d(2)(x)
    tensor([[[0., 2., 1., 3.],
             [4., 6., 5., 7.]]])
    >>> SubPixel1d(2, order="subposition")(x)
    tensor([[[0., 4., 1., 5.],
             [2., 6., 3., 7.]]])
    """

    def __init__(self, ratio: int, order: str = "channel") -> None:
        super().__init__()
        self.ratio = check_int(ratio, "ratio")
        self.order = check_option(order, "order", _ORDERS)

    def extra_repr(self) -> str:
        return f"ratio={self.ratio}, order={self.order!r}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Shuffle channels into time.

        Parameters
        ----------
        x : torch.Tensor of shape (N, C * ratio, T)

        Returns
        -------
        torch.Tensor of shape (N, C, T * ratio)
        """
        return subpixel_shuffle1d(x, self.ratio, self.order)
