"""Predictions on several CPU threads: inside each batch when the cores are idle, whole
batches at once when other processes keep cores busy (``BatchWorkers``)."""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
import warnings

import numpy as np
import pytest
import torch

from tsfilm import TFiLMImputer, TFiLMSequenceClassifier, TFiLMSuperResolver
from tsfilm.estimators import _base, _threads


@pytest.fixture
def load(monkeypatch):
    """Set the cores other processes keep busy (of two), as measured before and during a call."""
    monkeypatch.setattr(_threads, "_cpus", lambda: [0, 1])

    def set_load(before: float | None, during: float | None = None) -> None:
        monkeypatch.setattr(_threads, "recent_busy_cores", lambda max_age=2.0: before)
        monkeypatch.setattr(_threads._Meter, "elapsed", lambda self: 1.0)
        monkeypatch.setattr(_threads._Meter, "read", lambda self: during)
        monkeypatch.setattr(_threads, "_remember", lambda busy: None)

    return set_load


@pytest.fixture(scope="module")
def resolver(tiny_resolver_params) -> TFiLMSuperResolver:
    high = np.random.default_rng(0).normal(size=(4, 512)).astype(np.float32)
    est = TFiLMSuperResolver(**tiny_resolver_params, max_epochs=1, n_threads=1)
    return est.fit(high[:, ::2], high)


def _low(n: int = 3000) -> np.ndarray:
    t = np.arange(n, dtype=np.float32)
    return np.stack([np.sin(0.05 * t), np.cos(0.011 * t) * np.sin(0.3 * t)])


def _workers(seen: list[dict]) -> list[dict]:
    return [s for s in seen if s["thread"].startswith("tsfilm-predict")]


def test_loaded_cores_run_whole_batches_on_threads_with_the_same_bits(resolver, batches, load):
    load(1.0)
    seen = batches(resolver.module_)
    before = torch.get_num_threads()
    one = resolver.set_params(n_threads=1).predict(_low())
    assert {s["thread"] for s in seen} == {threading.current_thread().name}
    seen.clear()
    two = resolver.set_params(n_threads=2).predict(_low())
    np.testing.assert_array_equal(one, two)
    # 2 series of 6,000 samples in windows of 512: 28 windows, 7 batches of 4.
    assert len(seen) == 7 and _workers(seen) == seen
    assert all(s["torch_threads"] == 1 and s["inference"] and s["flush"] for s in seen)
    assert not any(s["autocast"] for s in seen)
    assert torch.get_num_threads() == before


def test_idle_cores_keep_the_threads_inside_each_batch(resolver, batches, load):
    load(0.0, 0.0)
    seen = batches(resolver.module_)
    resolver.set_params(n_threads=2).predict(_low())
    assert len(seen) == 7 and not _workers(seen)
    assert all(s["torch_threads"] == 2 and s["inference"] for s in seen)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="measures from /proc/stat")
def test_load_measured_during_the_call_moves_the_rest_to_threads(resolver, batches, load):
    load(None, 1.0)
    seen = batches(resolver.module_)
    resolver.set_params(n_threads=2).predict(_low())
    assert [bool(_workers([s])) for s in seen] == [False] + [True] * 6


def test_a_single_batch_uses_the_threads_inside_its_operations(resolver, batches, load):
    load(1.0)
    seen = batches(resolver.module_)
    resolver.set_params(n_threads=2).predict(_low(200)[:1])
    assert [(s["thread"], s["torch_threads"]) for s in seen] == [
        (threading.current_thread().name, 2)
    ]


def test_workers_run_under_the_prediction_autocast(resolver, batches, load):
    load(1.0)
    seen = batches(resolver.module_)
    est = resolver.set_params(precision="bfloat16")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # bfloat16 may be slower here
            one = est.set_params(n_threads=1).predict(_low())
            two = est.set_params(n_threads=2).predict(_low())
    finally:
        est.set_params(precision="auto", n_threads=1)
    assert _workers(seen) and all(s["autocast"] for s in seen)
    np.testing.assert_array_equal(one, two)


def test_imputer_and_classifier_predict_alike_on_two_threads(rng, batches, load):
    load(1.0)
    values = rng.normal(size=(3, 400)).astype(np.float32)
    imputer = TFiLMImputer(**{**TFiLMImputer.get_test_params()[0], "batch_size": 2})
    imputer.set_params(n_threads=1).fit(values)
    missing = values.copy()
    missing[:, 100:140] = np.nan
    seen = batches(imputer.module_)
    one = imputer.transform(missing)
    two = imputer.set_params(n_threads=2).transform(missing)
    np.testing.assert_array_equal(one, two)
    assert _workers(seen)

    X = rng.normal(size=(40, 2, 30)).astype(np.float32)
    y = np.arange(40) % 2
    params = {**TFiLMSequenceClassifier.get_test_params()[0], "max_epochs": 1, "n_threads": 1}
    clf = TFiLMSequenceClassifier(**params).fit(X, y)
    seen = batches(clf.module_)
    one = clf.predict_proba(X)
    two = clf.set_params(n_threads=2).predict_proba(X)
    np.testing.assert_array_equal(one, two)
    assert _workers(seen)


def test_whole_batches_match_batches_on_all_threads(resolver, load):
    load(1.0)
    whole = resolver.set_params(n_threads=2).predict(_low())
    load(0.0, 0.0)
    inside = resolver.set_params(n_threads=2).predict(_low())
    resolver.set_params(n_threads=1)
    # The same batches; two threads inside an operation may only round differently.
    np.testing.assert_allclose(whole, inside, rtol=1e-6, atol=1e-6)


def test_an_error_while_rows_are_consumed_stops_the_threads(resolver, load, monkeypatch):
    load(1.0)
    before = torch.get_num_threads()

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_base, "overlap_add", fail)
    try:
        with pytest.raises(KeyboardInterrupt):
            resolver.set_params(n_threads=2).predict(_low())
        assert torch.get_num_threads() == before
        assert not [t for t in threading.enumerate() if t.name.startswith("tsfilm-predict")]
        gc.collect()  # the paused generators go: nothing of theirs runs any more
        assert torch.get_num_threads() == before
    finally:
        resolver.set_params(n_threads=1)


def test_concurrent_keeps_the_order_and_two_batches_in_flight():
    workers = _threads.BatchWorkers(2, contextlib.nullcontext)
    both = threading.Barrier(2, timeout=30)  # the first two batches must run at once
    taken: list[int] = []

    def forward(batch: list[int]) -> np.ndarray:
        if batch[0] < 4:
            both.wait()
        return np.array(batch) * 10

    def lazy():
        for i in range(7):
            taken.append(i)
            yield [2 * i, 2 * i + 1]

    out = []
    try:
        for row in workers._concurrent(forward, lazy()):
            out.append(int(row))
            # Batches are read ahead only as far as the two threads can take them.
            assert len(taken) <= (len(out) + 1) // 2 + 2
    finally:
        workers.close()
    assert out == [10 * i for i in range(14)]


def test_an_error_in_a_worker_reaches_the_caller():
    workers = _threads.BatchWorkers(2, contextlib.nullcontext)

    def forward(batch: list[int]) -> np.ndarray:
        if batch[0] == 4:
            raise RuntimeError("batch 4 failed")
        return np.array(batch)

    try:
        with pytest.raises(RuntimeError, match="batch 4 failed"):
            list(workers._concurrent(forward, iter([[0], [1], [2], [3], [4], [5]])))
    finally:
        workers.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("tsfilm-predict")]


def test_threads_started_after_a_prediction_get_the_users_setting(resolver, load):
    load(1.0)
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # the prediction's own number: nothing for the policy to undo
    try:
        resolver.set_params(n_threads=2).predict(_low())
        seen: list[int] = []
        thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        thread.start()
        thread.join()
        assert seen == [2] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
        resolver.set_params(n_threads=1)
