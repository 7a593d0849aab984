"""
Filling missing values in time series
=====================================

Hide a fifth of the values of synthetic seasonal series, fill them with a
:class:`~tsfilm.TFiLMImputer` and with the cubic-spline baseline from the model
registry, and score both on the hidden values.

The imputer learns from incomplete data alone: while training it hides a further share
of the values it can see and learns to predict them. ``transform`` fills every missing
entry and returns the observed values unchanged, bit for bit.
"""

# %%
# Data with a known answer
# ------------------------
# Sixty-four series of 256 days: a weekly pattern, a slow wave and noise, each series
# with its own level. :func:`~tsfilm.preprocessing.hide_at_random` replaces 20 % of the
# values by NaN and returns the mask of what it hid, the entries to score on.
import numpy as np

from tsfilm import TFiLMImputer
from tsfilm.metrics import masked_l2
from tsfilm.plotting import plot_imputation
from tsfilm.preprocessing import hide_at_random
from tsfilm.registry import make_model

rng = np.random.default_rng(0)
n_series, n_days = 64, 256
days = np.arange(n_days)
weekly = np.array([1.0, 1.1, 1.0, 1.2, 1.6, 2.0, 0.4])[days % 7]
level = rng.uniform(5, 20, size=(n_series, 1))
wave = 1 + 0.3 * np.sin(2 * np.pi * days / rng.uniform(40, 120, size=(n_series, 1)))
X = level * weekly * wave + rng.normal(scale=1.0, size=(n_series, n_days))

X_missing, hidden = hide_at_random(X, 0.2, random_state=0)
print(f"{int(hidden.sum())} of {X.size} values hidden")

# %%
# Fit and fill
# ------------
# ``fit`` takes the data with its holes; NaN marks a missing value
# (``missing_values=0`` would treat zeros as missing, as in the paper's sales data).
# Each series is standardised with its own observed values (``scaling="standard"``)
# so that series of any level share one network. A tiny network trains for a few
# epochs here.
imputer = TFiLMImputer(
    scaling="standard",
    window_length=128,
    depth=3,
    width=0.125,
    block_length=8,
    dropout=0.0,
    max_epochs=15,
    learning_rate=3e-3,
    random_state=0,
)
X_tfilm = imputer.fit_transform(X_missing)

# The cubic-spline baseline comes from the model registry, like any plugin's model.
spline = make_model("spline", task="imputation")
X_spline = spline.fit_transform(X_missing)

assert np.array_equal(X_tfilm[~hidden], X_missing[~hidden])  # observed values kept
for name, filled in [("spline", X_spline), ("TFiLM", X_tfilm)]:
    print(f"L2 error on the hidden values, {name:6s}: {masked_l2(X, filled, hidden):.1f}")

# %%
# The first days of three series
# ------------------------------
# The spline joins the neighbouring observed values; the network has learned the
# weekly pattern and puts the missing peaks and troughs back.
fig = plot_imputation(
    X[:, :70],
    {"spline": X_spline[:, :70], "TFiLM": X_tfilm[:, :70]},
    hidden[:, :70],
    series=(0, 1, 2),
    title="Hidden values (crosses) and their estimates",
)
