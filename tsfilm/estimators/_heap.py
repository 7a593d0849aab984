"""Heap policy of the engine: on Linux with glibc, freed memory stays in the process
during a prediction, and goes back to the system at its end.

glibc's allocator serves large blocks (above a threshold that it raises, up to 32 MiB,
as such blocks are freed) with fresh ``mmap`` pages, and gives the free top of its heap
back to the system beyond a second threshold. A prediction allocates and frees the same
activations for every batch of chunks, some above 32 MiB (the small U-Net's first layers
on 16 chunks), so every batch faults its pages in again and the kernel zeroes each one:
about 600,000 page faults for a minute of audio with the small model (120,000 with the
policy below: the first touch of the call's memory). For the span of a prediction
:func:`heap_policy` raises both thresholds to 1 GiB, so freed blocks are reused without
faults; at its end it returns the free memory to the system (``malloc_trim``) and sets
the thresholds to 32 MiB and 64 MiB, the values glibc's own adjustment reaches once
large blocks have been freed (glibc cannot go back to adjusting them itself). Measured
(``benchmarks/speed.py``, "Heap", one thread, Intel Xeon, three runs): the small model
predicted 1.28 to 1.61 times as fast, the tiny one 0.96 to 1.21 times (a tie once the
spline got faster); the peak resident memory moved by -8 to +20 % (freed blocks that do
not fit the next request wait in the heap until the end of the call). Training repeats
the same allocations step after step, glibc's adjustment already serves them from the
heap, and a fit took the same time with and without the policy, so ``fit`` leaves the
allocator alone.

Nothing is changed where the user chose an allocator or its settings: another allocator in
``LD_PRELOAD`` (jemalloc, tcmalloc, mimalloc), any ``MALLOC_*`` variable or
``glibc.malloc`` tunable in the environment, or ``TSFILM_HEAP=system``. Nor on systems
without glibc (macOS, Windows, musl).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import platform
import threading
from collections.abc import Iterator

__all__ = ["heap_policy", "heap_policy_applies"]

#: ``mallopt`` parameters (``<malloc.h>``).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Thresholds during a prediction: blocks up to this size come from the heap,
#: and this much free memory may stay at its top.
_KEEP_BYTES = 1 << 30
#: Thresholds afterwards: glibc's dynamic maximum for mmap, twice that for trimming.
_AFTER_MMAP_BYTES = 32 << 20
_AFTER_TRIM_BYTES = 64 << 20
#: Environment variables by which a user chooses the allocator or its settings.
_USER_SETTINGS = (
    "MALLOC_ARENA_MAX",
    "MALLOC_MMAP_MAX_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_TRIM_THRESHOLD_",
)

_lock = threading.Lock()
_depth = 0
_active: ctypes.CDLL | None = None


def heap_policy_applies(environ: dict[str, str] | None = None) -> bool:
    """Whether :func:`heap_policy` changes anything in this process.

    Parameters
    ----------
    environ : dict, optional
        Environment to read, by default ``os.environ``.

    Returns
    -------
    bool
        True on Linux with glibc when the environment chooses neither another allocator
        (``LD_PRELOAD``), glibc's malloc settings (``MALLOC_*``, ``GLIBC_TUNABLES``) nor
        ``TSFILM_HEAP=system``.

    Examples
    --------
    >>> heap_policy_applies({"TSFILM_HEAP": "system"})
    False
    >>> heap_policy_applies({"MALLOC_TRIM_THRESHOLD_": "131072"})
    False
    """
    env = os.environ if environ is None else environ
    if env.get("TSFILM_HEAP", "").strip().lower() == "system":
        return False
    if any(name in env for name in _USER_SETTINGS):
        return False
    if "glibc.malloc" in env.get("GLIBC_TUNABLES", ""):
        return False
    if "malloc" in env.get("LD_PRELOAD", ""):  # jemalloc, tcmalloc, mimalloc, ...
        return False
    return _libc() is not None


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, where it is glibc with ``mallopt`` and ``malloc_trim``."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):
        return None
    return libc


@contextlib.contextmanager
def heap_policy() -> Iterator[bool]:
    """Keep freed memory in the process meanwhile; give it back afterwards (see the module).

    Nested and concurrent spans (predictions in several threads) act once:
    the first to enter sets the thresholds, the last to leave trims and sets them back.

    Yields
    ------
    bool
        Whether the policy is in force (:func:`heap_policy_applies` when the first span
        entered).

    Examples
    --------
    >>> with heap_policy() as kept:
    ...     isinstance(kept, bool)
    True
    """
    global _depth, _active
    with _lock:
        if _depth == 0:
            _active = _libc() if heap_policy_applies() else None
            if _active is not None:
                _active.mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES)
                _active.mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES)
        _depth += 1
        kept = _active is not None
    try:
        yield kept
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _active is not None:
                _active.mallopt(_M_MMAP_THRESHOLD, _AFTER_MMAP_BYTES)
                _active.mallopt(_M_TRIM_THRESHOLD, _AFTER_TRIM_BYTES)
                _active.malloc_trim(0)
                _active = None
