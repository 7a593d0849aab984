"""The engine's heap policy: freed memory kept during a prediction, then trimmed."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import tsfilm.estimators._base as base
from tsfilm.estimators import _heap
from tsfilm.estimators._heap import heap_policy, heap_policy_applies


class _FakeLibc:
    """Records the allocator calls the policy makes, instead of making them."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append(("mallopt", param, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("malloc_trim", pad))
        return 1


@pytest.fixture
def fake_libc(monkeypatch: pytest.MonkeyPatch) -> _FakeLibc:
    fake = _FakeLibc()
    monkeypatch.setattr(_heap, "_libc", lambda: fake)
    for name in ("TSFILM_HEAP", "GLIBC_TUNABLES", "LD_PRELOAD", *_heap._USER_SETTINGS):
        monkeypatch.delenv(name, raising=False)
    return fake


KEEP = [
    ("mallopt", _heap._M_MMAP_THRESHOLD, _heap._KEEP_BYTES),
    ("mallopt", _heap._M_TRIM_THRESHOLD, _heap._KEEP_BYTES),
]
AFTER = [
    ("mallopt", _heap._M_MMAP_THRESHOLD, _heap._AFTER_MMAP_BYTES),
    ("mallopt", _heap._M_TRIM_THRESHOLD, _heap._AFTER_TRIM_BYTES),
    ("malloc_trim", 0),
]


def test_span_keeps_then_trims(fake_libc: _FakeLibc) -> None:
    with heap_policy() as kept:
        assert kept is True
        assert fake_libc.calls == KEEP
    assert fake_libc.calls == KEEP + AFTER


def test_nested_spans_act_once(fake_libc: _FakeLibc) -> None:
    with heap_policy(), heap_policy() as inner:
        assert inner is True
        assert fake_libc.calls == KEEP
    assert fake_libc.calls == KEEP + AFTER


def test_span_restores_after_an_error(fake_libc: _FakeLibc) -> None:
    with pytest.raises(RuntimeError, match="boom"), heap_policy():
        raise RuntimeError("boom")
    assert fake_libc.calls == KEEP + AFTER
    assert _heap._depth == 0


def test_concurrent_spans_trim_when_the_last_leaves(fake_libc: _FakeLibc) -> None:
    entered, release = threading.Barrier(2), threading.Event()

    def predict() -> None:
        with heap_policy():
            entered.wait()
            release.wait()

    worker = threading.Thread(target=predict)
    with heap_policy():
        worker.start()
        entered.wait()
    assert fake_libc.calls == KEEP  # the other span still runs
    release.set()
    worker.join()
    assert fake_libc.calls == KEEP + AFTER


@pytest.mark.parametrize(
    "environ",
    [
        {"TSFILM_HEAP": "system"},
        {"TSFILM_HEAP": " System "},
        {"MALLOC_MMAP_THRESHOLD_": "131072"},
        {"MALLOC_ARENA_MAX": "2"},
        {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"},
        {"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"},
    ],
)
def test_user_choices_leave_the_allocator_alone(
    fake_libc: _FakeLibc, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]
) -> None:
    assert heap_policy_applies(environ) is False
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with heap_policy() as kept:
        assert kept is False
    assert fake_libc.calls == []


def test_other_settings_do_not_count_as_a_choice(fake_libc: _FakeLibc) -> None:
    assert heap_policy_applies({"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F", "TSFILM_HEAP": ""})


def test_no_glibc_means_no_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_heap, "_libc", lambda: None)
    assert heap_policy_applies({}) is False
    with heap_policy() as kept:
        assert kept is False


def test_predictions_are_the_same_with_the_system_heap(tmp_path: Path) -> None:
    """The policy moves memory, never numbers: a fresh process with TSFILM_HEAP=system
    predicts exactly what one with the policy does."""
    code = (
        "import sys, numpy as np\n"
        "from tsfilm import TFiLMSuperResolver\n"
        "x = np.sin(np.linspace(0, 60, 512))[None]\n"
        "est = TFiLMSuperResolver(depth=2, width=0.125, max_filters=16, block_length=16,\n"
        '    patch_length=128, batch_size=4, max_epochs=2, precision="float32",\n'
        "    random_state=0).fit(x[:, ::2], x)\n"
        "np.save(sys.argv[1], est.predict(x[:, ::2]))\n"
    )
    outputs = []
    for heap in ("", "system"):
        path = tmp_path / f"y{heap}.npy"
        env = {**os.environ, "TSFILM_HEAP": heap, "OMP_NUM_THREADS": "1"}
        done = subprocess.run(
            [sys.executable, "-c", code, str(path)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        outputs.append(np.load(path))
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_predict_runs_under_the_policy_and_fit_does_not(
    monkeypatch: pytest.MonkeyPatch, tiny_resolver
) -> None:
    spans: list[bool] = []
    real = base.heap_policy

    @contextlib.contextmanager
    def recording() -> Iterator[bool]:
        with real() as kept:
            spans.append(kept)
            yield kept

    monkeypatch.setattr(base, "heap_policy", recording)
    x = np.sin(np.linspace(0, 30, 256))[None]
    est = tiny_resolver(max_epochs=1, validation_fraction=0.0, patience=None)
    est.fit(x[:, ::2], x)
    assert spans == []  # training gained nothing from it (benchmarks/speed.py, "Heap")
    est.predict(x[:, ::2])
    assert len(spans) == 1
    assert _heap._depth == 0
