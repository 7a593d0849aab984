"""Tests for tsfilm.nn.tfilm."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tsfilm.nn import TFiLM
from tsfilm.nn.tfilm import DEFAULT_BLOCK_LENGTH


def _pool_blocks_by_hand(x: torch.Tensor, block: int) -> torch.Tensor:
    """Max over the real steps of every block, (N, C, T) -> (N, C, ceil(T / block))."""
    length = x.shape[-1]
    return torch.stack(
        [
            x[:, :, start : min(start + block, length)].amax(dim=-1)
            for start in range(0, length, block)
        ],
        dim=-1,
    )


@pytest.mark.parametrize("length", [1, 5, 17, 30, 33])
@pytest.mark.parametrize("rnn", ["lstm", "gru", "bilstm"])
def test_shape_kept_for_any_length(length: int, rnn: str) -> None:
    torch.manual_seed(0)
    layer = TFiLM(channels=4, block_length=8, rnn=rnn)
    x = torch.randn(3, 4, length)
    y, gamma, beta = layer(x, return_modulation=True)
    assert y.shape == x.shape
    assert gamma.shape == beta.shape == (3, 4, math.ceil(length / 8))


@pytest.mark.parametrize("rnn", ["lstm", "gru", "bilstm"])
def test_scale_gamma_is_the_raw_rnn_output(rnn: str) -> None:
    torch.manual_seed(1)
    layer = TFiLM(channels=6, block_length=4, rnn=rnn, modulation="scale")
    assert layer.projection is None
    # All-negative input: zero padding would win the max of the partial last
    # block; the layer must pool over the real steps only.
    x = -torch.rand(2, 6, 13) - 0.1
    y, gamma, beta = layer(x, return_modulation=True)

    pooled = _pool_blocks_by_hand(x, 4)
    expected_gamma = layer.rnn(pooled.transpose(1, 2))[0].transpose(1, 2)
    assert torch.equal(gamma, expected_gamma)
    assert torch.equal(beta, torch.zeros_like(gamma))
    # Each step is scaled by the gamma of its block, nothing else.
    per_step = gamma.repeat_interleave(4, dim=-1)[:, :, :13]
    assert torch.equal(y, per_step * x)


def test_affine_modulation_uses_projection_and_starts_near_identity() -> None:
    torch.manual_seed(2)
    layer = TFiLM(channels=5, block_length=3)
    x = torch.randn(4, 5, 20)
    y, gamma, beta = layer(x, return_modulation=True)

    rnn_out = layer.rnn(_pool_blocks_by_hand(x, 3).transpose(1, 2))[0]
    expected_gamma, expected_beta = layer.projection(rnn_out).transpose(1, 2).chunk(2, dim=1)
    torch.testing.assert_close(gamma, expected_gamma)
    torch.testing.assert_close(beta, expected_beta)
    torch.testing.assert_close(
        y,
        gamma.repeat_interleave(3, -1)[..., :20] * x + beta.repeat_interleave(3, -1)[..., :20],
    )
    assert torch.equal(layer.projection.bias, torch.tensor([1.0] * 5 + [0.0] * 5))
    assert (gamma - 1).abs().max() < 0.3
    assert beta.abs().max() < 0.3


@pytest.mark.parametrize("rnn", ["lstm", "gru"])
@pytest.mark.parametrize("modulation", ["affine", "scale"])
@pytest.mark.parametrize("length", [32, 30])
def test_unidirectional_layer_is_causal_across_blocks(
    rnn: str, modulation: str, length: int
) -> None:
    torch.manual_seed(3)
    layer = TFiLM(channels=4, block_length=4, rnn=rnn, modulation=modulation)
    x = torch.randn(2, 4, length)
    for b in range(math.ceil(length / 4) - 1):
        changed = x.clone()
        changed[:, :, (b + 1) * 4 :] = torch.randn_like(changed[:, :, (b + 1) * 4 :]) * 5
        y, y_changed = layer(x), layer(changed)
        assert torch.equal(y[:, :, : (b + 1) * 4], y_changed[:, :, : (b + 1) * 4])
        assert not torch.equal(y[:, :, (b + 1) * 4 :], y_changed[:, :, (b + 1) * 4 :])


def test_bidirectional_layer_sees_the_future() -> None:
    torch.manual_seed(4)
    layer = TFiLM(channels=4, block_length=4, rnn="bilstm")
    x = torch.randn(2, 4, 32)
    changed = x.clone()
    changed[:, :, 16:] += 3.0
    y, y_changed = layer(x), layer(changed)
    assert not torch.equal(y[:, :, :4], y_changed[:, :, :4])
    assert (y[:, :, :16] - y_changed[:, :, :16]).abs().max() > 1e-4


@pytest.mark.parametrize(("length", "block"), [(30, 8), (32, 8), (9, 3), (3, 1), (5, 2), (100, 25)])
def test_n_blocks_gives_that_many_blocks(length: int, block: int) -> None:
    torch.manual_seed(5)
    layer = TFiLM(channels=3, n_blocks=4)
    assert layer.block_length is None
    assert layer.block_length_for(length) == block
    y, gamma, _ = layer(torch.randn(2, 3, length), return_modulation=True)
    assert y.shape == (2, 3, length)
    assert gamma.shape == (2, 3, 4)


def test_default_block_length() -> None:
    layer = TFiLM(channels=2)
    assert layer.block_length == DEFAULT_BLOCK_LENGTH == 8
    assert layer.n_blocks is None


@pytest.mark.parametrize(
    ("rnn", "channels", "hidden"),
    [("lstm", 6, 6), ("gru", 6, 6), ("bilstm", 6, 3), ("bilstm", 7, 4)],
)
def test_default_hidden_size_gives_channels_features(rnn: str, channels: int, hidden: int) -> None:
    layer = TFiLM(channels=channels, rnn=rnn)
    assert layer.rnn.hidden_size == hidden
    assert isinstance(layer.rnn, torch.nn.GRU if rnn == "gru" else torch.nn.LSTM)
    assert layer.rnn.bidirectional == (rnn == "bilstm")


def test_explicit_hidden_size_with_affine() -> None:
    layer = TFiLM(channels=4, hidden_size=10, rnn="bilstm")
    assert layer.projection.in_features == 20
    assert layer.projection.out_features == 8


@pytest.mark.parametrize("rnn", ["lstm", "bilstm"])
def test_mask_makes_padding_invisible(rnn: str) -> None:
    torch.manual_seed(6)
    layer = TFiLM(channels=3, block_length=4, rnn=rnn)
    lengths = [13, 6]
    padded = torch.randn(2, 3, 20) * 10
    mask = torch.arange(20) < torch.tensor(lengths)[:, None]
    y = layer(padded, mask=mask)
    for i, length in enumerate(lengths):
        alone = layer(padded[i : i + 1, :, :length])
        torch.testing.assert_close(y[i : i + 1, :, :length], alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("mask", "error", "match"),
    [
        (torch.ones(2, 10), TypeError, "bool tensor"),
        (torch.ones(2, 9, dtype=torch.bool), ValueError, "shape"),
        (torch.tensor([[True] * 5 + [False, True] + [True] * 3] * 2), ValueError, "prefix"),
        (torch.tensor([[True] * 10, [False] * 10]), ValueError, "no real step"),
    ],
)
def test_invalid_mask_is_rejected(mask: torch.Tensor, error: type, match: str) -> None:
    layer = TFiLM(channels=3, block_length=4)
    with pytest.raises(error, match=match):
        layer(torch.randn(2, 3, 10), mask=mask)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"channels": 4, "block_length": 4, "n_blocks": 2}, ValueError, "not both"),
        ({"channels": 0}, ValueError, "channels must be an int >= 1, got 0"),
        ({"channels": 4.0}, TypeError, "channels must be an int >= 1, got float"),
        ({"channels": True}, TypeError, "channels must be an int >= 1, got bool"),
        ({"channels": 4, "block_length": 0}, ValueError, "block_length must be an int >= 1"),
        ({"channels": 4, "n_blocks": -1}, ValueError, "n_blocks must be an int >= 1"),
        ({"channels": 4, "hidden_size": 2.5}, TypeError, "hidden_size must be an int"),
        ({"channels": 4, "rnn": "transformer"}, ValueError, "rnn must be one of"),
        ({"channels": 4, "rnn": nn.LSTM}, TypeError, "rnn must be one of"),
        ({"channels": 4, "modulation": "shift"}, ValueError, "modulation must be one of"),
        ({"channels": 4, "modulation": "scale", "hidden_size": 5}, ValueError, "hidden_size=5"),
        ({"channels": 5, "modulation": "scale", "rnn": "bilstm"}, ValueError, "even number"),
    ],
)
def test_invalid_arguments(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        TFiLM(**kwargs)


@pytest.mark.parametrize("shape", [(2, 5, 10), (2, 4), (2, 4, 0)])
def test_wrong_input_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"shape \(N, C=4, T\)"):
        TFiLM(channels=4)(torch.randn(*shape))


def test_eval_forward_leaves_global_rng_alone() -> None:
    layer = TFiLM(channels=3, block_length=2, rnn="bilstm")
    state = torch.random.get_rng_state()
    layer(torch.zeros(1, 3, 9))
    assert torch.equal(torch.random.get_rng_state(), state)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    channels=st.integers(1, 6),
    length=st.integers(1, 70),
    block=st.integers(1, 20),
    use_n_blocks=st.booleans(),
    rnn=st.sampled_from(["lstm", "gru", "bilstm"]),
    modulation=st.sampled_from(["affine", "scale"]),
)
def test_property_shape_is_kept(
    n: int,
    channels: int,
    length: int,
    block: int,
    use_n_blocks: bool,
    rnn: str,
    modulation: str,
) -> None:
    if modulation == "scale" and rnn == "bilstm" and channels % 2:
        channels += 1
    torch.manual_seed(7)
    size = {"n_blocks": block} if use_n_blocks else {"block_length": block}
    layer = TFiLM(channels, rnn=rnn, modulation=modulation, **size)
    x = torch.randn(n, channels, length)
    y, gamma, beta = layer(x, return_modulation=True)
    expected_blocks = block if use_n_blocks else math.ceil(length / block)
    assert y.shape == x.shape
    assert gamma.shape == beta.shape == (n, channels, expected_blocks)
    assert torch.isfinite(y).all()


@settings(max_examples=25, deadline=None)
@given(
    length=st.integers(1, 70),
    block=st.integers(1, 20),
    ties=st.booleans(),
    rnn=st.sampled_from(["lstm", "bilstm"]),
)
def test_property_inference_pooling_matches_training_pooling(
    length: int, block: int, ties: bool, rnn: str
) -> None:
    # Without autograd the layer pools with amax (no indices); with it, with max and
    # its indices: the RNN reads the same block maxima, bit for bit, ties included.
    torch.manual_seed(3)
    layer = TFiLM(4, block_length=block, rnn=rnn)
    pools: list[torch.Tensor] = []
    layer.rnn.register_forward_hook(lambda module, args, out: pools.append(args[0].detach()))
    x = torch.randn(2, 4, length)
    if ties:
        x = x.clamp(min=0.0)  # ReLU-like activations: whole blocks of equal zeros
    with torch.no_grad():
        inferred = layer(x)
    trained = layer(x.clone().requires_grad_(True))
    assert torch.equal(pools[0], pools[1])
    assert torch.equal(pools[0], _pool_blocks_by_hand(x, block).transpose(1, 2))
    torch.testing.assert_close(inferred, trained.detach(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- causal=True
@pytest.mark.parametrize("rnn", ["lstm", "gru"])
@pytest.mark.parametrize("modulation", ["affine", "scale"])
def test_causal_block_uses_the_rnn_output_of_the_blocks_before(rnn: str, modulation: str) -> None:
    torch.manual_seed(8)
    layer = TFiLM(channels=4, block_length=5, rnn=rnn, modulation=modulation, causal=True)
    x = torch.randn(2, 4, 23)
    y, gamma, beta = layer(x, return_modulation=True)

    pooled = _pool_blocks_by_hand(x, 5).transpose(1, 2)  # (N, 5 blocks, C)
    shifted = torch.cat([torch.zeros(2, 1, 4), pooled[:, :-1]], dim=1)
    rnn_out = layer.rnn(shifted)[0]
    if modulation == "scale":
        expected_gamma, expected_beta = rnn_out.transpose(1, 2), torch.zeros(2, 4, 5)
    else:
        expected_gamma, expected_beta = layer.projection(rnn_out).transpose(1, 2).chunk(2, dim=1)
    torch.testing.assert_close(gamma, expected_gamma)
    torch.testing.assert_close(beta, expected_beta)
    per_step = gamma.repeat_interleave(5, -1)[..., :23]
    torch.testing.assert_close(y, per_step * x + beta.repeat_interleave(5, -1)[..., :23])


@settings(max_examples=20, deadline=None)
@given(
    length=st.integers(2, 60),
    block=st.integers(1, 9),
    cut=st.integers(1, 59),
    rnn=st.sampled_from(["lstm", "gru"]),
    modulation=st.sampled_from(["affine", "scale"]),
)
def test_property_causal_output_ignores_every_later_step(
    length: int, block: int, cut: int, rnn: str, modulation: str
) -> None:
    cut = min(cut, length - 1)
    torch.manual_seed(9)
    layer = TFiLM(channels=3, block_length=block, rnn=rnn, modulation=modulation, causal=True)
    x = torch.randn(2, 3, length)
    changed = x.clone()
    changed[..., cut:] = torch.randn_like(changed[..., cut:]) * 10
    y, y_changed = layer(x), layer(changed)
    assert torch.equal(y[..., :cut], y_changed[..., :cut])
    # The changed steps themselves are scaled by parameters of earlier blocks only.
    assert not torch.equal(y[..., cut:], y_changed[..., cut:])


def test_causal_block_zero_is_modulated_from_the_zero_vector_alone() -> None:
    torch.manual_seed(10)
    layer = TFiLM(channels=3, block_length=4, causal=True)
    a, b = torch.randn(1, 3, 4), torch.randn(1, 3, 4) * 5
    _, gamma_a, beta_a = layer(a, return_modulation=True)
    _, gamma_b, beta_b = layer(b, return_modulation=True)
    assert torch.equal(gamma_a, gamma_b)
    assert torch.equal(beta_a, beta_b)


def test_non_causal_layer_is_unchanged_by_the_new_argument() -> None:
    torch.manual_seed(11)
    default = TFiLM(channels=4, block_length=4)
    torch.manual_seed(11)
    explicit = TFiLM(channels=4, block_length=4, causal=False)
    x = torch.randn(2, 4, 19)
    assert torch.equal(default(x), explicit(x))
    assert "causal" not in repr(default)
    assert "causal=True" in repr(TFiLM(channels=4, causal=True))
    assert default.state_dict().keys() == TFiLM(channels=4, causal=True).state_dict().keys()


def test_causal_with_mask_matches_the_unpadded_sequence() -> None:
    torch.manual_seed(12)
    layer = TFiLM(channels=3, block_length=4, causal=True)
    padded = torch.randn(2, 3, 20)
    mask = torch.arange(20) < torch.tensor([13, 6])[:, None]
    y = layer(padded, mask=mask)
    for i, length in enumerate([13, 6]):
        alone = layer(padded[i : i + 1, :, :length])
        torch.testing.assert_close(y[i : i + 1, :, :length], alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rnn": "bilstm"}, ValueError, "causal=True needs a unidirectional RNN"),
        ({"n_blocks": 4, "block_length": None}, ValueError, "fixed block_length"),
        ({"causal": 1}, TypeError, "causal must be a bool"),
    ],
)
def test_invalid_causal_arguments(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        TFiLM(**{"channels": 4, "causal": True, **kwargs})
