"""
What a TFiLM layer modulates
============================

A convolution sees only a few neighbouring time steps. A :class:`~tsfilm.nn.TFiLM`
layer adds context from far away: it max-pools its input over blocks of time steps,
runs an LSTM over the block summaries, and scales and shifts every channel of each
block by the LSTM's output, ``gamma`` and ``beta`` (Algorithm 1 of the paper).

This example trains a convolution followed by a TFiLM layer on a task that a
convolution alone cannot solve, then looks at the modulation parameters block by block
with ``TFiLM(...)(x, return_modulation=True)``.
"""

# %%
# A task that needs long-range context
# ------------------------------------
# Each input is noise whose first block holds a constant "gain" between 0.5 and 2;
# the target is the noise multiplied by that gain everywhere after the first block.
# A convolution with a kernel of three steps never sees the first block from the
# later ones, so it can only guess the average gain.
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from tsfilm.nn import TFiLM

torch.manual_seed(0)
length, block = 256, 16


def batch(n: int, gains: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    """Inputs and targets of shape (n, 1, length), and the gains, shape (n,)."""
    if gains is None:
        gains = 0.5 + 1.5 * torch.rand(n)
    noise = torch.randn(n, 1, length)
    x = noise.clone()
    x[:, :, :block] = gains[:, None, None]
    y = noise * gains[:, None, None]
    y[:, :, :block] = x[:, :, :block]
    return x, y, gains


class ConvTFiLM(nn.Module):
    """Conv1d -> TFiLM (optional) -> 1x1 Conv1d, on (N, 1, T) signals."""

    def __init__(self, tfilm: bool) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 8, kernel_size=3, padding=1)
        self.tfilm = TFiLM(8, block_length=block) if tfilm else None
        self.out = nn.Conv1d(8, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)
        if self.tfilm is not None:
            h = self.tfilm(h)
        return self.out(h)


def train(model: nn.Module, steps: int = 600) -> float:
    """Adam on fresh batches; returns the mean squared error on new data."""
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        x, y, _ = batch(32)
        loss = nn.functional.mse_loss(model(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        x, y, _ = batch(256)
        return float(nn.functional.mse_loss(model(x), y))


# %%
# Train with and without TFiLM
# ----------------------------
conv_only, with_tfilm = ConvTFiLM(tfilm=False), ConvTFiLM(tfilm=True)
print(f"mean squared error, convolution only: {train(conv_only):.3f}")
print(f"mean squared error, with TFiLM:       {train(with_tfilm):.3f}")

# %%
# The modulation, block by block
# ------------------------------
# ``return_modulation=True`` also returns ``gamma`` and ``beta``, each of shape
# ``(N, C, n_blocks)``: one scale and one shift per channel and block. For inputs with
# gains 0.5, 1 and 2, the scale of the channels after the first block follows the gain
# the LSTM read in block 0 and carried along: the layer has turned a distant
# observation into a local one.
x, y, gains = batch(3, gains=torch.tensor([0.5, 1.0, 2.0]))
with torch.no_grad():
    features = with_tfilm.conv(x)
    _, gamma, beta = with_tfilm.tfilm(features, return_modulation=True)
print("gamma:", tuple(gamma.shape), "beta:", tuple(beta.shape))

fig, (ax_signal, ax_gamma) = plt.subplots(2, 1, figsize=(7, 5.5), layout="constrained")
ax_signal.plot(y[2, 0].numpy(), color="0.6", label="target (gain 2)")
with torch.no_grad():
    ax_signal.plot(with_tfilm(x)[2, 0].numpy(), color="C3", lw=1, label="TFiLM network")
for b in range(0, length + 1, block):
    ax_signal.axvline(b, color="0.85", lw=0.5, zorder=0)
ax_signal.set(xlabel="time step", title="Output for gain 2 (grey lines: block edges)")
ax_signal.legend(loc="upper right")

blocks = np.arange(gamma.shape[-1])
channel = int(torch.argmax(gamma[:, :, 1:].std(dim=0).mean(dim=-1)))
for i, g in enumerate(gains.tolist()):
    ax_gamma.plot(blocks, gamma[i, channel].numpy(), marker="o", label=f"gain {g:g}")
ax_gamma.set(
    xlabel="block",
    ylabel="gamma",
    title=f"Scale of channel {channel}, per block",
    xticks=blocks,
)
ax_gamma.legend()
plt.show()
