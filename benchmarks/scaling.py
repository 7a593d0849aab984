"""Scaling beyond one process: data-parallel training and imputation out of core.

1. **Data-parallel training**: training examples (windows) per second of
   :class:`tsfilm.TFiLMSuperResolver` (the ``tsfilm train --size tiny`` network) with one
   process and one thread, one process and ``--processes`` threads, and ``--processes``
   processes of one thread each, launched as ``torchrun`` launches them (gloo on the
   CPU). ``batch_size`` is the global batch, so the processes split every batch: the
   table also gives the largest weight difference between the one-process fit and the
   distributed one (rounding only). Each configuration runs in fresh processes; the
   speed is the windows of an epoch over the median seconds of the epochs after the
   first.
2. **Imputation out of core**: :meth:`tsfilm.TFiLMImputer.transform_to` on panels of
   ``--series`` series of ``--length`` steps (a fifth missing) from a ``.npy`` file
   opened as a NumPy memmap into another, and from one Zarr array into another when
   ``zarr`` is installed, next to ``transform`` of the memmap (which returns the filled
   panel in memory). Each call runs in a fresh process that loads a saved model; it
   reports the kernel's peak resident memory during the call (VmHWM, reset before it),
   which counts the pages of memory-mapped files that the process has touched (page
   cache that the kernel reclaims when memory runs short), and the peak of anonymous
   memory (RssAnon sampled every 5 ms), the memory the process itself holds.

Prints markdown tables; ``--out`` also writes every figure as CSV.

Example (about four minutes on two CPU cores; ``--quick`` takes about one)::

    python benchmarks/scaling.py --out scaling.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: The ``tsfilm train --size tiny`` network.
TINY = {"depth": 3, "width": 0.125, "max_filters": 64, "block_length": 64}

_TRAIN_CHILD = r"""
import json, os, sys
import numpy as np, torch
from tsfilm import TFiLMSuperResolver
args = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
t = np.arange(args["length"]) / 16000
X = np.stack([np.sin(2 * np.pi * f * t) for f in rng.uniform(100, 2000, args["series"])])
est = TFiLMSuperResolver(**args["params"]).fit(X.astype(np.float32))
if int(os.environ.get("RANK", "0")) == 0:
    torch.save({k: v for k, v in est.module_.state_dict().items()}, args["weights"])
    print(json.dumps([h["seconds"] for h in est.history_]))
"""

_IMPUTE_CHILD = r"""
import json, sys, threading, time
import numpy as np
import tsfilm

mode, model, source, target = sys.argv[1:5]


def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024


est = tsfilm.load(model)
if mode == "zarr":
    import zarr
    X = zarr.open_array(source, mode="r")
    out = zarr.open_array(target, mode="w", shape=X.shape, chunks=X.chunks, dtype=X.dtype)
else:
    X = np.load(source, mmap_mode="r")
    if mode == "memmap":
        out = np.lib.format.open_memmap(target, mode="w+", dtype=X.dtype, shape=X.shape)
baseline = status("VmRSS")
peak_anon = [status("RssAnon")]
done = threading.Event()


def sample():
    while not done.wait(0.005):
        peak_anon[0] = max(peak_anon[0], status("RssAnon"))


sampler = threading.Thread(target=sample, daemon=True)
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets VmHWM to the current resident size
anon_before = peak_anon[0]
sampler.start()
start = time.perf_counter()
if mode == "in memory":
    result = est.transform(X)
else:
    est.transform_to(X, out)
seconds = time.perf_counter() - start
done.set()
sampler.join()
print(json.dumps({
    "seconds": seconds,
    "baseline": baseline,
    "peak_rss": status("VmHWM"),
    "anon_before": anon_before,
    "peak_anon": max(peak_anon[0], status("RssAnon")),
}))
"""


class Results:
    """Rows of every table, written as CSV at the end."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(self, section: str, **values: object) -> None:
        self.rows.append({"section": section, **values})

    def write(self, path: Path) -> None:
        keys = sorted({k for row in self.rows for k in row}, key=lambda k: (k != "section", k))
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.rows)


def table(header: list[str], rows: list[list[object]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(v) for v in row) + " |")
    print()


def cpu_model() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        lscpu = ""
    for line in lscpu.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Model name":
            return value.strip()
    return platform.processor() or "?"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_processes(script: Path, argument: str, processes: int, threads: int) -> str:
    """Run ``script`` in ``processes`` processes as torchrun would; rank 0's output."""
    port = str(_free_port())
    procs = []
    for rank in range(processes):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        if processes > 1:
            env.update(
                RANK=str(rank),
                LOCAL_RANK=str(rank),
                WORLD_SIZE=str(processes),
                LOCAL_WORLD_SIZE=str(processes),
                MASTER_ADDR="127.0.0.1",
                MASTER_PORT=port,
            )
        procs.append(
            subprocess.Popen(
                [sys.executable, str(script), argument],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [proc.communicate() for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        if proc.returncode:
            raise RuntimeError(f"a training process failed:\n{err[-3000:]}")
    return outputs[0][0]


def data_parallel(args: argparse.Namespace, results: Results, work: Path) -> None:
    import torch

    script = work / "train_child.py"
    script.write_text(_TRAIN_CHILD)
    params = {
        **TINY,
        "ratio": 4,
        "patch_length": args.patch_length,
        "batch_size": args.batch_size,
        "max_epochs": args.epochs,
        "validation_fraction": 0.0,
        "patience": None,
        "n_threads": None,
        "random_state": 0,
        "dropout": 0.0,
        "precision": "float32",
    }
    windows = -(-args.train_series * args.train_length // args.patch_length)
    configs = [(1, 1), (1, args.processes), (args.processes, 1)]
    rows, weights, base = [], {}, 0.0
    for processes, threads in configs:
        path = work / f"weights_{processes}x{threads}.pt"
        child = {
            "series": args.train_series,
            "length": args.train_length,
            "params": {**params, "n_threads": threads},
            "weights": str(path),
        }
        seconds = json.loads(_run_processes(script, json.dumps(child), processes, threads))
        speed = windows / statistics.median(seconds[1:] or seconds)
        weights[processes, threads] = torch.load(path)
        reference = weights[1, 1]
        diff = max(
            float((weights[processes, threads][k] - v).abs().max()) for k, v in reference.items()
        )
        base = base or speed
        label = f"{processes} x {threads} thread{'s' * (threads > 1)}"
        rows.append([label, f"{speed:.0f}", f"{speed / base:.2f}", f"{diff:.1e}"])
        results.add(
            "data_parallel",
            processes=processes,
            threads=threads,
            windows_per_s=round(speed, 1),
            max_weight_diff=diff,
        )
    print(
        f"## Data-parallel training: TFiLMSuperResolver tiny, {args.train_series} series of "
        f"{args.train_length} samples, patch {args.patch_length}, global batch "
        f"{args.batch_size}, {windows} windows per epoch, {args.epochs} epochs\n"
    )
    header = ["processes x threads", "windows/s", "speed-up", "largest weight change vs 1 x 1"]
    table(header, rows)


def out_of_core(args: argparse.Namespace, results: Results, work: Path) -> None:
    from tsfilm import TFiLMImputer

    script = work / "impute_child.py"
    script.write_text(_IMPUTE_CHILD)
    rng = np.random.default_rng(0)
    t = np.arange(args.length) / args.length

    def panel(n: int) -> np.ndarray:
        X = (np.sin(2 * np.pi * rng.uniform(1, 5, (n, 1)) * t) + 2).astype(np.float32)
        X[rng.random(X.shape) < 0.2] = np.nan
        return X

    model = work / "imputer.tsfilm"
    TFiLMImputer(
        window_length=args.length,
        depth=2,
        width=0.125,
        block_length=16,
        batch_size=256,
        max_epochs=2,
        n_threads=1,
        random_state=0,
    ).fit(panel(512)).save(model)
    try:
        import zarr
    except ImportError:
        zarr = None
    modes = ["memmap", *(["zarr"] if zarr is not None else []), "in memory"]
    rows = []
    for n in args.series:
        source = work / f"X{n}.npy"
        disk = np.lib.format.open_memmap(
            source, mode="w+", dtype=np.float32, shape=(n, args.length)
        )
        for start in range(0, n, 10000):
            disk[start : start + 10000] = panel(min(10000, n - start))
        disk.flush()
        del disk
        if zarr is not None:
            z = zarr.open_array(
                str(work / f"X{n}.zarr"),
                mode="w",
                shape=(n, args.length),
                chunks=(1024, args.length),
                dtype="f4",
            )
            mm = np.load(source, mmap_mode="r")
            for start in range(0, n, 10000):
                z[start : start + 10000] = mm[start : start + 10000]
            del mm
        for mode in modes:
            src = str(work / f"X{n}.zarr") if mode == "zarr" else str(source)
            dst = str(work / (f"out{n}.zarr" if mode == "zarr" else f"out{n}.npy"))
            env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            done = subprocess.run(
                [sys.executable, str(script), mode, str(model), src, dst],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode:
                raise RuntimeError(f"the imputation process failed:\n{done.stderr[-3000:]}")
            m = json.loads(done.stdout.strip().splitlines()[-1])
            mb = 1024**2
            rows.append(
                [
                    mode,
                    f"{n:,}",
                    f"{n * args.length * 4 / mb:.0f}",
                    f"{m['baseline'] / mb:.0f}",
                    f"{m['peak_rss'] / mb:.0f}",
                    f"{(m['peak_anon'] - m['anon_before']) / mb:.0f}",
                    f"{m['seconds']:.1f}",
                    f"{n / m['seconds']:.0f}",
                ]
            )
            results.add(
                "out_of_core",
                mode=mode,
                series=n,
                length=args.length,
                input_mb=round(n * args.length * 4 / mb, 1),
                rss_before_mb=round(m["baseline"] / mb, 1),
                peak_rss_mb=round(m["peak_rss"] / mb, 1),
                anon_growth_mb=round((m["peak_anon"] - m["anon_before"]) / mb, 1),
                seconds=round(m["seconds"], 2),
            )
    print(
        f"## Imputation out of core: TFiLMImputer (depth 2, window {args.length}), series of "
        f"{args.length} float32 steps, a fifth missing, chunks of 1024 series, 1 thread\n"
    )
    header = [
        "call",
        "series",
        "input MB",
        "RSS before MB",
        "peak RSS MB",
        "peak anonymous growth MB",
        "seconds",
        "series/s",
    ]
    table(header, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, about one minute")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32, help="global batch")
    parser.add_argument("--patch-length", type=int, default=2048)
    parser.add_argument("--train-series", type=int, default=16)
    parser.add_argument("--train-length", type=int, default=32768)
    parser.add_argument("--series", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--skip", choices=["training", "imputation"], action="append", default=[])
    parser.add_argument("--out", type=Path, help="CSV file of every figure")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.train_series, args.train_length = 2, 4, 16384
        args.series = [2_000, 20_000]
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}")
    import torch

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"torch {torch.__version__}; load average before: {load}\n")
    results = Results()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        if "training" not in args.skip:
            data_parallel(args, results, work)
        if "imputation" not in args.skip:
            out_of_core(args, results, work)
    if args.out:
        results.write(args.out)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"({time.perf_counter() - start:.0f} s; load average after: {load})")
