"""Tests for tsfilm.nn.conv (direct or FFT convolutions) and tsfilm.nn.dropout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from tsfilm.nn import Conv1d, fft_conv1d
from tsfilm.nn.conv import use_fft
from tsfilm.nn.dropout import Dropout


@settings(deadline=None, max_examples=60)
@given(
    n=st.integers(1, 3),
    c_in=st.integers(1, 6),
    c_out=st.integers(1, 6),
    kernel=st.integers(1, 70),
    extra=st.integers(0, 600),
    stride=st.sampled_from([1, 2]),
    left=st.integers(0, 40),
    right=st.integers(0, 40),
    seed=st.integers(0, 2**16),
)
def test_property_fft_conv1d_is_conv1d(
    n: int,
    c_in: int,
    c_out: int,
    kernel: int,
    extra: int,
    stride: int,
    left: int,
    right: int,
    seed: int,
) -> None:
    generator = torch.Generator().manual_seed(seed)
    length = max(kernel - left - right, 1) + extra
    x = torch.randn(n, c_in, length, generator=generator)
    weight = torch.randn(c_out, c_in, kernel, generator=generator)
    bias = torch.randn(c_out, generator=generator)
    expected = F.conv1d(F.pad(x, (left, right)), weight, bias, stride=stride)
    got = fft_conv1d(x, weight, bias, stride=stride, padding=(left, right))
    assert got.shape == expected.shape
    scale = float(expected.abs().max()) + 1.0
    torch.testing.assert_close(got / scale, expected / scale, rtol=0, atol=1e-5)


def test_fft_conv1d_refuses_what_it_cannot_compute() -> None:
    x, weight = torch.randn(1, 2, 10), torch.randn(2, 2, 5)
    with pytest.raises(ValueError, match="stride 1 or 2, got stride=3"):
        fft_conv1d(x, weight, stride=3)
    with pytest.raises(ValueError, match="shorter than the kernel"):
        fft_conv1d(x[..., :3], weight)


def test_fft_conv1d_keeps_the_input_dtype_and_leaves_it_unchanged() -> None:
    x = torch.randn(1, 4, 200, dtype=torch.bfloat16)
    before = x.clone()
    y = fft_conv1d(x, torch.randn(4, 4, 33), padding=16)
    assert y.dtype == torch.bfloat16 and y.shape == (1, 4, 200)
    assert torch.equal(x, before)


@pytest.mark.parametrize("algorithm", ["auto", "direct", "fft"])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv1d_algorithms_agree_and_share_the_state_dict(algorithm: str, stride: int) -> None:
    torch.manual_seed(0)
    reference = torch.nn.Conv1d(32, 32, 65, stride=stride, padding=32)
    conv = Conv1d(32, 32, 65, stride=stride, padding=32, algorithm=algorithm)
    conv.load_state_dict(reference.state_dict())
    x = torch.randn(2, 32, 1000, requires_grad=True)
    torch.testing.assert_close(conv(x), reference(x), rtol=1e-4, atol=1e-4)
    (grad,) = torch.autograd.grad(conv(x).sum(), x)
    (expected,) = torch.autograd.grad(reference(x).sum(), x)
    torch.testing.assert_close(grad, expected, rtol=1e-4, atol=1e-4)


def test_conv1d_checks_its_algorithm() -> None:
    with pytest.raises(ValueError, match="algorithm must be one of"):
        Conv1d(1, 1, 3, algorithm="winograd")
    with pytest.raises(ValueError, match="stride 1 or 2, got 3"):
        Conv1d(1, 1, 3, stride=3, algorithm="fft")


def test_use_fft_takes_long_kernels_on_enough_channels_and_steps() -> None:
    assert use_fft(64, 64, 65, 1, 8192) and use_fft(8, 8, 33, 1, 4096)
    assert not use_fft(64, 64, 9, 1, 8192)  # short kernel
    assert not use_fft(64, 64, 65, 1, 100, batch=64)  # too few output steps per series
    assert not use_fft(64, 64, 65, 1, 1024) and use_fft(64, 64, 65, 1, 1024, batch=2)
    assert not use_fft(64, 64, 65, 3, 8192)  # stride
    assert use_fft(1, 32, 65, 2, 4096, grad=True) and not use_fft(1, 32, 65, 2, 4096, grad=False)


def test_dropout_keeps_each_element_with_probability_one_minus_p() -> None:
    torch.manual_seed(0)
    drop = Dropout(0.3)
    x = torch.ones(200_000, requires_grad=True)
    y = drop(x)
    kept = y != 0
    assert abs(float(kept.float().mean()) - 0.7) < 0.005
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / 0.7))
    y.sum().backward()
    torch.testing.assert_close(x.grad, y.detach())  # the gradient is the same mask


def test_dropout_is_reproducible_and_the_identity_when_off() -> None:
    x = torch.randn(4, 100)
    torch.manual_seed(1)
    first = Dropout(0.5)(x)
    torch.manual_seed(1)
    assert torch.equal(Dropout(0.5)(x), first)
    assert torch.equal(Dropout(0.5).eval()(x), x)
    assert torch.equal(Dropout(0.0)(x), x)
    with torch.no_grad():
        assert np.isin(Dropout(0.5)(torch.ones(50)).numpy(), [0.0, 2.0]).all()


def test_the_real_fft_gradient_is_torchs() -> None:
    from tsfilm.nn.conv import _RFFT

    torch.manual_seed(2)
    x = torch.randn(3, 2, 64, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_RFFT.apply, (x,))
    grad = torch.randn(3, 2, 33, dtype=torch.complex128)
    (expected,) = torch.autograd.grad(torch.fft.rfft(x), x, grad)
    (got,) = torch.autograd.grad(_RFFT.apply(x), x, grad)
    torch.testing.assert_close(got, expected)


def test_conv1d_takes_unbatched_input_like_torch() -> None:
    torch.manual_seed(3)
    conv = Conv1d(8, 8, 33, padding=16, algorithm="fft")
    x = torch.randn(8, 3000)
    torch.testing.assert_close(conv(x), conv(x[None])[0])
    torch.testing.assert_close(
        conv(x), F.conv1d(x[None], conv.weight, conv.bias, padding=16)[0], rtol=1e-4, atol=1e-4
    )
