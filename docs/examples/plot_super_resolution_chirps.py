"""
Super-resolution of synthetic chirps
====================================

Train a small :class:`~tsfilm.TFiLMSuperResolver` to restore the top three quarters of
the spectrum of chirps sampled at 4 kHz, up-sampled by a ratio of 4 to 16 kHz, and
compare it with the cubic-spline baseline, in signal-to-noise ratio and in spectrograms.

A chirp is a tone whose frequency rises with time; with its harmonics it has energy
far above the 2 kHz that a 4 kHz signal can hold. The spline can only interpolate
between the low-rate samples, so it leaves the high band empty; the network learns
from examples what the high band of such a signal looks like.
"""

# %%
# Training data
# -------------
# Thirty-two chirps of half a second at 16 kHz, each sweeping from a random start
# frequency upwards, with two harmonics. Each row is one series:
# the array has the shape ``(n_series, n_timesteps)``.
import numpy as np

from tsfilm import TFiLMSuperResolver
from tsfilm.metrics import snr
from tsfilm.plotting import plot_spectrograms
from tsfilm.preprocessing import degrade, spline_upsample

rate, ratio = 16_000, 4
t = np.arange(rate // 2) / rate
rng = np.random.default_rng(0)


def chirps(n: int) -> np.ndarray:
    """``n`` chirps with harmonics, shape (n, 8000), float32."""
    start = rng.uniform(200, 800, size=(n, 1))
    phase = 2 * np.pi * (start * t + 1500 * t**2)
    signal = sum(np.sin(k * phase) / k for k in (1, 2, 3))
    return (0.5 * signal).astype(np.float32)


X_train, X_test = chirps(32), chirps(4)

# %%
# Fit
# ---
# ``fit(X_high)`` with ``ratio=4`` degrades the signals itself (low-pass filter, then
# keep one sample in four), as the paper does. The network here is tiny
# (``width=0.125``) and trains for a few epochs on short patches, so the example runs in
# seconds on a CPU; the paper's network has 71 million parameters.
est = TFiLMSuperResolver(
    ratio=ratio,
    depth=3,
    width=0.125,
    max_filters=64,
    block_length=64,
    patch_length=2048,
    dropout=0.0,
    learning_rate=3e-3,
    max_epochs=6,
    batch_size=16,
    validation_fraction=0.0,
    random_state=0,
)
est.fit(X_train)

# %%
# Evaluate
# --------
# The low-rate test signals come from the same :func:`~tsfilm.preprocessing.degrade`.
# ``predict`` returns the high-rate signals in the layout of its input.
X_low = degrade(X_test, ratio)
spline = spline_upsample(X_low, ratio, length=X_test.shape[-1])
restored = est.predict(X_low)
print(f"low-rate input: {X_low.shape}, prediction: {restored.shape}")
print(f"SNR spline: {snr(X_test, spline):5.1f} dB")
print(f"SNR TFiLM:  {snr(X_test, restored):5.1f} dB")

# %%
# Spectrograms
# ------------
# Above 2 kHz, the Nyquist frequency of the 4 kHz input, the spline has only faint
# mirror images of the band below; the network puts energy back along the harmonics of
# the original.
fig = plot_spectrograms(
    {"spline (input)": spline[0], "TFiLM": restored[0], "original": X_test[0]},
    rate,
    n_fft=512,
    title="Chirp up-sampled from 4 kHz to 16 kHz",
)
