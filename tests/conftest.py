"""Shared test configuration.

Under pytest-xdist every worker is its own process; two processes that each use both
cores run several times slower than one, so each worker gets one torch thread.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded NumPy generator, fresh for each test."""
    return np.random.default_rng(0)
