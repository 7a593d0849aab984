"""Fixtures shared by the estimator tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tsfilm import TFiLMSuperResolver


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
