"""Thread policy of the engine: ``n_threads="auto"`` uses only the cores other processes leave.

Torch's default uses every core. When another process keeps a core busy (a browser, a
second notebook, another fit under joblib), two threads on two cores wait for each other at
every parallel region and a training step runs up to twice as slow as with one thread.
``"auto"`` measures how much CPU the other processes use (from ``/proc/stat``, minus this
process's own CPU time) and runs torch on the cores they leave idle: never more threads
than torch's own setting, never fewer than one. Training re-measures at every epoch, over
the epoch itself, so the choice follows the load without pausing; a prediction re-uses a
measurement made within the last two seconds or takes one of 0.1 s.

Where ``/proc/stat`` cannot be read (macOS, Windows), ``"auto"`` keeps torch's setting.

A prediction on the CPU with more than one thread (a fixed number, or "auto" on idle cores)
goes through :class:`BatchWorkers`: the threads work inside each batch while the cores
stay idle, and whole batches run two at a time on separate threads, the torch threads
shared among them, as soon as other processes are measured keeping cores busy, so that
threads do not wait for each other on a core that another process holds.

For the same span, the CPU flushes subnormal floats (below about 1.2e-38 in float32) to
zero (:func:`torch.set_flush_denormal`) and returns to its previous setting afterwards.
Gradients that fade over many RNN steps become subnormal, and some CPUs (Intel Xeon here)
compute with them tens of times slower than with normal numbers: the LSTM text baseline's
training epoch took 75 s instead of about 6. Torch's worker threads that start during a fit or
a prediction inherit the setting; the values flushed are far below anything a network's
output depends on.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

__all__ = [
    "BatchWorkers",
    "auto_threads",
    "busy_cores_elsewhere",
    "flushes_denormals",
    "recent_busy_cores",
    "thread_policy",
]

#: Seconds a measurement is re-used by the next fit or predict.
_FRESH_S = 2.0
#: Seconds of a fresh measurement (``/proc/stat`` counts in ticks of 10 ms per core).
_SAMPLE_S = 0.1
#: Shortest interval, in seconds, that training re-measures over.
_MIN_INTERVAL_S = 0.2

_lock = threading.Lock()
_last: dict[str, float] = {}


def _cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return list(range(os.cpu_count() or 1))


def _busy_seconds(cpus: list[int]) -> float | None:
    """CPU-seconds spent busy on ``cpus`` since boot, from ``/proc/stat``; None if unreadable."""
    try:
        with open("/proc/stat") as stat:
            lines = stat.read().splitlines()
    except OSError:
        return None
    wanted = {f"cpu{c}" for c in cpus}
    ticks = 0
    found = 0
    for line in lines:
        fields = line.split()
        if fields and fields[0] in wanted:
            values = [int(v) for v in fields[1:9]]
            # user nice system idle iowait irq softirq steal: idle and iowait are not busy.
            ticks += sum(values) - values[3] - values[4]
            found += 1
    if not found:
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


class _Meter:
    """Busy cores used by other processes between two readings."""

    def __init__(self) -> None:
        self.cpus = _cpus()
        self.reset()

    def reset(self) -> bool:
        self.busy = _busy_seconds(self.cpus)
        self.own = time.process_time()
        self.wall = time.perf_counter()
        return self.busy is not None

    def elapsed(self) -> float:
        return time.perf_counter() - self.wall

    def read(self) -> float | None:
        """Cores kept busy by other processes since the last reading (and start anew)."""
        busy, own, wall = _busy_seconds(self.cpus), time.process_time(), time.perf_counter()
        if busy is None or self.busy is None or wall <= self.wall:
            return None
        others = (busy - self.busy - (own - self.own)) / (wall - self.wall)
        self.busy, self.own, self.wall = busy, own, wall
        return min(max(others, 0.0), float(len(self.cpus)))


def busy_cores_elsewhere(max_age: float = _FRESH_S) -> float | None:
    """How many cores other processes keep busy, measured now or at most ``max_age`` ago.

    Parameters
    ----------
    max_age : float, default=2.0
        Re-use a measurement at most this many seconds old; otherwise measure for 0.1 s.

    Returns
    -------
    float or None
        Busy cores outside this process, between 0 and the number of usable cores; None
        where the system does not tell (no ``/proc/stat``).

    Examples
    --------
    >>> busy = busy_cores_elsewhere()
    >>> busy is None or 0.0 <= busy <= len(os.sched_getaffinity(0))
    True
    """
    busy = recent_busy_cores(max_age)
    if busy is not None:
        return busy
    meter = _Meter()
    if meter.busy is None:
        return None
    time.sleep(_SAMPLE_S)
    busy = meter.read()
    if busy is not None:
        _remember(busy)
    return busy


def recent_busy_cores(max_age: float = _FRESH_S) -> float | None:
    """The last measurement of :func:`busy_cores_elsewhere` if at most ``max_age`` seconds
    old, else None; never measures.

    Examples
    --------
    >>> busy = recent_busy_cores()
    >>> busy is None or busy >= 0.0
    True
    """
    with _lock:
        if _last and time.monotonic() - _last["at"] <= max_age:
            return _last["busy"]
    return None


def _remember(busy: float) -> None:
    with _lock:
        _last.update(at=time.monotonic(), busy=busy)


def auto_threads(limit: int, busy: float | None) -> int:
    """Threads for torch: the usable cores minus those busy elsewhere, in ``[1, limit]``.

    Parameters
    ----------
    limit : int
        The most threads to use (torch's own setting).
    busy : float or None
        Cores kept busy by other processes (:func:`busy_cores_elsewhere`); None keeps
        ``limit``.

    Returns
    -------
    int

    Examples
    --------
    >>> auto_threads(2, 0.1), auto_threads(2, 0.9), auto_threads(2, None), auto_threads(1, 0.0)
    (2, 1, 2, 1)
    """
    if busy is None:
        return limit
    idle = len(_cpus()) - busy
    return int(min(max(round(idle), 1), limit))


class _Policy:
    """What :func:`thread_policy` yields: ``update()`` re-decides ``"auto"`` from the load."""

    def __init__(self, n_threads: int | str | None) -> None:
        self.auto = n_threads == "auto"
        self.limit = torch.get_num_threads()
        self.meter: _Meter | None = None
        if n_threads is None:
            self.threads = self.limit
        elif self.auto:
            # One thread cannot go lower: no need to measure (pytest-xdist workers, joblib).
            self.threads = (
                self.limit if self.limit == 1 else auto_threads(self.limit, busy_cores_elsewhere())
            )
            if self.limit > 1:
                self.meter = _Meter()
        else:
            self.threads = int(n_threads)
        torch.set_num_threads(self.threads)

    def update(self) -> int:
        """Re-measure over the time since the last call (training calls it every epoch)."""
        if self.meter is not None and self.meter.elapsed() >= _MIN_INTERVAL_S:
            busy = self.meter.read()
            if busy is not None:
                _remember(busy)
                threads = auto_threads(self.limit, busy)
                if threads != self.threads:
                    self.threads = threads
                    torch.set_num_threads(threads)
        return self.threads


@contextlib.contextmanager
def thread_policy(n_threads: int | str | None) -> Iterator[_Policy]:
    """Set torch's CPU threads for a fit or a prediction, flush subnormal floats to zero
    on this thread meanwhile (see the module's notes); restore both afterwards.

    Parameters
    ----------
    n_threads : int, "auto" or None
        A number of threads; ``"auto"`` for the cores other processes leave idle (at most
        torch's setting); None for torch's setting unchanged.

    Yields
    ------
    policy
        ``policy.threads`` is the number in use; ``policy.update()`` re-decides "auto".

    Examples
    --------
    >>> with thread_policy(1) as policy:
    ...     policy.threads, torch.get_num_threads()
    (1, 1)
    """
    before = torch.get_num_threads()
    flushing = flushes_denormals()
    if not flushing:
        torch.set_flush_denormal(True)
    policy = _Policy(n_threads)
    try:
        yield policy
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
        if not flushing:
            torch.set_flush_denormal(False)


def flushes_denormals() -> bool:
    """Whether this thread's CPU flushes subnormal floats to zero.

    The setting of :func:`torch.set_flush_denormal`, which torch cannot report: a float32
    conversion of 1e-39 (subnormal in float32) gives 0 only when the CPU flushes.

    Returns
    -------
    bool

    Examples
    --------
    >>> before = flushes_denormals()
    >>> with thread_policy(1):  # flushes where the CPU can
    ...     pass
    >>> flushes_denormals() == before  # and restores the setting
    True
    """
    return torch.full((1,), 1e-39, dtype=torch.float32).item() == 0.0


def start_worker(threads: int, flush: bool) -> None:
    """Set up a new worker thread, which has its own OpenMP team size and floating-point
    flags: ``threads`` torch threads, subnormal floats flushed when ``flush``."""
    torch.set_num_threads(threads)
    if flush:
        torch.set_flush_denormal(True)


#: Most batches a prediction runs at once (each holds its activations in memory).
MAX_CONCURRENT_BATCHES = 2


class BatchWorkers:
    """Runs the batches of one prediction on ``n`` threads: inside each batch's operations
    while the cores are idle, whole batches at once while other processes keep cores busy.

    ``n`` threads inside every operation of a batch wait for each other at every parallel
    region; when another process keeps a core busy, each wait can last a time slice of
    the scheduler, and a prediction ran twice as slow on two threads as on one. Whole
    batches on separate threads never wait for each other and use whatever the other
    processes leave, but hold several batches in memory at once, which an idle machine
    does not repay for the larger models (``benchmarks/speed.py``, "Inference"). So the
    batches start one after the other, each on all ``n`` threads, and after every batch
    the load of the other processes, measured since the prediction started
    (``/proc/stat``, as ``n_threads="auto"`` does; a measurement of the last 2 s decides
    from the first batch), switches the rest of the prediction to whole batches when
    fewer than ``n`` cores are idle: ``min(n, MAX_CONCURRENT_BATCHES)`` batches at once,
    the ``n`` torch threads shared among them. The batches are the same either way.

    One instance serves one prediction (:meth:`TorchEstimator.inference
    <tsfilm.estimators.TorchEstimator.inference>`), which calls :meth:`close` at its end:
    its threads stop there, whatever happened to the batches in flight.

    Parameters
    ----------
    n : int
        Threads of the prediction (``n_threads`` as the policy resolved it; 1 off the CPU).
    autocast : callable
        Returns the prediction's autocast context, entered in every worker thread.

    Examples
    --------
    >>> import numpy as np
    >>> workers = BatchWorkers(2, contextlib.nullcontext)
    >>> rows = workers.map(lambda batch: np.array(batch) * 10, iter([[1, 2], [3]]))
    >>> [int(r) for r in rows]
    [10, 20, 30]
    >>> workers.close()
    """

    def __init__(self, n: int, autocast: Callable[[], contextlib.AbstractContextManager]) -> None:
        self.n = n
        self.autocast = autocast
        self.concurrent = min(n, MAX_CONCURRENT_BATCHES)
        self.threads_each = max(n // self.concurrent, 1)
        self._meter = _Meter() if n > 1 else None
        self._loaded = n > 1 and self._too_busy(recent_busy_cores())
        self._pool: ThreadPoolExecutor | None = None

    def _too_busy(self, busy: float | None) -> bool:
        return busy is not None and auto_threads(self.n, busy) < self.n

    def _measure(self) -> None:
        meter = self._meter
        if meter is None or meter.busy is None or meter.elapsed() < _MIN_INTERVAL_S:
            return
        busy = meter.read()
        if busy is not None:
            _remember(busy)
            self._loaded = self._too_busy(busy)

    def map(self, forward: Callable[[list], Any], batches: Iterator[list]) -> Iterator[Any]:
        """``forward`` of every batch, its outputs row by row, in order."""
        for batch in batches:
            if self._loaded:
                yield from self._concurrent(forward, itertools.chain([batch], batches))
                return
            yield from forward(batch)
            self._measure()

    def _run(self, forward: Callable[[list], Any], batch: list) -> Any:
        with torch.inference_mode(), self.autocast():  # grad mode and autocast are per thread
            return forward(batch)

    def _concurrent(self, forward: Callable[[list], Any], batches: Iterator[list]) -> Iterator[Any]:
        """Whole batches on the worker threads, ``concurrent`` in flight."""
        pending = deque(itertools.islice(batches, self.concurrent))
        if len(pending) < 2:  # at most one batch: its operations use the threads
            for batch in pending:
                yield from forward(batch)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.concurrent,
                thread_name_prefix="tsfilm-predict",
                initializer=start_worker,
                initargs=(self.threads_each, flushes_denormals()),
            )
        futures = deque(self._pool.submit(self._run, forward, b) for b in pending)
        while futures:
            done = futures.popleft().result()
            batch = next(batches, None)
            if batch is not None:  # keep the threads busy while the rows are consumed
                futures.append(self._pool.submit(self._run, forward, batch))
            yield from done

    def close(self) -> None:
        """Stop the worker threads, after the batches they are running.

        Examples
        --------
        >>> BatchWorkers(2, contextlib.nullcontext).close()
        """
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            # The workers set torch's default for new threads: give it back.
            torch.set_num_threads(self.n)
