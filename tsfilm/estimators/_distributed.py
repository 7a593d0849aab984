"""Data-parallel training across processes, for the engine of :mod:`tsfilm.estimators._base`.

``fit`` trains with :class:`~torch.nn.parallel.DistributedDataParallel` when it runs in
several processes: when a ``torch.distributed`` process group of more than one process
is initialised, or when ``torchrun`` launched the program (``RANK``, ``WORLD_SIZE``,
``MASTER_ADDR`` and ``MASTER_PORT`` set; the group is then initialised here, with the
gloo backend on the CPU and NCCL for CUDA tensors). Everything else trains as before:
:func:`distributed_context` then returns a context whose hooks do nothing.

Semantics of a distributed fit, with ``W`` processes:

- Every process calls ``fit`` with the same data and parameters. The seed of rank 0
  decides the validation split, the initial weights (broadcast from rank 0) and the
  batches, so ``random_state=None`` works too.
- ``batch_size`` is the *global* batch: every process draws the same batches and
  trains on its own share of the rows of each one (``batch_size / W``, give or take
  one). Gradients are summed with weights ``rows on this process / rows of the batch``,
  so for a loss that is a mean over examples (super-resolution, classification) a step
  is the step of one process on the whole batch, and a distributed fit follows the
  trajectory of a one-process fit up to floating-point rounding. (The imputer's loss is
  a mean over hidden entries, so its shares are weighted by examples: close, not
  identical.) A last batch with fewer rows than processes is skipped. Dropout masks
  differ between processes.
- The training loss in ``history_`` is the mean over every process's examples; the
  validation loss is computed by every process on the whole validation set. Early
  stopping, ``max_time`` and the kept epoch are decided identically everywhere (any
  process out of time stops all), so every process ends with the same fitted estimator
  (only the ``seconds`` and ``threads`` of ``history_`` are each process's own).
- An exception raised on one process while it draws a batch or computes a loss is
  reported to the others, which raise :class:`DistributedTrainingError` naming it,
  instead of waiting. A process that dies makes the others fail at their next
  collective operation: at once when its connections close, else when the operation
  times out (``TSFILM_DIST_TIMEOUT`` seconds for a group initialised here, 300 by
  default).
- Only rank 0 shows a progress bar; write model files where :func:`is_main_process`.

The engine calls, in this order::

    dist = distributed_context(device)
    seed = dist.same(seed)
    trained = dist.wrap(module)
    for batch in dist.shard(batches):
        with dist.guard():
            loss = compute_loss(trained, batch)
        ...  # backward, optimiser step
        if dist.agree(out_of_time):
            break
    total, count = dist.sum(total, count)
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import datetime
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
import torch.distributed as tdist

__all__ = [
    "DistributedTrainingError",
    "distributed_context",
    "is_main_process",
    "local_fit",
    "share_of_rows",
]

#: Environment variable: timeout in seconds of a process group initialised by tsfilm.
TIMEOUT_ENV = "TSFILM_DIST_TIMEOUT"
DEFAULT_TIMEOUT = 300.0

# Kinds of synchronisation point, so that processes at different points notice it.
_STEP, _END, _AGREE = 1, 2, 3

_ALONE: contextvars.ContextVar[bool] = contextvars.ContextVar("tsfilm_local_fit", default=False)


class DistributedTrainingError(RuntimeError):
    """Another process of a distributed fit failed, or the processes disagree.

    Raised on the processes that did not fail themselves (the failing one raises its
    own exception), so that every process stops instead of waiting for the others.
    """


def _world() -> tuple[int, int]:
    """(rank, world size) of the initialised default group, or from torchrun's variables."""
    if tdist.is_available() and tdist.is_initialized():
        return tdist.get_rank(), tdist.get_world_size()
    env = os.environ
    if all(name in env for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")):
        return int(env["RANK"]), int(env["WORLD_SIZE"])
    return 0, 1


def is_main_process() -> bool:
    """Whether this process is the one that writes files: rank 0, or the only process.

    Under ``torchrun`` every process runs the same script; guard the writing of model
    files, figures and reports with this.

    Returns
    -------
    bool

    Examples
    --------
    >>> from tsfilm.estimators._distributed import is_main_process
    >>> is_main_process()  # not launched by torchrun
    True
    """
    return _world()[0] == 0


@contextlib.contextmanager
def local_fit() -> Iterator[None]:
    """Fit in this process alone, even in a process group of several or under torchrun.

    For a program that uses ``torch.distributed`` for its own purposes and fits a tsfilm
    estimator on some processes only, or for processes that inherited torchrun's
    variables (joblib workers started by a distributed program).

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm import TFiLMImputer
    >>> from tsfilm.estimators._distributed import local_fit
    >>> X = np.sin(np.arange(256.0) / 8).reshape(4, 64)
    >>> X[:, ::9] = np.nan
    >>> with local_fit():
    ...     imputer = TFiLMImputer(**TFiLMImputer.get_test_params()[0]).fit(X)
    """
    token = _ALONE.set(True)
    try:
        yield
    finally:
        _ALONE.reset(token)


def _timeout() -> datetime.timedelta:
    text = os.environ.get(TIMEOUT_ENV, "")
    try:
        seconds = float(text) if text else DEFAULT_TIMEOUT
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV}={text!r} must be a number of seconds.") from None
    if not seconds > 0:
        raise ValueError(f"{TIMEOUT_ENV}={text!r} must be a positive number of seconds.")
    return datetime.timedelta(seconds=seconds)


def _initialise(device: torch.device) -> None:
    """Initialise the default group from torchrun's environment variables."""
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device.index is None:
            torch.cuda.set_device(local)
        backend = "cpu:gloo,cuda:nccl"
    else:
        backend = "gloo"
    tdist.init_process_group(backend=backend, init_method="env://", timeout=_timeout())
    # Left open for later fits in this process; closed at exit, before torch warns.
    atexit.register(_destroy)


def _destroy() -> None:  # pragma: no cover - runs at interpreter exit
    if tdist.is_initialized():
        tdist.destroy_process_group()


def distributed_context(device: torch.device) -> _Local | _DataParallel:
    """The hooks of one ``fit``: data-parallel when several processes train together.

    Parameters
    ----------
    device : torch.device
        Where the network trains. Under torchrun with CUDA, a device without index
        becomes the process's ``LOCAL_RANK`` GPU.

    Returns
    -------
    context
        With ``rank``, ``world_size``, ``is_writer`` and the hooks ``same``, ``wrap``,
        ``shard``, ``guard``, ``agree`` and ``sum``; without a process group of several
        processes, a shared context whose hooks return their input.

    Examples
    --------
    >>> import torch
    >>> dist = distributed_context(torch.device("cpu"))
    >>> dist.world_size, dist.is_writer, dist.same(7), dist.sum(1.5, 3)
    (1, True, 7, (1.5, 3))
    """
    world_size = _world()[1]
    if world_size <= 1 or _ALONE.get():
        return _LOCAL
    if not tdist.is_initialized():
        _initialise(device)
    return _DataParallel(device)


def share_of_rows(rows: int, rank: int, world_size: int) -> tuple[int, int]:
    """The rows ``[start, stop)`` of a batch that process ``rank`` trains on.

    Consecutive slices that cover the batch, whose sizes differ by at most one.

    Examples
    --------
    >>> [share_of_rows(7, rank, 3) for rank in range(3)]
    [(0, 3), (3, 5), (5, 7)]
    """
    base, extra = divmod(rows, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


class _Local:
    """The hooks of a fit in one process: each returns its input."""

    rank = 0
    world_size = 1
    is_writer = True

    def same(self, value: Any) -> Any:
        return value

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        return module

    def shard(
        self, batches: Iterable[tuple], weight_of: Callable[[tuple], float] | None = None
    ) -> Iterable[tuple]:
        return batches

    def guard(self) -> contextlib.AbstractContextManager:
        return _NULL

    def agree(self, flag: bool) -> bool:
        return bool(flag)

    def sum(self, *values: float) -> tuple[float, ...]:
        return values


_NULL = contextlib.nullcontext()
_LOCAL = _Local()


class _Share:
    """State of the gradient hook: this process's share of the current batch."""

    def __init__(self, group: Any) -> None:
        self.group = group
        self.weight = 1.0


def _weighted_allreduce(state, bucket):  # DDP refuses other annotations than its own
    """DDP communication hook: sum the gradients weighted by each process's share of the
    batch's loss (rows, or the estimator's :meth:`loss_weight`)."""
    tensor = bucket.buffer()
    tensor.mul_(state.weight)
    work = tdist.all_reduce(tensor, group=state.group, async_op=True)
    return work.get_future().then(lambda fut: fut.value()[0])


class _DataParallel:
    """The hooks of a fit in a process group of several processes."""

    def __init__(self, device: torch.device) -> None:
        self.rank = tdist.get_rank()
        self.world_size = tdist.get_world_size()
        self.is_writer = self.rank == 0
        self.device = device
        backend = str(tdist.get_backend())
        # Small tensors of the synchronisation points go through gloo where it is there.
        cpu = "gloo" in backend or "mpi" in backend
        self._sync_device = torch.device("cpu") if cpu else torch.device("cuda")
        self._share = _Share(None)
        self._rows = 0

    # ------------------------------------------------------------------ hooks
    def same(self, value: Any) -> Any:
        """Rank 0's ``value``, on every process."""
        box = [value]
        tdist.broadcast_object_list(box, src=0, device=self._sync_device)
        return box[0]

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """``module`` in DistributedDataParallel, with rank 0's weights on every process."""
        from torch.nn.parallel import DistributedDataParallel

        device_ids = None
        if self.device.type == "cuda":
            index = self.device.index
            device_ids = [torch.cuda.current_device() if index is None else index]
        wrapped = DistributedDataParallel(module, device_ids=device_ids)
        wrapped.register_comm_hook(self._share, _weighted_allreduce)
        if self.rank:
            # Independent dropout masks; the weights were just broadcast from rank 0.
            seed = (torch.initial_seed() + 104729 * self.rank) % (2**63)
            torch.random.default_generator.manual_seed(seed)
            if self.device.type == "cuda":
                torch.cuda.manual_seed(seed)
        return wrapped

    def shard(
        self, batches: Iterable[tuple], weight_of: Callable[[tuple], float] | None = None
    ) -> Iterator[tuple]:
        """This process's rows of every batch; all processes must draw the same batches.

        The gradients are summed weighted by each process's share of the batch's loss:
        ``weight_of`` of its rows over ``weight_of`` of the batch when given (a loss that
        is a weighted mean of its parts', :meth:`TorchEstimator.loss_weight`), its share
        of the rows otherwise."""
        iterator = iter(batches)
        while True:
            try:
                batch = next(iterator)
            except StopIteration:
                self._sync(_END, 0)
                return
            except Exception as exc:
                self._fail(_STEP, exc)
                raise
            rows = int(batch[0].shape[0])
            if rows < self.world_size:
                continue  # every process skips it: they all drew the same rows
            start, stop = share_of_rows(rows, self.rank, self.world_size)
            self._rows = rows
            own = tuple(t[start:stop] for t in batch)
            total = float(weight_of(batch)) if weight_of is not None else 0.0
            if total > 0:
                self._share.weight = float(weight_of(own)) / total
            else:
                self._share.weight = (stop - start) / rows
            yield own

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """An exception inside, on any process, stops every process (before backward)."""
        try:
            yield
        except Exception as exc:
            self._fail(_STEP, exc)
            raise
        self._sync(_STEP, self._rows)

    def agree(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any process."""
        return bool(self._sync(_AGREE, int(bool(flag)), check=False))

    def sum(self, *values: float) -> tuple[float, ...]:
        """Every value summed over the processes."""
        tensor = torch.tensor(values, dtype=torch.float64, device=self._sync_device)
        return tuple(self._all_reduce(tensor, tdist.ReduceOp.SUM).tolist())

    # ------------------------------------------------------------------ internals
    def _all_reduce(self, tensor: torch.Tensor, op: Any) -> torch.Tensor:
        try:
            tdist.all_reduce(tensor, op=op)
        except RuntimeError as exc:  # gloo and NCCL errors, timeouts
            raise DistributedTrainingError(
                f"Process {self.rank} of {self.world_size} lost contact with the others of a "
                f"distributed fit (one ended or stopped answering): {exc}"
            ) from exc
        return tensor

    def _sync(self, kind: int, value: int, *, error: int = 0, check: bool = True) -> int:
        """All-reduce [error, kind, value] (maxima and minima); raise where a process failed.

        Returns the largest ``value``. With ``check``, differing values mean that the
        processes drew different batches.
        """
        tensor = torch.tensor(
            [error, kind, -kind, value, -value], dtype=torch.int64, device=self._sync_device
        )
        self._all_reduce(tensor, tdist.ReduceOp.MAX)
        failed, high_kind, low_kind, high, low = (int(v) for v in tensor.tolist())
        if failed:
            if not error:
                self._raise_remote()
            return high
        if high_kind != -low_kind or (check and high != -low):
            raise DistributedTrainingError(
                f"The {self.world_size} processes of a distributed fit drew different batches "
                f"(process {self.rank} has {value} rows). Every process must call fit with the "
                "same data and the same parameters."
            )
        return high

    def _fail(self, kind: int, exc: BaseException) -> None:
        """Tell the other processes that this one raised ``exc`` (which the caller re-raises)."""
        with contextlib.suppress(Exception):  # the original error matters more
            self._sync(kind, self._rows, error=1)
            messages: list[Any] = [None] * self.world_size
            tdist.all_gather_object(messages, f"{type(exc).__name__}: {exc}")

    def _raise_remote(self) -> None:
        messages: list[Any] = [None] * self.world_size
        tdist.all_gather_object(messages, None)
        failures = "; ".join(
            f"process {rank} raised {text}" for rank, text in enumerate(messages) if text
        )
        raise DistributedTrainingError(
            f"Distributed training stopped on process {self.rank} of {self.world_size}: "
            f"{failures or 'another process failed'}"
        )
