"""Speed of tsfilm's networks as ratios against this machine's own ceilings, in one run.

Everything is measured in one process, so that the ratios compare figures taken under
the same conditions (a shared machine changes its load from minute to minute):

1. **Machine**: CPU model and its bf16/AVX flags, torch version and threads,
   ``OMP_WAIT_POLICY``.
2. **Ceilings**: fp32 and bf16 matrix multiplication (GFLOP/s, best of n) with each
   thread count, without and with a competing busy process; cubic-spline up-sampling
   (:func:`tsfilm.preprocessing.spline_upsample`) in samples per second.
3. **Training step** of the super-resolution U-Net (the ``tsfilm train`` sizes, a batch
   of ``--batch-size`` patches of ``--patch-length`` samples, loss, backward and Adam
   step) with TFiLM layers and without (the Conv baseline): the TFiLM/Conv time ratio
   with each thread count, without and with a competing busy process (a
   pure-Python busy loop in a subprocess, spinning on one core). The networks compute
   their convolutions as ``conv_algorithm="auto"`` does (FFT for the long kernels,
   :class:`tsfilm.nn.Conv1d`); the same Conv network with every convolution computed
   directly is timed beside them ("direct/auto" is what the FFT buys). The Conv step's
   achieved GFLOP/s (the direct convolutions' FLOPs of one forward and backward pass,
   counted by ``torch.utils.flop_counter.FlopCounterMode``, over the step's time: the
   work done per second, however it is computed) is divided by the fp32 matmul ceiling
   at the same thread count and load. As ``fit`` does, a step on more than one thread runs
   the batch in two halves at once, one per thread (:mod:`tsfilm.estimators._split`);
   the same steps with the whole batch and the threads inside each operation (the engine
   before) are timed beside them.
4. **Thread policy**: the TFiLM step of the first size with one thread, all threads
   and ``n_threads="auto"`` (the cores other processes leave idle, as a fit decides at
   its start and after every epoch), without and with a competing process: "auto"
   should match the faster fixed setting in both.
5. **Precision**: the same steps under bfloat16 autocast, against float32.
6. **Inference**: real-time factor (seconds of 16 kHz audio per second of compute, ratio
   4) of :meth:`tsfilm.TFiLMSuperResolver.predict` on ``--minutes`` of audio with each
   of ``--inference-threads`` (numbers or "auto"), without and with a competing
   process, and the
   peak memory the call adds beyond its output array, each length in a fresh
   subprocess: resident memory (the kernel's peak counter, reset before the call; it
   includes torch's buffers and moves by tens of MB with the allocator's state) and
   NumPy's arrays alone (``tracemalloc``, in a second, untimed call: tracing every
   allocation slows the call down). The ratios of the longest to the shortest
   length show whether speed or memory depends on the length.
7. **Heap**: the same predictions, one thread and no competing load, with the engine's
   heap policy (:mod:`tsfilm.estimators._heap`: freed memory stays in the process for
   the call) and with glibc's defaults (``TSFILM_HEAP=system``), alternating in fresh
   processes: what keeping the freed blocks buys, and what it costs in peak memory.
8. **Text**: seconds per training epoch of :class:`tsfilm.TFiLMTextClassifier` and the
   SmallCNN and LSTM baselines (``"smallcnn_text"``, ``"lstm_text"``), each sized to
   about ``--text-params`` parameters as in ``benchmarks/text_classification.py``, on
   random documents, trained in float32 (``--text-precision``); the TFiLM/SmallCNN and
   TFiLM/LSTM ratios are printed next to the paper's (Table 5). Twice: with a vocabulary
   of 20,000 words (2,000 documents), where the token embedding holds 900,000 of the
   million parameters and leaves the networks small, and with 100 tokens (characters,
   500 documents), where the networks hold nearly all of them. The paper does not say
   which its "1M parameters" were.
9. **Floors**: what TFiLM costs beyond the convolutions, on one thread without a competing
   process. For each U-Net size: the Conv and TFiLM steps, the TFiLM layers alone (forward
   and backward on the inputs they get in the step, whole batch), their RNNs and
   projections alone (on the pooled blocks), and one element-wise pass over the layers'
   activations (the least a fused pool and modulation would read and write), each
   against the Conv step: TFiLM/Conv <= 1.10 needs the layers within 10 % of it. For text
   (the word vocabulary): training steps of the three networks and of the TFiLM network
   whose convolutions cost nothing (each replaced by a crop of its padding, channels
   padded with zeros): a floor for TFiLM/SmallCNN and TFiLM/LSTM that no faster
   convolution can go below.

Compared variants are measured alternately (A B A B ...) after a warm-up, so that a
change of load hits both; a time is the best of ``--repeats``, and the tables give the
ratio of the best times (the training table also the ratio of the medians). The
"load average" columns give the system's one-minute load average after each row, to
show how busy the machine was besides this benchmark. Prints markdown tables and
writes every figure as CSV (``--out``).

Example (about fifteen minutes on two shared CPU cores; ``--quick`` takes three or four)::

    python benchmarks/speed.py --out speed.csv
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import gc
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from argparse import Namespace
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

SAMPLE_RATE = 16000
RATIO = 4
#: The paper's seconds per epoch of TFiLM over SmallCNN and over LSTM (Table 5).
PAPER_TEXT_RATIOS = {"smallcnn": 0.38, "lstm": 0.30}
#: Registry name of each text network, and the hyper-parameter that sets its width.
TEXT_NETWORKS = {
    "tfilm": ("tfilm_text", "n_filters"),
    "smallcnn": ("smallcnn_text", "n_filters"),
    "lstm": ("lstm_text", "hidden_size"),
}
#: A pure-Python busy loop that stops by itself when its parent dies or after `limit` seconds.
_BUSY_LOOP = (
    "import os, time\n"
    "parent, end = os.getppid(), time.monotonic() + {limit}\n"
    "while os.getppid() == parent and time.monotonic() < end:\n"
    "    for _ in range(100000):\n"
    "        pass\n"
)
IDLE, BUSY = "none", "1 busy process"


# ---------------------------------------------------------------------- helpers
class Records:
    """Every measured figure, for the CSV file: section, item, setting and value."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(
        self, section: str, item: str, value: float | str, unit: str = "", **setting: object
    ) -> None:
        detail = ", ".join(f"{k}={v}" for k, v in setting.items())
        self.rows.append(
            {"section": section, "item": item, "setting": detail, "value": value, "unit": unit}
        )

    def write(self, path: Path) -> None:
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(
                handle, fieldnames=["section", "item", "setting", "value", "unit"]
            )
            writer.writeheader()
            writer.writerows(self.rows)


def table(header: list[str], rows: list[list]) -> None:
    """Print a markdown table; numbers are right-aligned."""
    print()
    print("| " + " | ".join(header) + " |")
    aligns = ["---:" if rows and isinstance(v, (int, float)) else "---" for v in rows[0]]
    print("|" + "|".join(aligns) + "|")
    for row in rows:
        print("| " + " | ".join(_fmt(v) for v in row) + " |")
    print(flush=True)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def interleaved(
    variants: dict[str, Callable[[], object]], repeats: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Seconds of every call of every variant, called alternately (A B A B ...)."""
    for _ in range(warmup):
        for fn in variants.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


@contextlib.contextmanager
def competing_load(busy: bool, limit_s: float = 900.0) -> Iterator[None]:
    """Run the block while a pure-Python busy loop spins on one core (when ``busy``)."""
    if not busy:
        yield
        return
    code = _BUSY_LOOP.format(limit=limit_s)
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.3)  # let it start spinning
        yield
    finally:
        process.kill()
        process.wait()


def _threads(n: int) -> None:
    torch.set_num_threads(n)


# ---------------------------------------------------------------------- 1. machine
def machine_info() -> dict[str, str]:
    """CPU model and flags, torch version and threads, OpenMP wait policy."""
    model, flags = platform.processor() or "?", set()
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        lscpu = ""
    for line in lscpu.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Model name":
            model = value.strip()
        elif key.strip() == "Flags":
            flags = set(value.split())
    cpus = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = cpus
    return {
        "CPU": model,
        "CPUs usable": f"{usable} (of {cpus})",
        "avx2": "yes" if "avx2" in flags else "no",
        "avx512_bf16": "yes" if "avx512_bf16" in flags else "no",
        "amx_bf16": "yes" if "amx_bf16" in flags else "no",
        "torch": torch.__version__,
        "torch.get_num_threads()": str(torch.get_num_threads()),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "(unset)"),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
        "load average (1 min) at start": f"{os.getloadavg()[0]:.2f}",
    }


# ---------------------------------------------------------------------- 2. ceilings
def matmul_ceilings(args: Namespace, records: Records) -> dict[tuple[str, int, str], float]:
    """Best matmul GFLOP/s per (dtype, threads, load)."""
    n = args.matmul_size
    a32, b32 = torch.randn(n, n), torch.randn(n, n)
    operands = {"fp32": (a32, b32), "bf16": (a32.bfloat16(), b32.bfloat16())}
    flops = 2 * n**3
    result = {}
    for load in args.loads:
        with competing_load(load == BUSY):
            for threads in args.threads:
                _threads(threads)
                variants = {
                    dtype: (lambda a=a, b=b: torch.mm(a, b)) for dtype, (a, b) in operands.items()
                }
                times = interleaved(variants, args.matmul_repeats, warmup=2)
                for dtype, seconds in times.items():
                    gflops = flops / min(seconds) / 1e9
                    result[dtype, threads, load] = gflops
                    records.add(
                        "ceilings",
                        f"{dtype} matmul {n}x{n}",
                        gflops,
                        "GFLOP/s",
                        threads=threads,
                        load=load,
                    )
    return result


def spline_ceiling(args: Namespace, records: Records) -> float:
    """Output samples per second of the cubic-spline up-sampling (single-threaded SciPy)."""
    from tsfilm.preprocessing import spline_upsample

    x = _speech_like(int(args.spline_seconds * SAMPLE_RATE / RATIO), SAMPLE_RATE / RATIO)
    out_len = x.shape[-1] * RATIO
    times = interleaved({"spline": lambda: spline_upsample(x, RATIO)}, args.matmul_repeats)
    rate = out_len / min(times["spline"])
    records.add("ceilings", "spline_upsample", rate, "samples/s", seconds=args.spline_seconds)
    return rate


def _speech_like(n: int, rate: float) -> np.ndarray:
    """A wandering harmonic tone with a little noise (float32), enough for timing."""
    t = np.arange(n) / rate
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    noise = np.random.default_rng(0).normal(size=n)
    return (0.3 * np.sin(phase) + 0.1 * np.sin(3 * phase) + 0.01 * noise).astype(np.float32)


# ---------------------------------------------------------------------- 3-4. training
@functools.cache
def _halves() -> object:
    """One SplitSteps (two worker threads) for every step of this process."""
    from tsfilm.estimators._split import SplitSteps

    return SplitSteps(contextlib.nullcontext)


def _unet_step(
    size: str, tfilm: bool, args: Namespace, bf16: bool = False, algorithm: str = "auto"
) -> tuple[torch.nn.Module, Callable[..., None], tuple]:
    """The module and one training step (loss, backward, Adam) of the estimator's U-Net,
    its convolutions computed by ``algorithm`` (:class:`tsfilm.nn.Conv1d`). As in ``fit``,
    a step on more than one thread runs the batch in halves, one per thread
    (:mod:`tsfilm.estimators._split`); ``step(split=False)`` runs it whole, the threads
    inside each operation (the engine before the halves)."""
    from tsfilm import TFiLMSuperResolver
    from tsfilm.cli import SIZES
    from tsfilm.estimators._base import make_adam
    from tsfilm.estimators._split import part_generators
    from tsfilm.nn import Conv1d
    from tsfilm.nn.dropout import row_generators

    est = TFiLMSuperResolver(**SIZES[size], tfilm=tfilm, patch_length=args.patch_length)
    est.n_channels_ = 1
    module = est.build_module().train()
    for layer in module.modules():
        if isinstance(layer, Conv1d):
            layer.algorithm = algorithm
    optimizer = make_adam(module, est.learning_rate, torch.device("cpu"))
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch_size, 1, args.patch_length, generator=generator)
    y = x + 0.1 * torch.randn(x.shape, generator=generator)

    halves = _halves()

    def step(bf16: bool = bf16, split: bool | None = None) -> None:
        optimizer.zero_grad(set_to_none=True)
        threads = torch.get_num_threads()
        halves.autocast = (
            functools.partial(torch.autocast, "cpu", dtype=torch.bfloat16)
            if bf16
            else contextlib.nullcontext
        )
        if threads > 1 if split is None else split:
            loss_of = functools.partial(est.compute_loss, module)
            halves.backward(loss_of, est.loss_weight, (x, y), threads)
        else:
            with row_generators(part_generators(x.shape[0])), halves.autocast():
                loss = est.compute_loss(module, (x, y))
            loss.backward()
        optimizer.step()

    return module, step, (est, x, y)


def conv_flops(module: torch.nn.Module, est, x: torch.Tensor, y: torch.Tensor) -> int:
    """FLOPs of one forward and backward pass, as FlopCounterMode counts them (of the
    direct convolutions, given a module whose convolutions are computed directly)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        est.compute_loss(module, (x, y)).backward()
    module.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def training_steps(args: Namespace, ceilings: dict, records: Records) -> tuple[list[list], dict]:
    """TFiLM/Conv step-time ratios per size, threads and load."""
    rows, steps, params = [], {}, {}
    for size in args.sizes:
        torch.manual_seed(0)
        tfilm_module, tfilm_step, _ = _unet_step(size, True, args)
        conv_module, conv_step, _ = _unet_step(size, False, args)
        direct_module, direct_step, (est, x, y) = _unet_step(size, False, args, algorithm="direct")
        steps[size] = {"TFiLM": tfilm_step, "Conv": conv_step, "Conv direct": direct_step}
        # The work of a step: the direct convolutions' FLOPs, whatever computes them.
        flops = conv_flops(direct_module, est, x, y)
        params[size] = {
            name: sum(p.numel() for p in m.parameters())
            for name, m in (("TFiLM", tfilm_module), ("Conv", conv_module))
        }
        records.add("training", f"{size} Conv FLOPs per step", flops, "FLOP")
        for name, count in params[size].items():
            records.add("training", f"{size} {name} parameters", count)
        for threads in args.threads:
            variants = dict(steps[size])
            if threads > 1:  # the engine before the halves: the threads inside each operation
                variants["TFiLM ops"] = functools.partial(steps[size]["TFiLM"], split=False)
                variants["Conv ops"] = functools.partial(steps[size]["Conv"], split=False)
            for load in args.loads:
                _threads(threads)
                with competing_load(load == BUSY):
                    times = interleaved(variants, args.repeats)
                best = {k: min(v) for k, v in times.items()}
                median = {k: statistics.median(v) for k, v in times.items()}
                achieved = flops / best["Conv"] / 1e9
                ceiling = ceilings["fp32", threads, load]
                setting = {"size": size, "threads": threads, "load": load}
                for name in best:
                    records.add("training", f"{name} step best", best[name], "s", **setting)
                    records.add("training", f"{name} step median", median[name], "s", **setting)
                ratio = best["TFiLM"] / best["Conv"]
                ratio_median = median["TFiLM"] / median["Conv"]
                records.add("training", "TFiLM/Conv (best)", ratio, **setting)
                records.add("training", "TFiLM/Conv (median)", ratio_median, **setting)
                records.add("training", "Conv achieved", achieved, "GFLOP/s", **setting)
                records.add(
                    "training", "Conv achieved / fp32 matmul", achieved / ceiling, **setting
                )
                records.add("training", "load average", os.getloadavg()[0], **setting)
                direct_ratio = best["Conv direct"] / best["Conv"]
                records.add("training", "Conv direct/auto", direct_ratio, **setting)
                nan = float("nan")
                ops = [best.get("TFiLM ops", nan), best.get("Conv ops", nan)]
                ops_ratio = ops[0] / ops[1]
                records.add("training", "TFiLM/Conv, threads in ops (best)", ops_ratio, **setting)
                rows.append(
                    [
                        size,
                        threads,
                        load,
                        best["TFiLM"],
                        best["Conv"],
                        ratio,
                        ratio_median,
                        *ops,
                        ops_ratio,
                        best["Conv direct"],
                        direct_ratio,
                        achieved,
                        ceiling,
                        achieved / ceiling,
                        os.getloadavg()[0],
                    ]
                )
                print(
                    f"  training {size}, {threads} thread(s), load {load}: TFiLM/Conv {ratio:.2f}",
                    flush=True,
                )
    return rows, params


def thread_policy_steps(args: Namespace, records: Records) -> list[list]:
    """TFiLM training-step time with 1 thread, all threads and ``n_threads="auto"``."""
    from tsfilm.estimators._threads import busy_cores_elsewhere, thread_policy

    rows = []
    all_threads = max(args.threads)
    size = args.sizes[0]
    _threads(all_threads)
    _, step, _ = _unet_step(size, True, args)

    def fixed(n: int) -> Callable[[], None]:
        def run() -> None:
            _threads(n)
            step()

        return run

    def auto() -> None:
        # What a fit does at its start and after every epoch (a measurement at most 2 s old).
        _threads(all_threads)
        with thread_policy("auto") as policy:
            chosen.append(policy.threads)
            step(split=True)  # fit runs halves whatever "auto" picks, sharing its threads

    variants = {"1 thread": fixed(1), f"{all_threads} threads": fixed(all_threads), "auto": auto}
    for load in args.loads:
        chosen: list[int] = []
        with competing_load(load == BUSY):
            busy = busy_cores_elsewhere(max_age=0)
            times = interleaved(variants, args.repeats)
        best = {k: min(v) for k, v in times.items()}
        fastest = min(best[k] for k in variants if k != "auto")
        setting = {"size": size, "load": load}
        for name, value in best.items():
            records.add("threads", f"TFiLM step best, {name}", value, "s", **setting)
        records.add("threads", "auto / fastest fixed", best["auto"] / fastest, **setting)
        records.add("threads", "busy cores elsewhere", busy if busy is not None else "n/a")
        picked = "/".join(str(t) for t in sorted(set(chosen)))
        row = [size, load, "n/a" if busy is None else busy, *best.values(), picked]
        rows.append([*row, best["auto"] / fastest, os.getloadavg()[0]])
        print(f"  threads {size}, load {load}: auto picked {picked}", flush=True)
    return rows


def step_child(size: str, threads: int, args: Namespace) -> dict:
    """Best TFiLM and Conv training-step times, in this (fresh) process."""
    _threads(threads)
    steps = {name: _unet_step(size, name == "TFiLM", args)[1] for name in ("TFiLM", "Conv")}
    times = interleaved(steps, args.repeats)
    return {name: min(values) for name, values in times.items()}


def wait_policy_steps(args: Namespace, records: Records) -> list[list]:
    """Training steps with all threads under OpenMP's default wait policy and tsfilm's."""
    rows = []
    size, threads = args.sizes[0], max(args.threads)
    for load in args.loads:
        best = {}
        for policy in ("OpenMP default", "PASSIVE"):
            env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
            if policy != "OpenMP default":
                env["OMP_WAIT_POLICY"] = "PASSIVE"
            command = [sys.executable, __file__, "--child-step", size, "--child-threads"]
            command += [str(threads), "--patch-length", str(args.patch_length)]
            command += ["--batch-size", str(args.batch_size), "--repeats", str(args.repeats)]
            with competing_load(load == BUSY):
                done = subprocess.run(command, capture_output=True, text=True, env=env)
            if done.returncode != 0:
                raise RuntimeError(f"step child failed:\n{done.stderr}")
            best[policy] = json.loads(done.stdout.strip().splitlines()[-1])
            for name, value in best[policy].items():
                records.add(
                    "wait policy",
                    f"{name} step best",
                    value,
                    "s",
                    size=size,
                    threads=threads,
                    load=load,
                    policy=policy,
                )
        default, passive = best["OpenMP default"], best["PASSIVE"]
        rows.append(
            [
                size,
                threads,
                load,
                default["TFiLM"],
                passive["TFiLM"],
                default["TFiLM"] / passive["TFiLM"],
                default["Conv"],
                passive["Conv"],
                default["Conv"] / passive["Conv"],
                passive["TFiLM"] / passive["Conv"],
            ]
        )
    return rows


def precision_steps(args: Namespace, records: Records) -> list[list]:
    """bf16-autocast/fp32 step-time ratios of the same training steps."""
    rows = []
    for size in args.sizes:
        for tfilm in (True, False):
            torch.manual_seed(0)
            _, step, _ = _unet_step(size, tfilm, args)
            name = "TFiLM" if tfilm else "Conv"
            for threads in args.precision_threads:
                _threads(threads)
                times = interleaved(
                    {"fp32": functools.partial(step, False), "bf16": functools.partial(step, True)},
                    args.repeats,
                )
                fp32, bf16 = min(times["fp32"]), min(times["bf16"])
                setting = {"size": size, "model": name, "threads": threads}
                records.add("precision", "fp32 step best", fp32, "s", **setting)
                records.add("precision", "bf16 step best", bf16, "s", **setting)
                records.add("precision", "bf16/fp32", bf16 / fp32, **setting)
                records.add("precision", "load average", os.getloadavg()[0], **setting)
                rows.append([size, name, threads, fp32, bf16, bf16 / fp32, os.getloadavg()[0]])
                print(
                    f"  precision {size} {name}, {threads} thread(s): bf16/fp32 {bf16 / fp32:.2f}",
                    flush=True,
                )
    return rows


# ---------------------------------------------------------------------- 5. inference
def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _release_free_memory() -> None:
    """Give freed heap memory back to the system (glibc), so RSS counts live memory only."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_bytes(reset: bool) -> int:
    if reset:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KB on Linux


def inference_child(model: Path, seconds: float, threads: str, numpy_peak: bool = True) -> dict:
    """One up-sampling measurement, in this (fresh) process; ``numpy_peak=False`` leaves
    out the second call that measures NumPy's arrays."""
    import tracemalloc

    import tsfilm

    est = tsfilm.load(model)
    # A number fixes torch's threads; "auto" leaves the choice to the estimator.
    est.set_params(n_threads=threads if threads == "auto" else int(threads))
    n_low = round(seconds * SAMPLE_RATE / RATIO)
    x = _speech_like(n_low, SAMPLE_RATE / RATIO)[None]
    chunk = int(est.chunk_length or 4 * est.patch_length) // RATIO
    # Warm-up: a full batch of chunks and a partial one, so that the allocator holds its
    # steady state before the peak counter is reset (what a long file adds is then visible).
    est.predict(x[:, : min(n_low, (est.batch_size + 1) * chunk + 7)])
    _release_free_memory()
    before = _rss_bytes()
    reset = _reset_peak()
    start = time.perf_counter()
    out = est.predict(x)
    elapsed = time.perf_counter() - start
    peak = _peak_bytes(reset)
    assert out.shape == (1, n_low * RATIO) and np.all(np.isfinite(out))
    numpy_extra = None
    if numpy_peak:
        # NumPy's arrays in a second call: tracemalloc traces every Python allocation,
        # which made the timed call 10 to 15 % slower when it ran there.
        del out
        _release_free_memory()
        tracemalloc.start()  # NumPy reports its arrays to tracemalloc; torch does not
        out = est.predict(x)
        numpy_extra = int(tracemalloc.get_traced_memory()[1] - out.nbytes)
        tracemalloc.stop()
    return {
        "seconds": elapsed,
        "audio_seconds": n_low * RATIO / SAMPLE_RATE,
        "output_bytes": int(out.nbytes),
        "rss_extra_bytes": int(peak - before - out.nbytes),
        "numpy_extra_bytes": numpy_extra,
        "peak_reset": reset,
    }


def fit_small_model(size: str, args: Namespace, path: Path) -> int:
    """Fit a super-resolver of ``size`` for one epoch on a few seconds of audio; save it."""
    from tsfilm import TFiLMSuperResolver
    from tsfilm.cli import SIZES

    audio = _speech_like(int(args.fit_seconds * SAMPLE_RATE), SAMPLE_RATE)
    est = TFiLMSuperResolver(
        ratio=RATIO,
        patch_length=args.patch_length,
        sample_rate=SAMPLE_RATE,
        max_epochs=1,
        validation_fraction=0.0,
        patience=None,
        precision="float32",
        random_state=0,
        **SIZES[size],
    ).fit(audio[None])
    est.save(path)
    return sum(p.numel() for p in est.module_.parameters())


def _inference_run(
    model: Path, minutes: float, threads: str, heap: str = "", numpy_peak: bool = True
) -> dict:
    """:func:`inference_child` in a fresh process; ``heap="system"`` sets ``TSFILM_HEAP``."""
    command = [sys.executable, __file__, "--child-model", str(model)]
    command += ["--child-seconds", str(minutes * 60), "--child-threads", str(threads)]
    if not numpy_peak:
        command.append("--child-no-numpy")
    env = dict(os.environ)
    env.pop("TSFILM_HEAP", None)
    if heap:
        env["TSFILM_HEAP"] = heap
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"inference child failed:\n{done.stderr}")
    r = json.loads(done.stdout.strip().splitlines()[-1])
    r["rtf"] = r["audio_seconds"] / r["seconds"]
    return r


def heap_comparison(args: Namespace, records: Records, models: dict[str, Path]) -> list[list]:
    """Prediction with the engine's heap policy against glibc's defaults (``TSFILM_HEAP=system``),
    one thread, no competing load, the two alternating in fresh processes."""
    rows = []
    for size, model in models.items():
        for minutes in args.minutes:
            runs: dict[str, list[dict]] = {"kept": [], "system": []}
            for _ in range(args.heap_repeats):
                for heap in runs:
                    setting = "" if heap == "kept" else heap
                    runs[heap].append(
                        _inference_run(model, minutes, "1", setting, numpy_peak=False)
                    )
            best = {heap: max(r["rtf"] for r in v) for heap, v in runs.items()}
            rss = {heap: min(r["rss_extra_bytes"] for r in v) / 2**20 for heap, v in runs.items()}
            setting = {"size": size, "minutes": minutes, "threads": 1, "load": IDLE}
            for heap in runs:
                records.add("heap", f"real-time factor, {heap}", best[heap], **setting)
                records.add("heap", f"peak RSS beyond output, {heap}", rss[heap], "MB", **setting)
            ratio = best["kept"] / best["system"]
            records.add("heap", "RTF kept/system", ratio, **setting)
            rows.append([size, minutes, best["kept"], best["system"], ratio, *rss.values()])
            print(
                f"  heap {size}, {minutes} min: RTF {best['kept']:.1f} kept, "
                f"{best['system']:.1f} system",
                flush=True,
            )
    return rows


def saved_models(args: Namespace, folder: Path) -> dict[str, Path]:
    """One fitted super-resolver per size, saved in ``folder``, for sections 6 and 7."""
    models = {}
    for size in args.sizes:
        models[size] = folder / f"{size}.tsfilm"
        fit_small_model(size, args, models[size])
    return models


def inference(
    args: Namespace, spline_rate: float, records: Records, models: dict[str, Path]
) -> tuple[list[list], list[list]]:
    """Real-time factor and extra peak memory of predict per size, threads, load and length."""
    rows, growth = [], []
    for size, model in models.items():
        for threads in args.inference_threads:
            for load in args.loads:
                results = []
                for minutes in args.minutes:
                    with competing_load(load == BUSY):
                        r = _inference_run(model, minutes, threads)
                    results.append(r)
                    rss_mb = r["rss_extra_bytes"] / 2**20
                    numpy_mb = r["numpy_extra_bytes"] / 2**20
                    spline = r["rtf"] * SAMPLE_RATE / spline_rate
                    setting = {"size": size, "minutes": minutes, "threads": threads}
                    setting["load"] = load
                    records.add("inference", "compute", r["seconds"], "s", **setting)
                    records.add("inference", "real-time factor", r["rtf"], **setting)
                    records.add("inference", "RTF / spline RTF", spline, **setting)
                    output_mb = r["output_bytes"] / 2**20
                    records.add("inference", "output", output_mb, "MB", **setting)
                    records.add("inference", "peak RSS beyond output", rss_mb, "MB", **setting)
                    records.add("inference", "NumPy beyond output", numpy_mb, "MB", **setting)
                    rows.append([size, minutes, threads, load, r["seconds"], r["rtf"]])
                    rows[-1] += [spline, output_mb, rss_mb, numpy_mb]
                    print(
                        f"  inference {size}, {minutes} min, {threads} thread(s), load "
                        f"{load}: RTF {r['rtf']:.1f}, peak RSS {rss_mb:.0f} MB beyond output",
                        flush=True,
                    )
                first, last = results[0], results[-1]
                label = f"{args.minutes[-1]:g} min / {args.minutes[0]:g} min"
                ratios = [last["rtf"] / first["rtf"]]
                for key in ("rss_extra_bytes", "numpy_extra_bytes"):
                    ratios.append(last[key] / max(first[key], 1))
                names = ("RTF", "peak RSS", "NumPy peak")
                for name, ratio in zip(names, ratios, strict=True):
                    records.add(
                        "inference",
                        f"{name} {label}",
                        ratio,
                        size=size,
                        threads=threads,
                        load=load,
                    )
                growth.append([size, threads, load, label, *ratios])
    return rows, growth


# ---------------------------------------------------------------------- 6. text
def _random_texts(args: Namespace, vocabulary: int, documents: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(0)
    ids = rng.integers(0, vocabulary, size=(documents, args.text_length))
    texts = [" ".join(f"w{i}" for i in row) for row in ids]
    return texts, rng.integers(0, 2, size=documents)


def _text_module(estimator, tokens: list[str]) -> torch.nn.Module:
    """The network ``estimator`` builds for ``tokens`` and two classes, without fitting."""
    probe = estimator.__class__(**estimator.get_params())
    probe.tokens_ = tokens
    probe.classes_ = np.array([0, 1])
    return probe.build_module()


def _count_parameters(estimator, tokens: list[str]) -> int:
    """Parameters of the network ``estimator`` builds for ``tokens`` and two classes."""
    return sum(p.numel() for p in _text_module(estimator, tokens).parameters())


def _sized(name: str, target: int, tokens: list[str], common: dict) -> tuple[object, str, int]:
    """The text network ``name`` with the width whose parameter count is closest to target."""
    from tsfilm.registry import make_model

    registered, width = TEXT_NETWORKS[name]

    def count(value: int) -> int:
        return _count_parameters(make_model(registered, **common, **{width: value}), tokens)

    high = 4
    while count(high) < target and high < 8192:
        high *= 2
    low = max(high // 2, 1)
    while low < high:  # smallest width reaching the target
        mid = (low + high) // 2
        low, high = (mid + 1, high) if count(mid) < target else (low, mid)
    best = min((w for w in (low - 1, low) if w >= 1), key=lambda w: abs(count(w) - target))
    return make_model(registered, **common, **{width: best}), f"{width}={best}", count(best)


def _text_models(
    args: Namespace, texts: list[str], vocabulary: int
) -> tuple[list[str], dict[str, tuple[object, str, int]]]:
    """The tokens of ``texts`` and the three text estimators, each sized to about
    ``--text-params`` parameters: name -> (estimator, width, parameters)."""
    from tsfilm.preprocessing import TextTokenizer

    common = {
        "max_vocabulary": vocabulary,
        "max_length": args.text_length,
        "embedding_dim": args.embedding_dim,
        "batch_size": args.text_batch_size,
        "max_epochs": 1,
        "validation_fraction": 0.0,
        "patience": None,
        "n_threads": args.text_threads,
        "precision": args.text_precision,
        "random_state": 0,
    }
    tokens = (
        TextTokenizer(max_vocabulary=vocabulary, max_length=args.text_length).fit(texts).tokens_
    )
    models = {name: _sized(name, int(args.text_params), tokens, common) for name in TEXT_NETWORKS}
    return tokens, models


def text_epochs(args: Namespace, records: Records, vocabulary: int, documents: int) -> list[list]:
    """Seconds per epoch of the three text networks at about matched parameter counts."""
    from sklearn.base import clone

    texts, labels = _random_texts(args, vocabulary, documents)
    _, models = _text_models(args, texts, vocabulary)
    for name, (_, width, n) in models.items():
        print(f"  text {name}: {width}, {n:,} parameters", flush=True)

    def epoch(est: object) -> Callable[[], float]:
        return lambda: est.fit(texts, labels).history_[-1]["seconds"]

    # The engine's own epoch time (training only, without tokenizing): best of repeats,
    # the models taking turns.
    seconds: dict[str, list[float]] = {name: [] for name in models}
    warm = max(len(texts) // 10, 2 * args.text_batch_size)
    for est, _, _ in models.values():  # warm-up on a tenth of the documents
        clone(est).fit(texts[:warm], labels[:warm])
    for _ in range(args.text_repeats):
        for name, (est, _, _) in models.items():
            seconds[name].append(epoch(est)())
    best = {name: min(v) for name, v in seconds.items()}
    rows = []
    for name, (_, width, n) in models.items():
        ratio = best["tfilm"] / best[name]
        paper = PAPER_TEXT_RATIOS.get(name, float("nan"))
        setting = {"model": name, "threads": args.text_threads, "vocabulary": vocabulary}
        records.add("text", "parameters", n, **setting)
        records.add("text", "seconds per epoch", best[name], "s", **setting)
        records.add("text", "TFiLM / this", ratio, **setting)
        records.add("text", "paper TFiLM / this", paper, **setting)
        rows.append([name, n, width, best[name], ratio, paper])
    return rows


# ---------------------------------------------------------------------- 9. floors
def _layer_inputs(module: torch.nn.Module, x: torch.Tensor) -> list[tuple[object, tuple]]:
    """Every TFiLM layer of ``module`` with the shape of its input in a forward pass of x."""
    from tsfilm.nn import TFiLM

    seen: list[tuple[object, tuple]] = []
    hooks = [
        layer.register_forward_pre_hook(lambda m, a: seen.append((m, tuple(a[0].shape))))
        for layer in module.modules()
        if isinstance(layer, TFiLM)
    ]
    try:
        with torch.no_grad():
            module(x)
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def _tfilm_parts(layers: list[tuple[object, tuple]]) -> dict[str, Callable[[], None]]:
    """Forward and backward of the TFiLM layers alone, of their RNNs and projections
    alone, and one element-wise pass over their activations."""
    generator = torch.Generator().manual_seed(0)
    whole, rnns, passes = [], [], []
    for layer, shape in layers:
        x = torch.randn(shape, generator=generator).requires_grad_()
        grad = torch.randn(shape, generator=generator)
        n, c, length = shape
        blocks = -(-length // layer.block_length_for(length))
        pooled = torch.randn(n, blocks, c, generator=generator).requires_grad_()

        def run_layer(layer=layer, x=x, grad=grad) -> None:
            layer.zero_grad(set_to_none=True)
            x.grad = None
            layer(x).backward(grad)

        def run_rnn(layer=layer, pooled=pooled) -> None:
            layer.zero_grad(set_to_none=True)
            pooled.grad = None
            out, _ = layer.rnn(pooled)
            if layer.projection is not None:
                out = layer.projection(out)
            out.backward(torch.ones_like(out))

        buffer = torch.empty(shape)
        whole.append(run_layer)
        rnns.append(run_rnn)
        passes.append(functools.partial(torch.mul, x.detach(), 2.0, out=buffer))

    def each(calls: list[Callable[[], object]]) -> Callable[[], None]:
        def run_all() -> None:
            for call in calls:
                call()

        return run_all

    return {"TFiLM layers": each(whole), "RNNs": each(rnns), "one pass": each(passes)}


def unet_floors(args: Namespace, records: Records) -> list[list]:
    """The TFiLM layers' own cost against the Conv step, per size (one thread, idle)."""
    from tsfilm.estimators._threads import thread_policy

    rows = []
    for size in args.sizes:
        torch.manual_seed(0)
        tfilm_module, tfilm_step, (_, x, _) = _unet_step(size, True, args)
        _, conv_step, _ = _unet_step(size, False, args)
        layers = _layer_inputs(tfilm_module, x)
        variants = {"TFiLM step": tfilm_step, "Conv step": conv_step, **_tfilm_parts(layers)}
        with thread_policy(1):  # one thread, subnormal floats flushed, as in fit
            times = interleaved(variants, args.repeats)
        best = {k: min(v) for k, v in times.items()}
        conv = best["Conv step"]
        row: list = [size, len(layers), 1e3 * conv, 1e3 * best["TFiLM step"]]
        row.append(best["TFiLM step"] / conv)
        for name in ("TFiLM layers", "RNNs", "one pass"):
            row += [1e3 * best[name], best[name] / conv]
        for name, value in best.items():
            records.add("floors", f"{name} (s)", value, "s", size=size, threads=1)
            records.add("floors", f"{name} / Conv step", value / conv, size=size, threads=1)
        rows.append(row)
        print(f"  floors {size}: TFiLM layers / Conv step {row[6]:.3f}", flush=True)
    return rows


class _FreeConv(torch.nn.Module):
    """A SmallCNN convolution at no cost: drops the "same" padding the network adds
    before it and pads the channels with zeros up to its ``out_channels`` (or keeps the
    first ``out_channels``)."""

    def __init__(self, out_channels: int, padding: tuple[int, int]) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right = self.padding
        x = x[..., left : x.shape[-1] - right]
        extra = self.out_channels - x.shape[1]
        return (
            torch.nn.functional.pad(x, (0, 0, 0, extra)) if extra > 0 else x[:, : self.out_channels]
        )


def text_floors(args: Namespace, records: Records) -> list[list]:
    """Training steps of the text networks (word vocabulary) and of the TFiLM network
    without the cost of its convolutions."""
    import copy

    from tsfilm.estimators._base import make_adam
    from tsfilm.estimators._threads import thread_policy

    vocabulary, documents = args.text_configs[0]
    texts, _ = _random_texts(args, vocabulary, documents)  # the text section's networks
    tokens, models = _text_models(args, texts, vocabulary)
    modules = {}
    for name, (est, _, _) in models.items():
        torch.manual_seed(0)
        modules[name] = _text_module(est, tokens).train()
    free = copy.deepcopy(modules["tfilm"])
    body = free.body
    body.convs = torch.nn.ModuleList(
        _FreeConv(conv.out_channels, body._same_padding) for conv in body.convs
    )
    modules["tfilm, convolutions free"] = free
    generator = torch.Generator().manual_seed(0)
    shape = (args.text_batch_size, args.text_length)
    x = torch.randint(1, len(tokens), shape, generator=generator)
    y = torch.randint(0, 2, (args.text_batch_size,), generator=generator)

    def step(module: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(module(x), y).backward()
        optimizer.step()

    variants = {
        name: functools.partial(step, m, make_adam(m, 1e-3, torch.device("cpu")))
        for name, m in modules.items()
    }
    with thread_policy(args.text_threads):  # subnormal floats flushed, as in fit
        times = interleaved(variants, 4 * args.repeats)
    best = {k: min(v) for k, v in times.items()}
    rows = []
    for name, seconds in best.items():
        n = sum(p.numel() for p in modules[name].parameters())
        ratios = [seconds / best["smallcnn"], seconds / best["lstm"]]
        setting = {"model": name, "threads": args.text_threads, "vocabulary": vocabulary}
        records.add("floors", "text step", seconds, "s", **setting)
        records.add("floors", "text step / smallcnn", ratios[0], **setting)
        records.add("floors", "text step / lstm", ratios[1], **setting)
        rows.append([name, n, 1e3 * seconds, *ratios])
    rows.append(["paper, TFiLM", float("nan"), float("nan"), *PAPER_TEXT_RATIOS.values()])
    return rows


# ---------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes and few repeats (about a minute)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=None,
        help="torch thread counts to compare (default: 1 and all)",
    )
    parser.add_argument(
        "--sizes", nargs="+", default=["tiny", "small"], help="tsfilm.cli.SIZES keys of the U-Net"
    )
    parser.add_argument(
        "--no-load", action="store_true", help="skip the measurements with a competing busy process"
    )
    parser.add_argument("--repeats", type=int, default=None, help="timed training steps")
    parser.add_argument("--patch-length", type=int, default=None, help="default 8192")
    parser.add_argument("--batch-size", type=int, default=None, help="default 16")
    parser.add_argument("--matmul-size", type=int, default=1024)
    parser.add_argument(
        "--minutes",
        type=float,
        nargs="+",
        default=None,
        help="audio lengths of the inference runs (default 1 and 10)",
    )
    parser.add_argument(
        "--inference-threads",
        nargs="+",
        default=None,
        help='torch threads of the inference runs, numbers or "auto" (default: 1, all, auto)',
    )
    parser.add_argument("--text-params", type=float, default=None, help="default 1e6")
    parser.add_argument("--embedding-dim", type=int, default=45)
    parser.add_argument("--text-threads", type=int, default=None, help="default 1")
    parser.add_argument(
        "--text-precision",
        choices=["float32", "bfloat16", "auto"],
        default="float32",
        help="precision of the text networks' training (default float32, as in the paper)",
    )
    parser.add_argument(
        "--skip",
        nargs="+",
        default=[],
        choices=["training", "threads", "precision", "inference", "heap", "text", "floors"],
        help="sections to leave out",
    )
    parser.add_argument("--out", type=Path, default=None, help="CSV file of every figure")
    parser.add_argument("--child-model", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--child-threads", help=argparse.SUPPRESS)
    parser.add_argument("--child-no-numpy", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-step", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    all_threads = torch.get_num_threads()
    quick = args.quick
    defaults = {
        "threads": sorted({1, all_threads}),
        "repeats": 1 if quick else 4,
        "patch_length": 1024 if quick else 8192,
        "batch_size": 4 if quick else 16,
        "minutes": [0.05, 0.5] if quick else [1.0, 10.0],
        "text_params": 1e5 if quick else 1e6,
        "text_threads": 1,
        "inference_threads": ["1", "auto"]
        if quick
        else [*map(str, sorted({1, all_threads})), "auto"],
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.loads = [IDLE] if args.no_load else [IDLE, BUSY]
    args.precision_threads = args.threads
    args.matmul_repeats = 3 if quick else 10
    args.spline_seconds = 10.0 if quick else 60.0
    args.fit_seconds = 2.0 if quick else 4.0
    # (vocabulary, documents): words, where the embedding holds most of the parameters,
    # and a small vocabulary (characters), where the networks hold them.
    args.text_configs = [(2000, 200), (50, 100)] if quick else [(20000, 2000), (100, 500)]
    args.text_length = 64 if quick else 256
    args.text_batch_size = 32
    args.text_repeats = 1 if quick else 3
    args.heap_repeats = 1 if quick else 2
    return args


@contextlib.contextmanager
def section(title: str, records: Records) -> Iterator[None]:
    """Print a section's title, then how long it took."""
    print(f"## {title}", flush=True)
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    records.add("runtime", title.partition(" (")[0], elapsed, "s")
    print(f"({title.partition(' (')[0]}: {elapsed:.1f} s)", flush=True)
    print()


def prediction_sections(args: Namespace, spline_rate: float, records: Records) -> None:
    """Sections 6 and 7, on the same saved models."""
    if {"inference", "heap"} <= set(args.skip):
        return
    with tempfile.TemporaryDirectory() as folder:
        models = saved_models(args, Path(folder))

        if "inference" not in args.skip:
            title = f"Inference (TFiLMSuperResolver.predict, ratio {RATIO}, 16 kHz"
            with section(f"{title}, each length in a fresh process)", records):
                rows, growth = inference(args, spline_rate, records, models)
                header = ["size", "minutes", "threads", "competing load", "compute (s)", "RTF"]
                header += ["RTF / spline RTF", "output (MB)", "peak RSS beyond output (MB)"]
                header += ["NumPy peak beyond output (MB)"]
                table(header, rows)
                header = ["size", "threads", "competing load", "lengths", "RTF ratio"]
                header += ["peak RSS ratio", "NumPy peak ratio"]
                table(header, growth)

        if "heap" not in args.skip:
            with section("Heap (predict, 1 thread, no competing load, fresh processes)", records):
                rows = heap_comparison(args, records, models)
                header = ["size", "minutes", "RTF kept", "RTF system", "kept/system"]
                header += ["peak RSS beyond output, kept (MB)", "system (MB)"]
                table(header, rows)
                print(
                    "kept: the engine's heap policy (freed memory stays in the process during "
                    "predict, tsfilm/estimators/_heap.py); system: glibc's defaults "
                    "(TSFILM_HEAP=system). Best RTF and lowest peak of the repeats."
                )


def run(args: Namespace, records: Records) -> None:
    info = machine_info()
    for key, value in info.items():
        records.add("machine", key, value)
    print("## Machine")
    table(["", "value"], [[k, v] for k, v in info.items()])

    with section("Ceilings", records):
        ceilings = matmul_ceilings(args, records)
        spline_rate = spline_ceiling(args, records)
        rows = []
        for dtype in ("fp32", "bf16"):
            for load in args.loads:
                values = [ceilings[dtype, t, load] for t in args.threads]
                name = f"{dtype} matmul {args.matmul_size}² (GFLOP/s)"
                rows.append([name, load, *values, values[-1] / values[0]])
        for load in args.loads:
            ratio = [ceilings["bf16", t, load] / ceilings["fp32", t, load] for t in args.threads]
            rows.append(["bf16/fp32 matmul", load, *ratio, float("nan")])
        real_time = spline_rate / SAMPLE_RATE
        name = f"spline_upsample (samples/s; {real_time:.0f}x real time at 16 kHz)"
        rows.append([name, IDLE, spline_rate, *([float("nan")] * len(args.threads))])
        threads = [f"{t} thread(s)" for t in args.threads]
        ratio = f"{args.threads[-1]}/{args.threads[0]} threads"
        table(["ceiling", "competing load", *threads, ratio], rows)

    if "training" not in args.skip:
        title = f"Training step (batch {args.batch_size} x {args.patch_length} samples, Adam"
        with section(f"{title} step included)", records):
            rows, params = training_steps(args, ceilings, records)
            counts = [f"{k}: TFiLM {p['TFiLM']:,}, Conv {p['Conv']:,}" for k, p in params.items()]
            print("Parameters: " + "; ".join(counts))
            header = ["size", "threads", "competing load", "TFiLM step (s)", "Conv step (s)"]
            header += ["TFiLM/Conv", "TFiLM/Conv (medians)", "TFiLM, threads in ops (s)"]
            header += ["Conv, threads in ops (s)", "TFiLM/Conv, threads in ops"]
            header += ["Conv step, direct (s)"]
            header += ["direct/auto", "Conv GFLOP/s", "fp32 matmul GFLOP/s", "Conv / matmul"]
            header += ["load average"]
            table(header, rows)
            print(
                "Steps use conv_algorithm='auto' (FFT for the long kernels); 'direct' is the "
                "same Conv network with every convolution computed directly. Conv GFLOP/s: "
                "the direct convolutions' FLOPs of a step (FlopCounterMode) over the auto "
                "step's time. With more than one thread a step runs the batch in halves, one "
                "per thread, as fit does; 'threads in ops': the whole batch, the threads "
                "inside each operation (before)."
            )

    if "threads" not in args.skip:
        with section(f"Thread policy (TFiLM {args.sizes[0]} training step)", records):
            rows = thread_policy_steps(args, records)
            header = ["size", "competing load", "busy cores elsewhere", "1 thread (s)"]
            header += [f"{max(args.threads)} threads (s)", "auto (s)", "auto picked"]
            header += ["auto / fastest fixed", "load average"]
            table(header, rows)
            print("OpenMP wait policy (fresh processes, all threads):")
            rows = wait_policy_steps(args, records)
            header = ["size", "threads", "competing load", "TFiLM default (s)"]
            header += ["TFiLM PASSIVE (s)", "TFiLM default/PASSIVE", "Conv default (s)"]
            header += ["Conv PASSIVE (s)", "Conv default/PASSIVE", "TFiLM/Conv PASSIVE"]
            table(header, rows)

    if "precision" not in args.skip:
        with section("Precision (bf16 autocast vs fp32, no competing load)", records):
            rows = precision_steps(args, records)
            header = ["size", "model", "threads", "fp32 step (s)", "bf16 step (s)", "bf16/fp32"]
            header += ["load average"]
            table(header, rows)

    prediction_sections(args, spline_rate, records)

    if "text" not in args.skip:
        for vocabulary, documents in args.text_configs:
            title = f"Text ({documents} random documents of {args.text_length} tokens"
            title += f", vocabulary {vocabulary}, {args.text_threads} thread(s), "
            title += f"{args.text_precision})"
            with section(title, records):
                rows = text_epochs(args, records, vocabulary, documents)
                header = ["model", "parameters", "width", "s/epoch", "TFiLM/this"]
                table([*header, "paper TFiLM/this"], rows)
                embedding = vocabulary * args.embedding_dim
                print(
                    f"The token embedding holds about {embedding:,} of each model's parameters "
                    "(vocabulary x --embedding-dim)."
                )

    if "floors" not in args.skip:
        with section("Floors (one thread, no competing load)", records):
            rows = unet_floors(args, records)
            header = ["size", "TFiLM layers", "Conv step (ms)", "TFiLM step (ms)", "TFiLM/Conv"]
            header += ["TFiLM layers alone (ms)", "layers / Conv step", "their RNNs (ms)"]
            header += ["RNNs / Conv step", "one pass (ms)", "pass / Conv step"]
            table(header, rows)
            print(
                "TFiLM layers alone: forward and backward of every TFiLM layer on the input "
                "it gets in the step; their RNNs: the RNN and projection on the pooled "
                "blocks; one pass: one element-wise pass over the layers' activations. "
                "TFiLM/Conv <= 1.10 needs the layers within 10 % of the Conv step."
            )
            rows = text_floors(args, records)
            header = ["model", "parameters", "step (ms)", "this/SmallCNN", "this/LSTM"]
            table(header, rows)
            print(
                "Training steps on one batch of the word vocabulary, best of the repeats; "
                "'convolutions free': the TFiLM network with each convolution replaced by "
                "a crop of its padding (channels padded with zeros or cut)."
            )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_step is not None:
        print(json.dumps(step_child(args.child_step, int(args.child_threads), args)))
        return 0
    if args.child_model is not None:
        result = inference_child(
            args.child_model, args.child_seconds, args.child_threads, not args.child_no_numpy
        )
        print(json.dumps(result))
        return 0

    def terminate(
        signum: int, frame: object
    ) -> None:  # let the `finally` blocks stop the busy process
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    records = Records()
    start = time.perf_counter()
    status = 0
    try:
        run(args, records)
    except KeyboardInterrupt:
        print("\ninterrupted; the figures so far are kept", file=sys.stderr)
        status = 130
    finally:
        if args.out is not None:
            records.write(args.out)
            print(f"{len(records.rows)} figures written to {args.out}")
    print(f"total {time.perf_counter() - start:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
