"""Signal preparation with NumPy and SciPy, no torch: rate and speed change, masking,
chunking, overlap-add.

Arrays keep time on the last axis: (n_timesteps,), (n_series, n_timesteps) or
(n_series, n_channels, n_timesteps). Arguments are checked with scikit-learn's
``validate_params``: a wrong one raises its ``InvalidParameterError``, both a TypeError and
a ValueError; arrays that are not numeric, not finite or have more than 3 axes raise
ValueError.
"""

from __future__ import annotations

from tsfilm.preprocessing.masking import hide_at_random, missing_mask
from tsfilm.preprocessing.patching import chunk_spans, overlap_add
from tsfilm.preprocessing.rates import (
    change_speed,
    degrade,
    min_length_for_lowpass,
    spline_upsample,
)
from tsfilm.preprocessing.text import TextTokenizer

__all__ = [
    "TextTokenizer",
    "change_speed",
    "chunk_spans",
    "degrade",
    "hide_at_random",
    "min_length_for_lowpass",
    "missing_mask",
    "overlap_add",
    "spline_upsample",
]
