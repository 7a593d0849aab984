"""Data-parallel training: several processes fit like one, agree, fail together, write once.

The multi-process tests launch two CPU processes with the gloo backend, either as
``torchrun`` does (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT`` in the
environment; tsfilm initialises the group) or with a group the script initialises
itself, and compare what each process fitted.

``batch_size`` is the global batch: two processes with ``batch_size=8`` take 4 rows
each of the batches a single process with ``batch_size=8`` trains on, so their weights
equal the single process's up to floating-point rounding (the super-resolver's loss is
a mean over examples; dropout is 0).
"""

from __future__ import annotations

import datetime
import importlib.util
import itertools
import os
import pickle
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as tdist
from hypothesis import given
from hypothesis import strategies as st

import tsfilm
from tsfilm import TFiLMSuperResolver
from tsfilm.estimators._distributed import (
    TIMEOUT_ENV,
    DistributedTrainingError,
    _DataParallel,
    _Share,
    _timeout,
    distributed_context,
    is_main_process,
    local_fit,
    share_of_rows,
)

#: The tiny super-resolver of these tests: batch_size is the global batch.
SR_PARAMS = {
    **TFiLMSuperResolver.get_test_params()[0],
    "ratio": 2,
    "batch_size": 8,
    "max_epochs": 3,
    "validation_fraction": 0.25,
    "n_threads": 1,
}

_COMMON = """
import json, os, pickle, sys, time
import numpy as np
import torch
import torch.distributed as tdist
from tsfilm import TFiLMImputer, TFiLMSuperResolver
from tsfilm.estimators._distributed import is_main_process

OUT = sys.argv[1]
RANK = int(os.environ["RANK"])
SR_PARAMS = {sr_params!r}


def signals(n=12, length=256):
    rng = np.random.default_rng(0)
    t = np.arange(length) / length
    return np.stack([np.sin(2 * np.pi * f * t) for f in rng.uniform(1, 8, n)]).astype(np.float32)


def weights(est):
    return {{k: v.clone() for k, v in est.module_.state_dict().items()}}


def losses(est):
    return [(h["epoch"], h["train_loss"], h["valid_loss"]) for h in est.history_]
"""

#: Three fits under a group that tsfilm initialises from the environment.
_TRAIN = """
X = signals()
sr = TFiLMSuperResolver(**SR_PARAMS).fit(X)
X_missing = X.copy()
X_missing[:, ::7] = np.nan
params = dict(TFiLMImputer.get_test_params()[0], random_state=None, n_threads=1, max_epochs=6)
imputer = TFiLMImputer(**params, patience=1, validation_fraction=0.25).fit(X_missing)
# Only process 1 runs out of time; every process must stop with it.
budget = 1e-3 if RANK == 1 else 1e6
timed = TFiLMSuperResolver(**dict(SR_PARAMS, max_epochs=50, max_time=budget)).fit(X)
torch.save(
    {{
        "initialised": tdist.is_initialized(),
        "world_size": tdist.get_world_size(),
        "sr": weights(sr),
        "sr_losses": losses(sr),
        "imputer": weights(imputer),
        "imputer_losses": losses(imputer),
        "imputer_epochs": (imputer.n_epochs_, imputer.best_epoch_),
        "timed": weights(timed),
        "timed_epochs": (timed.n_epochs_, timed.best_epoch_),
    }},
    f"{{OUT}}/rank{{RANK}}.pt",
)
if is_main_process():
    sr.save(f"{{OUT}}/sr.tsfilm")
    with open(f"{{OUT}}/sr.pkl", "wb") as file:
        pickle.dump(sr, file)
"""

#: Process 1 raises in its third loss; then both fit again in the same group; process 0
#: fits alone; the processes fit with different batch sizes.
_FAIL = """
import datetime
from tsfilm.estimators._distributed import local_fit
tdist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))


class Failing(TFiLMSuperResolver):
    calls = 0

    def compute_loss(self, module, batch):
        Failing.calls += 1
        if RANK == 1 and Failing.calls == 3:
            raise ValueError("bad batch on purpose")
        return super().compute_loss(module, batch)


X = signals()
start = time.perf_counter()
try:
    Failing(**SR_PARAMS).fit(X)
    outcome = "no error"
except Exception as exc:
    outcome = f"{{type(exc).__name__}}: {{exc}}"
seconds = time.perf_counter() - start
again = TFiLMSuperResolver(**SR_PARAMS).fit(X)
alone = None
if RANK == 0:
    with local_fit():
        alone = TFiLMSuperResolver(**SR_PARAMS).fit(X).n_epochs_
try:
    TFiLMSuperResolver(**dict(SR_PARAMS, batch_size=8 if RANK == 0 else 6)).fit(X)
    mismatch = "no error"
except Exception as exc:
    mismatch = f"{{type(exc).__name__}}: {{exc}}"
result = {{
    "outcome": outcome,
    "seconds": seconds,
    "again": weights(again),
    "alone": alone,
    "mismatch": mismatch,
}}
torch.save(result, f"{{OUT}}/rank{{RANK}}.pt")
tdist.destroy_process_group()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(tmp_path: Path, body: str, world_size: int = 2, timeout: float = 240) -> list[dict]:
    """Run ``body`` in ``world_size`` processes as torchrun would; each one's saved dict."""
    script = tmp_path / "script.py"
    script.write_text(_COMMON.format(sr_params=SR_PARAMS) + body.format())
    port = str(_free_port())
    procs = []
    for rank in range(world_size):
        env = {
            **os.environ,
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(world_size),
            "LOCAL_WORLD_SIZE": str(world_size),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": port,
            "OMP_NUM_THREADS": "1",
            TIMEOUT_ENV: "60",
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, str(script), str(tmp_path)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=timeout)[0])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for proc, output in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, output[-3000:]
    return [torch.load(tmp_path / f"rank{rank}.pt") for rank in range(world_size)]


def _assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def _signals(n: int = 12, length: int = 256) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(length) / length
    return np.stack([np.sin(2 * np.pi * f * t) for f in rng.uniform(1, 8, n)]).astype(np.float32)


# ---------------------------------------------------------------------- one process
def test_local_fit_ignores_torchrun_variables(monkeypatch):
    for name, value in {"RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MASTER_PORT", str(_free_port()))
    monkeypatch.setenv(TIMEOUT_ENV, "5")  # were local_fit ignored: an error, not a hang
    with local_fit():
        assert distributed_context(torch.device("cpu")).world_size == 1
        est = TFiLMSuperResolver(**SR_PARAMS).fit(_signals())
    assert not tdist.is_initialized() and est.n_epochs_ == SR_PARAMS["max_epochs"]


def test_without_a_group_the_hooks_return_their_input():
    dist = distributed_context(torch.device("cpu"))
    batches = iter([(torch.zeros(3, 1, 4),)])
    module = torch.nn.Linear(2, 2)
    assert (dist.rank, dist.world_size, dist.is_writer) == (0, 1, True)
    assert dist.shard(batches) is batches
    assert dist.wrap(module) is module
    assert dist.same("x") == "x" and dist.sum(1.5, 2) == (1.5, 2)
    assert dist.agree(True) is True and dist.agree(False) is False
    with pytest.raises(KeyError), dist.guard():
        raise KeyError("errors pass through unchanged")
    assert is_main_process()


def test_a_plain_fit_starts_no_process_group():
    est = TFiLMSuperResolver(**SR_PARAMS).fit(_signals())
    assert not tdist.is_initialized()
    assert est.n_epochs_ == SR_PARAMS["max_epochs"]


def test_rank_comes_from_torchrun_variables(monkeypatch):
    for name, value in {"RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    assert is_main_process()  # incomplete: not a torchrun launch
    monkeypatch.setenv("MASTER_PORT", "29500")
    assert not is_main_process()


@pytest.mark.parametrize("text", ["soon", "0", "-5"])
def test_timeout_variable_must_be_positive_seconds(monkeypatch, text):
    monkeypatch.setenv(TIMEOUT_ENV, text)
    with pytest.raises(ValueError, match=TIMEOUT_ENV):
        _timeout()


def test_timeout_variable_default_and_value(monkeypatch):
    monkeypatch.delenv(TIMEOUT_ENV, raising=False)
    assert _timeout() == datetime.timedelta(seconds=300)
    monkeypatch.setenv(TIMEOUT_ENV, "60")
    assert _timeout() == datetime.timedelta(seconds=60)


@given(rows=st.integers(1, 500), world_size=st.integers(1, 16))
def test_shares_of_a_batch_cover_it_once_and_differ_by_at_most_one(rows, world_size):
    shares = [share_of_rows(rows, rank, world_size) for rank in range(world_size)]
    assert shares[0][0] == 0 and shares[-1][1] == rows
    assert all(a[1] == b[0] for a, b in itertools.pairwise(shares))
    sizes = [stop - start for start, stop in shares]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("rank", [0, 1])
def test_gradient_shares_follow_the_loss_weight(rank):
    # Without a process group: the first batch of the shard only (the end synchronises).
    dp = object.__new__(_DataParallel)
    dp.rank, dp.world_size, dp._share, dp._rows = rank, 2, _Share(None), 0
    hidden = torch.tensor([[1.0, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]])
    batch = (torch.zeros(4, 3), torch.zeros(4, 3), hidden)  # an imputer's layout
    own = next(dp.shard(iter([batch]), lambda part: float(part[2].sum())))
    assert torch.equal(own[2], hidden[2 * rank : 2 * rank + 2])
    assert dp._share.weight == [5 / 6, 1 / 6][rank]  # its hidden entries over the batch's
    next(dp.shard(iter([batch])))
    assert dp._share.weight == 0.5  # rows, without a weight


def test_distributed_error_is_a_runtime_error():
    assert issubclass(DistributedTrainingError, RuntimeError)


# ---------------------------------------------------------------------- two processes
@pytest.mark.slow
def test_two_processes_train_like_one_and_agree(tmp_path):
    ranks = _launch(tmp_path, _TRAIN)
    assert all(r["initialised"] and r["world_size"] == 2 for r in ranks)
    for name in ("sr", "imputer", "timed"):  # every process fitted the same estimator
        _assert_same_weights(ranks[0][name], ranks[1][name])
    for name in ("sr_losses", "imputer_losses", "imputer_epochs", "timed_epochs"):
        assert ranks[0][name] == ranks[1][name], name
    # Process 1's max_time stopped process 0 too, after the first step.
    assert ranks[0]["timed_epochs"] == (1, 1)

    # The same global batch in one process: the same weights up to rounding. Each process
    # convolves half the batch (other kernels, other rounding), and Adam turns rounding
    # in near-zero gradients into steps of up to the learning rate: after a dozen steps
    # the weights agree to about 3e-4 of the largest one on some CPUs, where another
    # random_state (other initialisation and batches) ends 1.9 times the largest away.
    single = TFiLMSuperResolver(**SR_PARAMS).fit(_signals())
    expected = single.module_.state_dict()
    scale = max(float(v.abs().max()) for v in expected.values())
    for key, value in expected.items():
        torch.testing.assert_close(ranks[0]["sr"][key], value, rtol=1e-3, atol=1e-3 * scale)
    one = [(h["epoch"], h["train_loss"], h["valid_loss"]) for h in single.history_]
    np.testing.assert_allclose(np.array(ranks[0]["sr_losses"]), np.array(one), rtol=1e-3)

    # Only the main process wrote; the pickle and the model file load and predict alike.
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in {".pkl", ".tsfilm"}) == [
        "sr.pkl",
        "sr.tsfilm",
    ]
    with open(tmp_path / "sr.pkl", "rb") as file:
        pickled = pickle.load(file)
    loaded = tsfilm.load(tmp_path / "sr.tsfilm")
    low = _signals(3, 128)
    np.testing.assert_array_equal(pickled.predict(low), loaded.predict(low))
    np.testing.assert_allclose(pickled.predict(low), single.predict(low), rtol=1e-3, atol=1e-4)


@pytest.mark.slow
def test_a_failing_process_stops_the_others_who_can_fit_again(tmp_path):
    # The script initialises its own process group, which the fits use.
    ranks = _launch(tmp_path, _FAIL)
    assert ranks[1]["outcome"] == "ValueError: bad batch on purpose"
    assert ranks[0]["outcome"].startswith("DistributedTrainingError: ")
    assert "process 1 raised ValueError: bad batch on purpose" in ranks[0]["outcome"]
    # Stopped at once, not by the 60 s timeout of the group.
    assert max(r["seconds"] for r in ranks) < 30
    _assert_same_weights(ranks[0]["again"], ranks[1]["again"])
    # local_fit: process 0 trained alone while process 1 waited elsewhere.
    assert ranks[0]["alone"] == SR_PARAMS["max_epochs"]
    # Different batch sizes draw different batches: every process stops.
    for rank in ranks:
        assert rank["mismatch"].startswith("DistributedTrainingError: "), rank["mismatch"]
        assert "drew different batches" in rank["mismatch"]


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("tsfilm.__main__") is None, reason="python -m tsfilm is missing"
)
def test_torchrun_cli_train_writes_one_model(tmp_path):
    from tsfilm.io.audio import write_audio

    folder = tmp_path / "audio"
    folder.mkdir()
    t = np.arange(8000) / 16000
    for i in range(3):
        tone = np.sin(2 * np.pi * (200 + 50 * i) * t) / 2
        write_audio(folder / f"clip{i}.wav", tone[None].astype(np.float32), 16000)
    model = tmp_path / "model.tsfilm"
    command = [
        *(sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"),
        *("-m", "tsfilm", "train", str(folder), "--size", "tiny", "--epochs", "2"),
        *("--patch-length", "512", "--batch-size", "4", "-o", str(model), "-q"),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TSFILM_CACHE_DIR": str(tmp_path / "cache")}
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.count("model written to") == 1, done.stdout
    assert tsfilm.load(model).n_epochs_ == 2
    assert time.perf_counter() - start < 300
