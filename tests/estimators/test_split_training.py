"""Training on the CPU in halves of every batch, one per thread (``SplitSteps``)."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import nn

from tsfilm import (
    TFiLMImputer,
    TFiLMSequenceClassifier,
    TFiLMSuperResolver,
    TFiLMTextClassifier,
)
from tsfilm.estimators import UNetSuperResolver, _threads
from tsfilm.estimators._split import (
    SplitSteps,
    concurrency_safe,
    part_generators,
    splittable,
)
from tsfilm.nn import DenseDNN, TFiLMUNet
from tsfilm.nn.dropout import Dropout, row_generators


@pytest.fixture
def two_cores(monkeypatch) -> Iterator[None]:
    """torch's setting at two threads (the fit's limit), whatever the environment's."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    monkeypatch.setattr(_threads, "_cpus", lambda: [0, 1])
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _busy(monkeypatch, cores: float) -> None:
    monkeypatch.setattr(_threads, "busy_cores_elsewhere", lambda max_age=2.0: cores)
    monkeypatch.setattr(_threads._Meter, "read", lambda self: cores)


@pytest.fixture
def network_calls(monkeypatch) -> list[dict]:
    """Thread, torch threads and autocast of every call of a U-Net during a fit."""
    seen: list[dict] = []
    original = nn.Module.__call__

    def call(module, *args, **kwargs):
        if isinstance(module, TFiLMUNet) and module.training:
            seen.append(
                {
                    "thread": threading.current_thread().name,
                    "torch_threads": torch.get_num_threads(),
                    "autocast": torch.is_autocast_enabled("cpu"),
                    "rows": args[0].shape[0],
                }
            )
        return original(module, *args, **kwargs)

    monkeypatch.setattr(nn.Module, "__call__", call)
    return seen


def _train_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("tsfilm-train")]


def _weights(est) -> list[torch.Tensor]:
    return [p.detach().clone() for p in est.module_.parameters()]


def _high(rng, n: int = 6) -> np.ndarray:
    return rng.normal(size=(n, 512)).astype(np.float32)


def _fit_resolver(tiny_resolver, high: np.ndarray, **params) -> TFiLMSuperResolver:
    est = tiny_resolver(max_epochs=2, validation_fraction=0, precision="float32")
    return est.set_params(**params).fit(high[:, ::2], high)


def test_halves_run_at_once_on_two_threads_of_one_torch_thread(
    tiny_resolver, rng, two_cores, network_calls
):
    before = torch.get_num_threads()
    _fit_resolver(tiny_resolver, _high(rng), n_threads=2)
    # Every batch of 4 windows in two halves of 2.
    assert network_calls and {c["rows"] for c in network_calls} == {2}
    assert all(c["thread"].startswith("tsfilm-train") for c in network_calls)
    assert all(c["torch_threads"] == 1 and not c["autocast"] for c in network_calls)
    assert not _train_threads()
    assert torch.get_num_threads() == before


def test_one_row_batches_run_on_a_worker_alike(tiny_resolver, rng, two_cores, monkeypatch):
    high = _high(rng)
    two = _weights(_fit_resolver(tiny_resolver, high, n_threads=2, batch_size=1))
    _busy(monkeypatch, 1.0)
    auto = _weights(_fit_resolver(tiny_resolver, high, n_threads="auto", batch_size=1))
    for got, expected in zip(auto, two, strict=True):
        assert torch.equal(got, expected)


def test_a_subclass_with_its_own_loss_trains_whole_batches(tiny_resolver, two_cores):
    class Weighted(TFiLMSuperResolver):
        def compute_loss(self, module, batch):
            return 2 * super().compute_loss(module, batch)

    assert tiny_resolver().splits_batches()
    assert not Weighted().splits_batches()
    assert not tiny_resolver(stft_weight=0.5).splits_batches()


@pytest.mark.parametrize("n_threads", ["auto", None])
@pytest.mark.parametrize("busy", [0.0, 1.0])
def test_weights_are_the_same_bits_whatever_the_threads_and_load(
    tiny_resolver, rng, two_cores, monkeypatch, n_threads, busy
):
    high = _high(rng)
    two = _weights(_fit_resolver(tiny_resolver, high, n_threads=2))
    _busy(monkeypatch, busy)
    est = _fit_resolver(tiny_resolver, high, n_threads=n_threads)
    expected = [1, 1] if busy and n_threads == "auto" else [2, 2]
    assert [e["threads"] for e in est.history_] == expected
    for got, expected in zip(_weights(est), two, strict=True):
        assert torch.equal(got, expected)


def test_one_thread_trains_whole_batches_with_the_same_dropout(
    tiny_resolver, rng, two_cores, network_calls
):
    high = _high(rng)
    two = _weights(_fit_resolver(tiny_resolver, high, n_threads=2))
    halves = len(network_calls)
    network_calls.clear()
    one = _weights(_fit_resolver(tiny_resolver, high, n_threads=1))
    assert {c["rows"] for c in network_calls} == {4} and 2 * len(network_calls) == halves
    # The same masks and batches: the halves' gradients summed round differently only.
    for got, expected in zip(one, two, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6)


def test_workers_train_under_the_fit_autocast(tiny_resolver, rng, two_cores, network_calls):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # bfloat16 may be slower here
        _fit_resolver(tiny_resolver, _high(rng), n_threads=2, precision="bfloat16")
    # (The main thread's calls measure whether bfloat16 pays, with and without autocast.)
    workers = [c for c in network_calls if c["thread"].startswith("tsfilm-train")]
    assert workers and all(c["autocast"] for c in workers)


def test_stft_loss_trains_whole_batches(tiny_resolver, rng, two_cores, network_calls):
    est = tiny_resolver(max_epochs=1, validation_fraction=0, n_threads=2, stft_weight=0.5)
    est.set_params(precision="float32")
    est.set_params(patch_length=512)
    high = _high(rng, 4).repeat(2, axis=1)
    est.fit(high[:, ::2], high)
    assert network_calls and all(c["rows"] == 4 for c in network_calls)
    assert not any(c["thread"].startswith("tsfilm-train") for c in network_calls)


def test_an_error_in_a_half_reaches_fit_and_stops_the_workers(
    tiny_resolver, rng, two_cores, monkeypatch
):
    def broken(self, module, batch):
        raise ArithmeticError(f"broken loss in {threading.current_thread().name}")

    monkeypatch.setattr(UNetSuperResolver, "compute_loss", broken)
    with pytest.raises(ArithmeticError, match="broken loss in tsfilm-train"):
        _fit_resolver(tiny_resolver, _high(rng), n_threads=2)
    assert not _train_threads()


def test_a_diverging_loss_is_caught_before_the_step(tiny_resolver, rng, two_cores, monkeypatch):
    from tsfilm.estimators import TrainingDivergedError

    # Patched on the base, so that the estimator still runs halves (its loss is the base's).
    original = UNetSuperResolver.compute_loss
    monkeypatch.setattr(
        UNetSuperResolver,
        "compute_loss",
        lambda self, module, batch: original(self, module, batch) * float("nan"),
    )
    with pytest.raises(TrainingDivergedError, match="training loss became nan"):
        _fit_resolver(tiny_resolver, _high(rng), n_threads=2)
    assert not _train_threads()


@pytest.mark.parametrize("estimator", ["imputer", "classifier", "text"])
def test_other_estimators_train_the_same_bits_on_any_threads(
    estimator, rng, two_cores, monkeypatch
):
    if estimator == "imputer":
        values = rng.normal(size=(3, 300)).astype(np.float32)
        params = {**TFiLMImputer.get_test_params()[0], "batch_size": 3, "max_epochs": 2}
        params["dropout"] = 0.3

        def fit(n_threads):
            return TFiLMImputer(**params, n_threads=n_threads).fit(values)

    elif estimator == "text":
        words = ["good", "bad", "fine", "awful", "great", "dull"]
        texts = [" ".join(rng.choice(words, size=12)) for _ in range(16)]
        labels = np.arange(16) % 2
        params = {**TFiLMTextClassifier.get_test_params()[0], "max_epochs": 2, "dropout": 0.3}

        def fit(n_threads):
            return TFiLMTextClassifier(**params, n_threads=n_threads).fit(texts, labels)

    else:
        X = rng.normal(size=(12, 2, 40)).astype(np.float32)
        y = np.arange(12) % 3
        params = {**TFiLMSequenceClassifier.get_test_params()[0], "max_epochs": 2}
        params.update(dropout=0.3, batch_size=4)

        def fit(n_threads):
            return TFiLMSequenceClassifier(**params, n_threads=n_threads).fit(X, y)

    split_steps: list[int] = []
    original = SplitSteps.backward

    def counted(self, *args):
        split_steps.append(1)
        return original(self, *args)

    monkeypatch.setattr(SplitSteps, "backward", counted)
    two = _weights(fit(2))
    assert split_steps
    _busy(monkeypatch, 1.0)
    auto_fit = fit("auto")
    assert {e["threads"] for e in auto_fit.history_} == {1}
    auto = _weights(auto_fit)
    one = _weights(fit(1))
    for a, b, c in zip(two, auto, one, strict=True):
        assert torch.equal(a, b)
        torch.testing.assert_close(c, a, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------- the parts
def test_split_gradient_is_the_whole_batch_gradient():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    x, mask = torch.randn(5, 3), torch.tensor([1.0, 0, 1, 1, 0])

    def loss_of(part: tuple) -> torch.Tensor:  # a mean over the masked rows
        inputs, weights = part
        return (net(inputs).squeeze(1) ** 2 * weights).sum() / weights.sum().clamp(min=1)

    loss = loss_of((x, mask))
    expected = torch.autograd.grad(loss, list(net.parameters()))
    steps = SplitSteps(lambda: torch.autocast("cpu", enabled=False))
    try:
        got = steps.backward(loss_of, lambda part: float(part[1].sum()), (x, mask), 2)
    finally:
        steps.close()
    torch.testing.assert_close(got, loss.detach())
    for p, g in zip(net.parameters(), expected, strict=True):
        torch.testing.assert_close(p.grad, g)


def test_parts_have_their_rows_and_generators():
    torch.manual_seed(1)
    first = [(rows, g.initial_seed()) for rows, g in part_generators(7)]
    torch.manual_seed(1)
    again = [(rows, g.initial_seed()) for rows, g in part_generators(7)]
    assert first == again and [rows for rows, _ in first] == [4, 3]
    assert first[0][1] != first[1][1]
    assert [rows for rows, _ in part_generators(1)] == [1]


def test_dropout_masks_are_the_same_whole_or_in_parts():
    drop = Dropout(0.5)
    ones = torch.ones(5, 3, 8)

    def generators() -> list[tuple[int, torch.Generator]]:
        return [(3, torch.Generator().manual_seed(3)), (2, torch.Generator().manual_seed(4))]

    with row_generators(generators()):
        whole = drop(ones)
    first, second = generators()
    with row_generators([first]):
        top = drop(ones[:3])
    with row_generators([second]):
        bottom = drop(ones[3:])
    assert torch.equal(whole, torch.cat([top, bottom]))
    # Another number of rows than the ranges cover: the first generator, whole.
    with row_generators(generators()):
        other = drop(torch.ones(4, 2))
    expected = (torch.rand(4, 2, generator=torch.Generator().manual_seed(3)) >= 0.5) * 2.0
    assert torch.equal(other, expected)


def test_which_networks_split_and_run_at_once():
    assert splittable(DenseDNN(8, 8, [4], dropout=0.5))
    assert not splittable(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)))
    assert concurrency_safe(TFiLMUNet(depth=2, width=0.125))
    assert concurrency_safe(DenseDNN(8, 8, [4], dropout=0.5))
    assert concurrency_safe(nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.0)))
    assert not concurrency_safe(nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1)))
    assert not concurrency_safe(nn.LSTM(2, 2, num_layers=2, dropout=0.2))

    class Foreign(nn.Module):  # defined outside torch and tsfilm: unknown draws
        def forward(self, x):
            return x + torch.randn_like(x)

    assert not concurrency_safe(nn.Sequential(Foreign()))
    Foreign.__module__ = "tsfilm_elsewhere.layers"  # a plugin package that only looks alike
    assert not concurrency_safe(nn.Sequential(Foreign()))
    assert not concurrency_safe(nn.Sequential(nn.Linear(2, 2), nn.RReLU()))
    assert not concurrency_safe(nn.MultiheadAttention(4, 2, dropout=0.1))
    assert not concurrency_safe(nn.Embedding(5, 2, max_norm=1.0))
    hooked = nn.Linear(2, 2)
    hooked.register_forward_pre_hook(lambda module, args: None)
    assert not concurrency_safe(hooked)
    normed = torch.nn.utils.parametrizations.weight_norm(nn.Linear(2, 2))
    assert not concurrency_safe(normed)


def test_ctrl_c_in_a_half_keeps_the_best_weights_and_stops_the_workers(
    tiny_resolver, rng, two_cores, monkeypatch
):
    from tsfilm.estimators import TrainingInterruptedWarning

    original = UNetSuperResolver.compute_loss
    calls: list[int] = []
    high = _high(rng, 12)

    def counted(self, module, batch):
        calls.append(1)
        if len(calls) > first_epoch:  # the first half of the second epoch
            raise KeyboardInterrupt
        return original(self, module, batch)

    first_epoch = float("inf")
    monkeypatch.setattr(UNetSuperResolver, "compute_loss", counted)
    tiny_resolver(max_epochs=1, validation_fraction=0, n_threads=2, precision="float32").fit(
        high[:, ::2], high
    )
    first_epoch, calls[:] = len(calls), []
    with pytest.warns(TrainingInterruptedWarning, match="keeping the weights of epoch 1"):
        est = _fit_resolver(tiny_resolver, high, n_threads=2)
    assert est.n_epochs_ == 1 and not _train_threads()
