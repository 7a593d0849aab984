"""Tests for tsfilm.nn.unet."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tsfilm.nn import TFiLM, TFiLMUNet
from tsfilm.nn.unet import CausalConv1d
from tsfilm.streaming import UNetStream

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
        ({"up_activation": "tanh"}, ValueError, "up_activation must be one of"),
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


def test_up_activation_chooses_the_up_blocks_activation() -> None:
    """The up path is ReLU by default (the paper's code); LeakyReLU on request lets a unit
    whose input is negative still pass a gradient, and the down path is unchanged."""
    relu = TFiLMUNet(depth=2, width=0.125)
    leaky = TFiLMUNet(depth=2, width=0.125, up_activation="leaky_relu")
    assert all(type(b.activation) is nn.ReLU for b in relu.up)
    assert all(isinstance(b.activation, nn.LeakyReLU) for b in leaky.up)
    assert all(b.activation.negative_slope == 0.2 for b in leaky.up)
    assert all(isinstance(b.activation, nn.LeakyReLU) for b in leaky.down)
    h = torch.full((1, 4, 3), -1.0, requires_grad=True)
    relu.up[0].activation(h).sum().backward()
    assert not h.grad.any()
    h.grad = None
    leaky.up[0].activation(h).sum().backward()
    assert torch.all(h.grad == 0.2)


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


# ---------------------------------------------------------------------- causal=True
def _causal_net(**kwargs) -> TFiLMUNet:
    """A small causal network whose output layer is not near zero (so that the network's
    part of the output is of the order of the residual and any streaming error shows)."""
    net = TFiLMUNet(**{**SMALL, "causal": True, **kwargs}).eval()
    with torch.no_grad():
        torch.nn.init.normal_(net.output.weight, std=0.3)
        torch.nn.init.normal_(net.output.bias, std=0.1)
    return net


@settings(max_examples=20, deadline=None)
@given(
    length=st.integers(2, 120),
    cut=st.integers(1, 119),
    depth=st.integers(1, 3),
    block_length=st.integers(1, 40),
    rnn=st.sampled_from(["lstm", "gru"]),
    skip=st.booleans(),
    residual=st.booleans(),
)
def test_property_causal_output_depends_only_on_past_and_present(
    length: int, cut: int, depth: int, block_length: int, rnn: str, skip: bool, residual: bool
) -> None:
    cut = min(cut, length - 1)
    torch.manual_seed(9)
    net = _causal_net(depth=depth, block_length=block_length, rnn=rnn, skip=skip, residual=residual)
    x = torch.randn(2, 1, length)
    changed = x.clone()
    changed[..., cut:] = torch.randn_like(changed[..., cut:]) * 3
    assert torch.equal(net(x)[..., :cut], net(changed)[..., :cut])


def test_non_causal_network_sees_the_future() -> None:
    torch.manual_seed(10)
    net = _causal_net(causal=False)
    x = torch.randn(1, 1, 64)
    changed = x.clone()
    changed[..., 40:] += 1.0
    assert not torch.equal(net(x)[..., :40], net(changed)[..., :40])


def test_causal_network_has_the_parameters_of_the_offline_one() -> None:
    torch.manual_seed(11)
    offline = TFiLMUNet(**SMALL)
    torch.manual_seed(11)
    causal = TFiLMUNet(**SMALL, causal=True)
    for (name, a), (other, b) in zip(
        offline.state_dict().items(), causal.state_dict().items(), strict=True
    ):
        assert name == other
        assert torch.equal(a, b)
    assert "causal=True" in repr(causal)
    assert "causal" not in repr(offline)
    assert all(
        isinstance(m, CausalConv1d) and m.padding == (0,)
        for m in causal.modules()
        if isinstance(m, torch.nn.Conv1d)
    )
    assert not any(isinstance(m, CausalConv1d) for m in offline.modules())


def test_causal_network_refuses_a_bidirectional_rnn() -> None:
    with pytest.raises(ValueError, match="causal=True needs a unidirectional RNN"):
        TFiLMUNet(causal=True, rnn="bilstm")
    with pytest.raises(TypeError, match="causal must be a bool"):
        TFiLMUNet(causal="yes")


def _stream(net: TFiLMUNet, x: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    stream = net.stream(batch_size=x.shape[0])
    outputs, start, received = [], 0, 0
    for size in sizes:
        chunk = x[..., start : start + size]
        out = stream.process(chunk)
        start += chunk.shape[-1]
        # An output step comes once the input lookahead steps after it has, or before.
        assert out.shape[:2] == (x.shape[0], net.out_channels)
        assert out.dtype == np.float32
        received += out.shape[-1]
        assert max(start - net.lookahead, 0) <= received <= start
        assert net.lookahead or received == start
        outputs.append(out)
    last = stream.flush()
    assert last.shape[-1] == x.shape[-1] - received
    return torch.from_numpy(np.concatenate([*outputs, last], axis=-1))


@settings(max_examples=30, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 2),
    channels=st.sampled_from([(1, None), (2, 1)]),
    length=st.integers(1, 200),
    depth=st.integers(1, 3),
    block_length=st.integers(1, 48),
    rnn=st.sampled_from(["lstm", "gru"]),
    modulation=st.sampled_from(["affine", "scale"]),
    switches=st.sampled_from(
        [
            {},
            {"skip": False},
            {"residual": False},
            {"tfilm": False},
            {"activation": "relu"},
            {"up_activation": "leaky_relu"},
        ]
    ),
    lookahead=st.sampled_from([0, 0, 1, 6, 40]),
)
def test_property_stream_equals_the_whole_signal(
    data, n, channels, length, depth, block_length, rnn, modulation, switches, lookahead
) -> None:
    sizes = data.draw(st.lists(st.integers(0, 70), min_size=1, max_size=40), label="sizes")
    sizes.append(length)  # the rest, whatever the draw
    torch.manual_seed(12)
    in_channels, out_channels = channels
    net = _causal_net(
        in_channels=in_channels,
        out_channels=out_channels,
        depth=depth,
        block_length=block_length,
        rnn=rnn,
        modulation=modulation,
        lookahead=lookahead,
        **switches,
    )
    x = torch.randn(n, in_channels, length)
    with torch.inference_mode():
        whole = net(x)
    streamed = _stream(net, x, sizes)
    torch.testing.assert_close(streamed, whole, rtol=1e-4, atol=1e-5 * float(whole.abs().max()))


def test_stream_one_sample_at_a_time_and_reset() -> None:
    torch.manual_seed(13)
    net = _causal_net(depth=3, block_length=16)
    x = torch.randn(1, 1, 150)
    with torch.inference_mode():
        whole = net(x)
    stream = net.stream()
    stream.process(torch.randn(1, 1, 37))  # another signal, then forgotten
    stream.reset()
    streamed = np.concatenate([stream.process(x[..., i : i + 1]) for i in range(150)], axis=-1)
    torch.testing.assert_close(torch.from_numpy(streamed), whole, rtol=1e-4, atol=1e-6)
    # NumPy input works the same way.
    again = net.stream().process(x.numpy().astype(np.float64))
    torch.testing.assert_close(torch.from_numpy(again), whole, rtol=1e-4, atol=1e-6)


def test_stream_refuses_an_offline_network_and_wrong_chunks() -> None:
    with pytest.raises(ValueError, match="causal=True"):
        TFiLMUNet(**SMALL).stream()
    stream = _causal_net(in_channels=2, out_channels=1).stream(batch_size=2)
    with pytest.raises(ValueError, match=r"shape \(N=2, C=2, L\)"):
        stream.process(torch.zeros(1, 2, 5))
    with pytest.raises(ValueError, match=r"shape \(N=2, C=2, L\)"):
        stream.process(torch.zeros(2, 5))
    with pytest.raises(TypeError, match="net must be a TFiLMUNet"):
        UNetStream(torch.nn.Conv1d(1, 1, 3))


@settings(max_examples=20, deadline=None)
@given(
    length=st.integers(2, 100),
    cut=st.integers(1, 99),
    lookahead=st.integers(1, 30),
    residual=st.booleans(),
)
def test_property_lookahead_reads_that_many_steps_ahead(
    length: int, cut: int, lookahead: int, residual: bool
) -> None:
    cut = min(cut, length - 1)
    torch.manual_seed(14)
    # Bit for bit with direct convolutions; the FFT's rounding mixes a whole block.
    net = _causal_net(
        depth=2, block_length=8, lookahead=lookahead, residual=residual, conv_algorithm="direct"
    )
    x = torch.randn(1, 1, length)
    changed = x.clone()
    changed[..., cut:] = torch.randn_like(changed[..., cut:]) * 3
    y, y_changed = net(x), net(changed)
    reach = max(cut - lookahead, 0)
    assert torch.equal(y[..., :reach], y_changed[..., :reach])
    if lookahead >= 2 and cut >= lookahead:  # some output before the cut reads past it
        assert not torch.equal(y[..., reach:cut], y_changed[..., reach:cut])


def test_lookahead_shifts_the_causal_network() -> None:
    torch.manual_seed(15)
    net = _causal_net(depth=2, block_length=8, lookahead=5)
    plain = _causal_net(depth=2, block_length=8)
    plain.load_state_dict(net.state_dict())
    x = torch.randn(2, 1, 40)
    padded = torch.nn.functional.pad(x, (0, 5), mode="replicate")
    expected = (plain(padded) - padded)[..., 5:] + x
    torch.testing.assert_close(net(x), expected)
    assert "lookahead=5" in repr(net)
    with pytest.raises(ValueError, match="lookahead=3 needs causal=True"):
        TFiLMUNet(lookahead=3)
    with pytest.raises(ValueError, match="lookahead must be an int >= 0"):
        TFiLMUNet(causal=True, lookahead=-1)


@pytest.mark.parametrize("causal", [False, True])
def test_fft_convolutions_match_direct_ones(causal: bool) -> None:
    # Wide enough and long enough for "auto" to take the FFT in the long-kernel layers.
    torch.manual_seed(16)
    config = {"depth": 2, "width": 0.25, "block_length": 64, "dropout": 0.0, "causal": causal}
    auto = TFiLMUNet(**config).eval()
    direct = TFiLMUNet(**config, conv_algorithm="direct").eval()
    direct.load_state_dict(auto.state_dict())
    x = torch.randn(2, 1, 4096)
    with torch.no_grad():
        torch.testing.assert_close(auto(x), direct(x), rtol=1e-5, atol=1e-5)
    assert "algorithm='direct'" in repr(direct)
    with pytest.raises(ValueError, match="conv_algorithm must be one of"):
        TFiLMUNet(conv_algorithm="winograd")


def test_fft_convolutions_train_like_direct_ones() -> None:
    torch.manual_seed(17)
    config = {"depth": 2, "width": 0.25, "block_length": 64, "dropout": 0.0}
    nets = [TFiLMUNet(**config), TFiLMUNet(**config, conv_algorithm="direct")]
    nets[1].load_state_dict(nets[0].state_dict())
    x, y = torch.randn(2, 1, 2048), torch.randn(2, 1, 2048)
    grads = []
    for net in nets:
        ((net(x) - y) ** 2).mean().backward()
        grads.append([p.grad for p in net.parameters()])
    for fft_grad, direct_grad in zip(*grads, strict=True):
        torch.testing.assert_close(fft_grad, direct_grad, rtol=1e-4, atol=1e-6)
