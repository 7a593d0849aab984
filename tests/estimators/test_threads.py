"""The engine's thread policy (``n_threads="auto"``)."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from tsfilm import TFiLMSuperResolver
from tsfilm.estimators import _threads
from tsfilm.estimators._threads import (
    auto_threads,
    busy_cores_elsewhere,
    flushes_denormals,
    thread_policy,
)

LINUX = sys.platform.startswith("linux")


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def two_cpus(monkeypatch):
    monkeypatch.setattr(_threads, "_cpus", lambda: [0, 1])


@pytest.mark.parametrize(
    ("limit", "busy", "expected"),
    [(2, 0.0, 2), (2, 0.4, 2), (2, 0.6, 1), (2, 1.0, 1), (2, 2.0, 1), (1, 0.0, 1), (2, None, 2)],
)
def test_auto_threads_leaves_busy_cores(two_cpus, limit, busy, expected):
    assert auto_threads(limit, busy) == expected


@pytest.mark.skipif(not LINUX, reason="reads /proc/stat")
def test_busy_process_is_seen():
    code = "import time\nend = time.time() + 20\nwhile time.time() < end: pass"
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(0.3)
        busy = busy_cores_elsewhere(max_age=0)
    finally:
        process.kill()
        process.wait()
    assert busy is not None and busy >= 0.5


def test_own_work_is_not_counted_as_busy_elsewhere(two_cpus, monkeypatch):
    # 1 s of wall time: the cores were busy for 1.8 CPU-seconds, 1.5 of them this process's.
    busy = iter([10.0, 11.8])
    own = iter([3.0, 4.5])
    wall = iter([100.0, 101.0])
    monkeypatch.setattr(_threads, "_busy_seconds", lambda cpus: next(busy))
    monkeypatch.setattr(_threads.time, "process_time", lambda: next(own))
    monkeypatch.setattr(_threads.time, "perf_counter", lambda: next(wall))
    meter = _threads._Meter()
    assert meter.read() == pytest.approx(0.3)


def test_policy_restores_threads_and_fixed_numbers(two_threads):
    with thread_policy(1) as policy:
        assert policy.threads == torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with thread_policy(None) as policy:
        assert policy.threads == 2


def test_auto_uses_the_idle_cores(two_threads, two_cpus, monkeypatch):
    monkeypatch.setattr(_threads, "busy_cores_elsewhere", lambda: 1.0)
    with thread_policy("auto") as policy:
        assert policy.threads == torch.get_num_threads() == 1
    monkeypatch.setattr(_threads, "busy_cores_elsewhere", lambda: 0.0)
    with thread_policy("auto") as policy:
        assert policy.threads == 2
        # Training re-decides after every epoch from what it measured meanwhile.
        policy.meter.wall -= 1.0
        monkeypatch.setattr(policy.meter, "read", lambda: 1.0)
        assert policy.update() == torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_auto_with_one_thread_does_not_measure(monkeypatch):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        monkeypatch.setattr(_threads, "busy_cores_elsewhere", pytest.fail)
        with thread_policy("auto") as policy:
            assert policy.threads == 1 and policy.update() == 1
    finally:
        torch.set_num_threads(before)


def test_fit_records_threads_per_epoch(rng, tiny_resolver):
    high = rng.normal(size=(6, 256)).astype(np.float32)
    est = tiny_resolver(max_epochs=2, verbose=0)
    assert est.get_params()["n_threads"] == "auto"
    est.fit(high[:, ::2], high)
    threads = [epoch["threads"] for epoch in est.history_]
    assert len(threads) == 2
    assert all(1 <= t <= max(torch.get_num_threads(), 1) for t in threads)


def test_bad_n_threads_is_refused(rng):
    high = rng.normal(size=(4, 128)).astype(np.float32)
    with pytest.raises(ValueError, match="n_threads"):
        TFiLMSuperResolver(n_threads="many").fit(high[:, ::2], high)


@pytest.fixture
def flush_supported():
    before = flushes_denormals()
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush subnormal floats")
    torch.set_flush_denormal(before)
    yield
    torch.set_flush_denormal(before)


@pytest.mark.parametrize("before", [False, True])
def test_policy_flushes_denormals_and_restores_the_setting(flush_supported, before):
    torch.set_flush_denormal(before)
    assert flushes_denormals() is before
    with thread_policy(1):
        assert flushes_denormals()
        # A subnormal product is zero inside: the slow path is never taken.
        tiny = torch.tensor([1e-20]) * torch.tensor([1e-20])
        assert tiny.item() == 0.0
    assert flushes_denormals() is before
    product = (torch.tensor([1e-20]) * torch.tensor([1e-20])).item()
    assert (product == 0.0) is before


def test_policy_restores_the_setting_after_an_error(flush_supported):
    torch.set_flush_denormal(False)
    with pytest.raises(RuntimeError, match="boom"), thread_policy(1):
        raise RuntimeError("boom")
    assert not flushes_denormals()


def test_fit_and_predict_flush_inside_only(flush_supported, rng, monkeypatch, tiny_resolver):
    torch.set_flush_denormal(False)
    seen = []
    original = TFiLMSuperResolver.compute_loss

    def spy(self, module, batch):
        seen.append(flushes_denormals())
        return original(self, module, batch)

    monkeypatch.setattr(TFiLMSuperResolver, "compute_loss", spy)
    high = rng.normal(size=(4, 256)).astype(np.float32)
    est = tiny_resolver(max_epochs=1, validation_fraction=0.0, patience=None)
    est.fit(high[:, ::2], high)
    assert seen and all(seen)
    assert not flushes_denormals()
    assert est.predict(high[:, ::2]).shape == high.shape
    assert not flushes_denormals()
