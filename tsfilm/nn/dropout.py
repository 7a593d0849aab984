"""Dropout that draws its mask with one vectorised uniform draw.

:class:`torch.nn.Dropout` on the CPU draws its mask with ``bernoulli_``, element by
element: in a U-Net training step on two cores that was 16 % of the step, more than any
convolution but the largest. Comparing a uniform draw with ``p`` gives the same
distribution of masks (each element kept with probability ``1 - p``, independently) in
about a third of the time, forward and backward together (``benchmarks/speed.py``).
The masks are different draws from torch's random generator than ``nn.Dropout``'s, so
they are as reproducible under a seed, but not the same numbers.

Inside :func:`row_generators` the rows of the mask (the first axis: the batch) are drawn
from the given generators instead, a range of rows from each. The training engine cuts a
batch in parts that run on separate threads (:mod:`tsfilm.estimators._split`): each part
draws from its own generator, so the masks do not depend on which thread draws first, and
they are the same whether the batch runs whole or in parts.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence

import torch
from torch import nn

__all__ = ["Dropout", "row_generators"]

_ROW_GENERATORS: contextvars.ContextVar[tuple[tuple[int, torch.Generator], ...] | None] = (
    contextvars.ContextVar("tsfilm_row_generators", default=None)
)


@contextlib.contextmanager
def row_generators(ranges: Sequence[tuple[int, torch.Generator]]) -> Iterator[None]:
    """Draw the masks of :class:`Dropout` range of rows by range of rows, each range from
    its own CPU generator, inside the block (in this thread or task only).

    Parameters
    ----------
    ranges : sequence of (int, torch.Generator)
        Consecutive ranges of rows: their number of rows and their generator. A mask
        whose first axis has another length than their sum is drawn whole from the first
        generator; off the CPU, from torch's global generator as usual.

    Examples
    --------
    >>> import torch
    >>> drop = Dropout(0.5)
    >>> with row_generators([(2, torch.Generator().manual_seed(0))]):
    ...     a = drop(torch.ones(2, 6))
    >>> with row_generators([(1, torch.Generator().manual_seed(0)),
    ...                      (1, torch.Generator().manual_seed(1))]):
    ...     b = drop(torch.ones(2, 6))
    >>> with row_generators([(1, torch.Generator().manual_seed(0))]):
    ...     first = drop(torch.ones(1, 6))
    >>> torch.equal(a[:1], b[:1]) and torch.equal(b[:1], first)
    True
    """
    token = _ROW_GENERATORS.set(tuple((int(rows), gen) for rows, gen in ranges))
    try:
        yield
    finally:
        _ROW_GENERATORS.reset(token)


class _Dropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, p: float) -> torch.Tensor:
        mask = _mask(x, p)
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (mask,) = ctx.saved_tensors
        return grad * mask, None


def _mask(x: torch.Tensor, p: float) -> torch.Tensor:
    """``1 / (1 - p)`` where a uniform draw is at least ``p``, else 0, in ``x``'s dtype."""
    ranges = _ROW_GENERATORS.get()
    if not ranges or x.device.type != "cpu":
        draws = torch.rand(x.shape, device=x.device)
    elif x.dim() == 0 or sum(rows for rows, _ in ranges) != x.shape[0]:
        # Not batch-first: the whole mask from the first generator, still independent of
        # the other threads' draws.
        draws = torch.rand(x.shape, generator=ranges[0][1])
    else:
        draws = torch.empty(x.shape)
        start = 0
        for rows, generator in ranges:
            draws[start : start + rows].uniform_(generator=generator)
            start += rows
    return (draws >= p).to(x.dtype).mul_(1.0 / (1.0 - p))


class Dropout(nn.Dropout):
    """:class:`torch.nn.Dropout` with the mask drawn as ``uniform >= p``, faster on the CPU.

    Same parameter ``p``, same behaviour in evaluation mode (the identity) and same
    expected value in training (kept elements are scaled by ``1 / (1 - p)``).

    Parameters
    ----------
    p : float, default=0.5
        Probability of zeroing an element, in [0, 1).
    inplace : bool, default=False
        Accepted for compatibility with ``torch.nn.Dropout`` and ignored: the output is a
        new tensor.

    Examples
    --------
    >>> import torch
    >>> drop = Dropout(0.5)
    >>> y = drop(torch.ones(1000))
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    >>> torch.equal(drop.eval()(torch.ones(3)), torch.ones(3))
    True
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if not (torch.is_grad_enabled() and x.requires_grad):
            return x * _mask(x, self.p)
        return _Dropout.apply(x, self.p)
