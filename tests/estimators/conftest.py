"""Fixtures shared by the estimator tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tsfilm import TFiLMSuperResolver


@pytest.fixture
def tiny_resolver() -> Callable[..., TFiLMSuperResolver]:
    """Make super-resolvers small enough to fit in a fraction of a second."""

    def make(**params) -> TFiLMSuperResolver:
        return TFiLMSuperResolver(
            depth=2,
            width=0.125,
            max_filters=16,
            block_length=16,
            patch_length=128,
            batch_size=4,
            random_state=0,
            **params,
        )

    return make
