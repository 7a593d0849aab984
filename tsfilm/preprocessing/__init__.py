"""Signal preparation with NumPy and SciPy only: resampling, patching, overlap-add.

Arrays keep time on the last axis: (n_timesteps,), (n_series, n_timesteps) or
(n_series, n_channels, n_timesteps).
"""

from __future__ import annotations

from tsfilm.preprocessing.patching import chunk_spans, overlap_add, random_patches
from tsfilm.preprocessing.resample import degrade, min_length_for_lowpass, spline_upsample

__all__ = [
    "chunk_spans",
    "degrade",
    "min_length_for_lowpass",
    "overlap_add",
    "random_patches",
    "spline_upsample",
]
