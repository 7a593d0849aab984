"""Tests for tsfilm.nn.unet."""

from __future__ import annotations

import math
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tsfilm.nn import TFiLM, TFiLMUNet

# Small enough to run in milliseconds, deep enough to exercise every block.
SMALL = {"depth": 2, "width": 0.0625, "block_length": 16, "dropout": 0.0}


@pytest.mark.parametrize("length", [1, 7, 33, 101, 128])
def test_output_length_equals_input_length(length: int) -> None:
    torch.manual_seed(0)
    net = TFiLMUNet(**SMALL).eval()
    assert net(torch.randn(2, 1, length)).shape == (2, 1, length)


def test_multichannel_input_with_fewer_output_channels() -> None:
    torch.manual_seed(0)
    net = TFiLMUNet(in_channels=2, out_channels=1, **SMALL).eval()
    assert net(torch.randn(3, 2, 45)).shape == (3, 1, 45)


@pytest.mark.parametrize(("in_channels", "out_channels"), [(1, None), (2, 1), (3, 3)])
def test_zeroed_output_layer_with_residual_returns_the_input(
    in_channels: int, out_channels: int | None
) -> None:
    torch.manual_seed(1)
    net = TFiLMUNet(in_channels=in_channels, out_channels=out_channels, **SMALL)
    with torch.no_grad():
        net.output.weight.zero_()
        net.output.bias.zero_()
    x = torch.randn(2, in_channels, 77)
    n_out = in_channels if out_channels is None else out_channels
    assert torch.equal(net(x), x[:, :n_out])


def test_output_layer_starts_near_zero() -> None:
    torch.manual_seed(2)
    net = TFiLMUNet(**SMALL)
    assert net.output.weight.std() < 2e-3
    assert torch.equal(net.output.bias, torch.zeros_like(net.output.bias))
    x = torch.randn(2, 1, 64)
    assert (net.eval()(x) - x).abs().max() < 0.1


def test_without_residual_output_is_the_network_alone() -> None:
    torch.manual_seed(3)
    net = TFiLMUNet(residual=False, **SMALL).eval()
    with torch.no_grad():
        net.output.weight.zero_()
    assert torch.equal(net(torch.randn(2, 1, 40)), torch.zeros(2, 1, 40))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"rnn": "bilstm", "modulation": "scale"},
        {"rnn": "gru", "skip": False, "residual": False},
        {"tfilm": False, "activation": "relu"},
    ],
)
def test_every_parameter_gets_a_gradient(kwargs: dict) -> None:
    torch.manual_seed(4)
    # Eval mode: no dropout, so no weight is cut off by chance. Length 64 gives
    # every TFiLM layer at least two blocks, so recurrent weights get gradients.
    net = TFiLMUNet(**{**SMALL, "width": 0.125, **kwargs}).eval()
    x, target = torch.randn(3, 1, 64), torch.randn(3, 1, 64)
    torch.mean((net(x) - target) ** 2).backward()
    no_grad = [
        name for name, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0
    ]
    assert no_grad == []


def test_without_tfilm_there_are_no_rnn_parameters() -> None:
    net = TFiLMUNet(tfilm=False, **SMALL)
    assert not any(isinstance(m, (TFiLM, torch.nn.RNNBase)) for m in net.modules())
    assert not any("rnn" in name or "tfilm" in name for name, _ in net.named_parameters())
    with_tfilm = TFiLMUNet(**SMALL)
    assert sum(isinstance(m, TFiLM) for m in with_tfilm.modules()) == 2 * 2 + 1


def test_tfilm_block_length_per_level() -> None:
    net = TFiLMUNet(depth=3, width=0.0625, block_length=64)
    assert [block.tfilm.block_length for block in net.down] == [32, 16, 8]
    assert net.bottleneck.tfilm.block_length == 4
    # The up path mirrors the down path, deepest level first.
    assert [block.tfilm.block_length for block in net.up] == [8, 16, 32]
    tiny = TFiLMUNet(depth=3, width=0.0625, block_length=4)
    assert [block.tfilm.block_length for block in tiny.up] == [1, 1, 2]


def test_filters_and_kernels_follow_the_paper() -> None:
    with torch.device("meta"):
        net = TFiLMUNet()
    assert net.filters == (128, 256, 512, 512, 512)
    assert [block.conv.kernel_size[0] for block in net.down] == [65, 33, 17, 9]
    assert [block.conv.stride[0] for block in net.down] == [2, 2, 2, 2]
    assert net.bottleneck.conv.kernel_size[0] == 9
    assert [block.conv.out_channels for block in net.up] == [1024, 1024, 512, 256]
    assert net.output.out_channels == 2
    assert isinstance(net.down[0].activation, torch.nn.LeakyReLU)
    assert net.down[0].activation.negative_slope == 0.2
    assert isinstance(net.up[0].activation, torch.nn.ReLU)


def test_width_scales_filters_and_keeps_at_least_one() -> None:
    with torch.device("meta"):
        assert TFiLMUNet(depth=2, width=0.5, max_filters=64).filters == (32, 32, 32)
        assert TFiLMUNet(depth=2, width=0.001).filters == (1, 1, 1)


def test_skip_false_keeps_every_filter_count() -> None:
    with torch.device("meta"):
        with_skip, without = TFiLMUNet(depth=3), TFiLMUNet(depth=3, skip=False)

    def out_channels(net: TFiLMUNet) -> list[int]:
        return [m.out_channels for m in net.modules() if isinstance(m, torch.nn.Conv1d)]

    assert out_channels(with_skip) == out_channels(without)
    assert [block.conv.in_channels for block in without.up] == [512, 512, 256]
    assert without.output.in_channels == 128


def test_paper_configuration_parameter_count_matches_docstring() -> None:
    net = TFiLMUNet()
    count = sum(p.numel() for p in net.parameters())
    assert count == TFiLMUNet.PAPER_PARAMETER_COUNT
    documented = re.search(r"\*\*([\d,]+)\*\* parameters", TFiLMUNet.__doc__)
    assert documented is not None
    assert int(documented.group(1).replace(",", "")) == count


def test_length_multiple() -> None:
    assert TFiLMUNet(**SMALL).length_multiple == 8
    with torch.device("meta"):
        assert TFiLMUNet().length_multiple == 32


def test_features_shape() -> None:
    torch.manual_seed(5)
    net = TFiLMUNet(**SMALL).eval()
    first_filters = net.filters[0]
    assert net.features(torch.randn(2, 1, 64)).shape == (2, first_filters, 32)
    assert net.features(torch.randn(2, 1, 51)).shape == (2, first_filters, 26)


def test_features_are_the_last_tfilm_output() -> None:
    torch.manual_seed(6)
    net = TFiLMUNet(**SMALL).eval()
    captured = {}
    net.up[-1].tfilm.register_forward_hook(lambda m, i, o: captured.update(out=o))
    x = torch.randn(2, 1, 64)
    features = net.features(x)
    assert torch.equal(features, captured["out"])


def test_forward_leaves_input_unchanged() -> None:
    net = TFiLMUNet(**SMALL).eval()
    x = torch.randn(2, 1, 30)
    copy = x.clone()
    net(x)
    assert torch.equal(x, copy)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"in_channels": 1, "out_channels": 2}, ValueError, "in_channels=1"),
        ({"activation": "gelu"}, ValueError, "activation must be one of"),
        ({"dropout": 1.0}, ValueError, r"dropout must be a real number in \[0, 1\), got 1.0"),
        ({"dropout": "0.5"}, TypeError, "dropout must be a real number .*got str"),
        ({"width": 0}, ValueError, r"width must be a real number in \(0, inf\)"),
        ({"width": float("inf")}, ValueError, "width must be"),
        ({"width": float("nan")}, ValueError, "width must be"),
        ({"width": True}, TypeError, "width must be"),
        ({"depth": 0}, ValueError, "depth must be an int >= 1, got 0"),
        ({"depth": 2.0}, TypeError, "depth must be an int >= 1, got float"),
        ({"block_length": 0}, ValueError, "block_length must be an int >= 1"),
        ({"skip": "yes"}, TypeError, "skip must be a bool"),
        ({"activation": None}, TypeError, "activation must be one of"),
        ({"rnn": "lstmm", "tfilm": False}, ValueError, "rnn must be one of"),
        ({"modulation": "film", "tfilm": False}, ValueError, "modulation must be one of"),
    ],
)
def test_invalid_arguments(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        TFiLMUNet(**kwargs)


def test_wrong_input_channels() -> None:
    net = TFiLMUNet(in_channels=2, out_channels=1, **SMALL)
    with pytest.raises(ValueError, match=r"shape \(N, C_in=2, T\)"):
        net(torch.randn(1, 1, 16))


def test_small_network_overfits_a_few_signals() -> None:
    torch.manual_seed(7)
    t = torch.arange(256, dtype=torch.float32)
    freqs = torch.rand(8, 3, 1) * 0.25 + 0.01
    phases = torch.rand(8, 3, 1) * 2 * math.pi
    amps = torch.rand(8, 3, 1) + 0.5
    target = (amps * torch.sin(2 * math.pi * freqs * t + phases)).sum(dim=1, keepdim=True)
    # A 9-tap moving average removes the high frequencies the net must restore.
    smoothed = torch.nn.functional.conv1d(
        torch.nn.functional.pad(target, (4, 4), mode="replicate"), torch.ones(1, 1, 9) / 9
    )
    net = TFiLMUNet(depth=2, width=0.0625, block_length=32, dropout=0.0)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(150):
        optimizer.zero_grad()
        loss = torch.mean((net(smoothed) - target) ** 2)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 10


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 2),
    in_channels=st.integers(1, 3),
    length=st.integers(1, 90),
    depth=st.integers(1, 3),
    block_length=st.integers(1, 64),
    tfilm=st.booleans(),
    skip=st.booleans(),
)
def test_property_shape_is_kept(
    n: int, in_channels: int, length: int, depth: int, block_length: int, tfilm: bool, skip: bool
) -> None:
    torch.manual_seed(8)
    net = TFiLMUNet(
        in_channels=in_channels,
        out_channels=1,
        depth=depth,
        width=0.03,
        block_length=block_length,
        tfilm=tfilm,
        skip=skip,
    ).eval()
    x = torch.randn(n, in_channels, length)
    assert net(x).shape == (n, 1, length)
    assert net.features(x).shape == (n, net.filters[0], math.ceil(length / 2))
