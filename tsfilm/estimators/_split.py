"""Training steps on the CPU as two halves of the batch, one per thread.

With several threads inside every operation of a training step, the threads wait for
each other at the end of each parallel region; when another process keeps a core busy,
each wait can last a time slice of the scheduler, and a step on two threads took 1.4 to
2.5 times as long as on one (``benchmarks/speed.py``, "Training step"). Two halves of
the batch, each forward and backward on its own thread with its share of torch's
threads, never wait for each other: beside a busy process the small U-Net's step on two
threads took half the time it took with the threads inside each operation, and on idle
cores no longer (``benchmarks/speed.py``, "Training step": "threads in ops" is the
whole batch).

The halves give the step of the whole batch: each half's loss, weighted by its share of
the batch (:meth:`TorchEstimator.loss_weight
<tsfilm.estimators.TorchEstimator.loss_weight>`: rows, or the entries a loss averages),
is differentiated on its own, and the gradients add up in the parameters. Dropout masks
are drawn from one generator per half (:func:`tsfilm.nn.dropout.row_generators`),
seeded from torch's generator at every step, so the masks, and the weights trained, do
not depend on the threads: a step on one thread draws the same masks for the same rows.

Used for every step on the CPU where the threads could be more than one (``n_threads``
other than 1), outside data-parallel training, when the estimator declares its loss a
weighted mean of its parts' (:meth:`TorchEstimator.splits_batches
<tsfilm.estimators.TorchEstimator.splits_batches>`), the network has no batch statistics
(batch normalisation) and two threads may run it at once (:func:`concurrency_safe`: its
randomness all in tsfilm's :class:`Dropout <tsfilm.nn.dropout.Dropout>`, no state
changed by a forward pass). Otherwise the batch runs whole, the threads inside each
operation, as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import nn

from tsfilm.estimators._distributed import share_of_rows
from tsfilm.estimators._threads import flushes_denormals, start_worker
from tsfilm.nn.dropout import Dropout, row_generators

__all__ = ["PARTS", "SplitSteps", "concurrency_safe", "part_generators", "splittable"]

#: Parts of a training batch, as measured on two cores. With two, the sum of their
#: gradients in a parameter does not depend on which part finishes first.
PARTS = 2

_RANDOM_MODULES = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)
_RANDOM_MODULES += (nn.FeatureAlphaDropout,)
#: Packages whose network classes are known to draw only through tsfilm's Dropout.
_KNOWN_PACKAGES = ("torch.nn", "tsfilm", "tsfilm_baselines")


def splittable(module: nn.Module) -> bool:
    """Whether a batch's gradient is the sum of its parts' gradients for ``module``: no
    layer whose output depends on the other rows of the batch (batch normalisation).

    Examples
    --------
    >>> splittable(nn.Linear(2, 2)), splittable(nn.Sequential(nn.BatchNorm1d(2)))
    (True, False)
    """
    return not any(isinstance(m, nn.modules.batchnorm._NormBase) for m in module.modules())


def _known(cls: type) -> bool:
    owner = cls.__module__
    return any(owner == name or owner.startswith(name + ".") for name in _KNOWN_PACKAGES)


def concurrency_safe(module: nn.Module) -> bool:
    """Whether two threads can run ``module`` at once with the same results as one after
    the other: its layers are ``torch.nn``'s, tsfilm's or its baselines', any randomness
    is in tsfilm's :class:`~tsfilm.nn.dropout.Dropout` (which draws from the part's own
    generators), and no forward pass changes the module (no hooks, parametrizations or
    in-place renormalised embeddings).

    Examples
    --------
    >>> from tsfilm.nn import DenseDNN
    >>> concurrency_safe(DenseDNN(8, 8, [4], dropout=0.5)), concurrency_safe(nn.Dropout())
    (True, False)
    """
    from torch.nn.utils import parametrize

    for m in module.modules():
        if not _known(type(m)):
            return False
        if m._forward_hooks or m._forward_pre_hooks or parametrize.is_parametrized(m):
            return False
        if isinstance(m, _RANDOM_MODULES) and not isinstance(m, Dropout) and m.p > 0:
            return False
        if isinstance(m, nn.RNNBase | nn.MultiheadAttention) and m.dropout > 0:
            return False
        if isinstance(m, nn.RReLU) or (isinstance(m, nn.Embedding) and m.max_norm is not None):
            return False
    return True


def part_generators(rows: int) -> list[tuple[int, torch.Generator]]:
    """The rows of each of the (at most :data:`PARTS`) parts of a batch of ``rows`` rows
    and its dropout generator, seeded from torch's generator (which the fit seeds).

    Examples
    --------
    >>> [rows for rows, _ in part_generators(5)], [rows for rows, _ in part_generators(1)]
    ([3, 2], [1])
    """
    shares = (share_of_rows(rows, part, PARTS) for part in range(PARTS))
    sizes = [stop - start for start, stop in shares if stop > start]
    seeds = torch.randint(0, 2**62, (len(sizes),)).tolist()
    return [(size, torch.Generator().manual_seed(s)) for size, s in zip(sizes, seeds, strict=True)]


class SplitSteps:
    """The training steps of one fit, each batch in :data:`PARTS` parts on as many threads.

    Parameters
    ----------
    autocast : callable
        Returns the fit's autocast context, entered in every worker thread.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Linear(3, 1)
    >>> steps = SplitSteps(contextlib.nullcontext)
    >>> x = torch.randn(4, 3)
    >>> loss = steps.backward(
    ...     lambda part: net(part[0]).square().mean(), lambda part: part[0].shape[0], (x,), 2
    ... )
    >>> steps.close()
    >>> bool(torch.isclose(loss, net(x).square().mean()))
    True
    """

    def __init__(self, autocast: Callable[[], contextlib.AbstractContextManager]) -> None:
        self.autocast = autocast
        self._pool: ThreadPoolExecutor | None = None
        self._threads = torch.get_num_threads()

    def backward(
        self,
        loss_of: Callable[[tuple], torch.Tensor],
        weight_of: Callable[[tuple], float],
        batch: tuple,
        threads: int,
    ) -> torch.Tensor:
        """Differentiate the batch's loss part by part, at once; return that loss (detached).

        Parameters
        ----------
        loss_of : callable
            The loss of a part of the batch (a scalar tensor).
        weight_of : callable
            The weight of a part's loss in the batch's loss.
        batch : tuple of torch.Tensor
            Tensors whose first axis holds the rows.
        threads : int
            Torch threads of the fit, shared among the parts (one at least each: two
            threads run when the fit has one).

        Returns
        -------
        torch.Tensor
            The batch's loss: the parts' losses, weighted, in float32.
        """
        ranges = part_generators(batch[0].shape[0])
        parts, start = [], 0
        for rows, _ in ranges:
            parts.append(tuple(t[start : start + rows] for t in batch))
            start += rows
        weights = [float(weight_of(part)) for part in parts]
        total = sum(weights)
        shares = [
            w / total if total > 0 else len(p[0]) / start
            for w, p in zip(weights, parts, strict=True)
        ]

        def run(index: int) -> torch.Tensor:
            with row_generators([ranges[index]]), self.autocast():
                loss = loss_of(parts[index])
            (loss * shares[index]).backward()
            return loss.detach()

        # The threads shared among the parts, one at least each, the odd one to the last;
        # a lone part (a batch of one row) runs on a worker too, with the same threads as
        # a part of a larger batch, so that its result does not depend on the fit's count.
        counts = [max((threads + i) // PARTS, 1) for i in range(PARTS)]
        self._threads = threads
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                PARTS,
                thread_name_prefix="tsfilm-train",
                initializer=start_worker,
                initargs=(1, flushes_denormals()),
            )
        futures = [self._pool.submit(_on_threads, counts[i], run, i) for i in range(len(parts))]
        losses = [future.result() for future in futures]
        return sum(share * loss.float() for share, loss in zip(shares, losses, strict=True))

    def close(self) -> None:
        """Stop the worker threads (after the parts they are running)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            # The workers set torch's default for new threads: give the fit's back.
            torch.set_num_threads(self._threads)


def _on_threads(n: int, fn: Callable[[int], torch.Tensor], index: int) -> torch.Tensor:
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return fn(index)
