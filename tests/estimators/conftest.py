"""Fixtures shared by the estimator tests."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import torch

from tsfilm import TFiLMSuperResolver
from tsfilm.estimators._threads import flushes_denormals


@pytest.fixture(scope="session")
def tiny_resolver_params() -> dict:
    """Parameters of a super-resolver small enough to fit in a fraction of a second."""
    return {
        "depth": 2,
        "width": 0.125,
        "max_filters": 16,
        "block_length": 16,
        "patch_length": 128,
        "batch_size": 4,
        "random_state": 0,
    }


@pytest.fixture
def tiny_resolver(tiny_resolver_params) -> Callable[..., TFiLMSuperResolver]:
    """Make super-resolvers small enough to fit in a fraction of a second."""

    def make(**params) -> TFiLMSuperResolver:
        return TFiLMSuperResolver(**tiny_resolver_params, **params)

    return make


def _settings() -> dict:
    return {
        "thread": threading.current_thread().name,
        "torch_threads": torch.get_num_threads(),
        "inference": torch.is_inference_mode_enabled(),
        "autocast": torch.is_autocast_enabled("cpu"),
        "flush": flushes_denormals(),
    }


@pytest.fixture
def batches(monkeypatch):
    """The settings seen by the network at every batch it runs, in any thread."""
    seen: list[dict] = []
    original = torch.nn.Module.__call__

    def call(module, *args, **kwargs):
        if module is getattr(call, "target", None):
            seen.append(_settings())
        return original(module, *args, **kwargs)

    def watch(module: torch.nn.Module) -> list[dict]:
        call.target = module
        return seen

    monkeypatch.setattr(torch.nn.Module, "__call__", call)
    return watch
