"""Tests for tsfilm.nn.subpixel."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tsfilm.nn import SubPixel1d, subpixel_shuffle1d, subpixel_unshuffle1d


def _shuffle_by_loop(x: torch.Tensor, ratio: int, order: str) -> torch.Tensor:
    n, cr, length = x.shape
    c = cr // ratio
    out = torch.empty(n, c, length * ratio, dtype=x.dtype)
    for b in range(n):
        for ch in range(c):
            for t in range(length):
                for i in range(ratio):
                    source = ch * ratio + i if order == "channel" else i * c + ch
                    out[b, ch, t * ratio + i] = x[b, source, t]
    return out


@pytest.mark.parametrize("order", ["channel", "subposition"])
@pytest.mark.parametrize(
    ("channels", "ratio", "length"), [(2, 2, 5), (3, 4, 3), (1, 3, 7), (4, 1, 2)]
)
def test_matches_explicit_loop(order: str, channels: int, ratio: int, length: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(2, channels * ratio, length)
    expected = _shuffle_by_loop(x, ratio, order)
    assert torch.equal(SubPixel1d(ratio, order=order)(x), expected)


def test_default_order_is_channel_major() -> None:
    x = torch.arange(12.0).reshape(1, 6, 2)
    # Output channel 0 takes input channels 0, 1, 2 in turn at every step.
    assert SubPixel1d(3)(x)[0, 0].tolist() == [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]


def test_orders_differ_by_a_channel_permutation() -> None:
    torch.manual_seed(1)
    c, r = 3, 4
    x = torch.randn(2, c * r, 6)
    # Channel-order channel c*r + i is subposition-order channel i*C + c.
    perm = torch.tensor([(k % r) * c + k // r for k in range(c * r)])
    reordered = torch.empty_like(x)
    reordered[:, perm] = x
    assert torch.equal(
        SubPixel1d(r, order="channel")(x), SubPixel1d(r, order="subposition")(reordered)
    )


def test_channel_order_is_pixel_shuffle_along_one_axis() -> None:
    torch.manual_seed(2)
    c, r, length = 3, 2, 5
    x = torch.randn(2, c * r, length)
    # PixelShuffle(r) on (N, C*r*r, 1, T) reads channel c*r*r + i*r + j into row i,
    # column t*r + j. Giving every row i the same channels x[c*r + j] yields r
    # identical rows, each equal to the 1-D shuffle.
    as_2d = x.reshape(2, c, 1, r, 1, length).expand(2, c, r, r, 1, length)
    as_2d = as_2d.reshape(2, c * r * r, 1, length)
    rows = torch.nn.PixelShuffle(r)(as_2d)
    assert torch.equal(rows[:, :, 0], SubPixel1d(r)(x))


def test_channels_not_divisible() -> None:
    with pytest.raises(ValueError, match=r"input channels \(5\) must be divisible by ratio=2"):
        SubPixel1d(2)(torch.randn(1, 5, 4))


def test_unshuffle_length_not_divisible() -> None:
    with pytest.raises(ValueError, match=r"length \(5\) must be divisible by ratio=2"):
        subpixel_unshuffle1d(torch.randn(1, 2, 5), 2)


@pytest.mark.parametrize(
    ("ratio", "order", "error", "match"),
    [
        (0, "channel", ValueError, "ratio must be an int >= 1, got 0"),
        (2.0, "channel", TypeError, "ratio must be an int >= 1, got float"),
        (True, "channel", TypeError, "ratio must be an int >= 1, got bool"),
        (2, "pixelshuffle", ValueError, "order must be one of"),
        (2, 0, TypeError, "order must be one of .*got int"),
    ],
)
def test_invalid_arguments(ratio: object, order: str, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        SubPixel1d(ratio, order=order)


def test_wrong_rank() -> None:
    with pytest.raises(ValueError, match=r"shape \(N, C\*r, T\)"):
        SubPixel1d(2)(torch.randn(4, 6))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    channels=st.integers(1, 5),
    ratio=st.integers(1, 5),
    length=st.integers(1, 9),
    order=st.sampled_from(["channel", "subposition"]),
)
def test_property_round_trip(n: int, channels: int, ratio: int, length: int, order: str) -> None:
    x = torch.randn(n, channels * ratio, length)
    y = subpixel_shuffle1d(x, ratio, order)
    assert y.shape == (n, channels, length * ratio)
    back = subpixel_unshuffle1d(y, ratio, order)
    assert back.shape == x.shape
    assert torch.equal(back, x)
    assert torch.equal(subpixel_shuffle1d(back, ratio, order), y)
    # A pure rearrangement: the same multiset of values.
    assert torch.equal(y.flatten().sort().values, x.flatten().sort().values)
