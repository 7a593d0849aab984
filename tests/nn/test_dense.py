"""Tests for tsfilm.nn.dense."""

from __future__ import annotations

import pytest
import torch

from tsfilm.nn import DenseDNN


def test_shapes_and_layers() -> None:
    torch.manual_seed(0)
    net = DenseDNN(12, 5, hidden_sizes=(7, 3))
    assert net(torch.randn(4, 12)).shape == (4, 5)
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(12, 7), (7, 3), (3, 5)]


def test_paper_default_sizes() -> None:
    with torch.device("meta"):
        net = DenseDNN(64, 64)
    assert net.hidden_sizes == (2048, 2048)
    assert sum(p.numel() for p in net.parameters()) == (
        64 * 2048 + 2048 + 2048 * 2048 + 2048 + 2048 * 64 + 64
    )


def test_no_hidden_layer_is_linear() -> None:
    torch.manual_seed(1)
    net = DenseDNN(3, 2, hidden_sizes=())
    x = torch.randn(4, 3)
    torch.testing.assert_close(net(x), net.output(x))


def test_residual_adds_the_input_and_starts_near_identity() -> None:
    torch.manual_seed(2)
    net = DenseDNN(16, 16, hidden_sizes=(32,), residual=True).eval()
    x = torch.randn(4, 16)
    assert (net(x) - x).abs().max() < 0.05
    with torch.no_grad():
        net.output.weight.zero_()
    assert torch.equal(net(x), x)


def test_dropout_only_in_training() -> None:
    torch.manual_seed(3)
    net = DenseDNN(8, 8, hidden_sizes=(64,), dropout=0.5)
    x = torch.randn(2, 8)
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    assert not torch.equal(net(x), net(x))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"in_features": 4, "out_features": 5, "residual": True}, ValueError, "in_features =="),
        ({"in_features": 0, "out_features": 5}, ValueError, "in_features must be an int >= 1"),
        ({"in_features": 4, "out_features": 5.0}, TypeError, "out_features must be an int"),
        (
            {"in_features": 4, "out_features": 5, "hidden_sizes": (8, 0)},
            ValueError,
            r"hidden_sizes\[1\] must be an int >= 1, got 0",
        ),
        ({"in_features": 4, "out_features": 5, "hidden_sizes": 8}, TypeError, "hidden_sizes"),
        ({"in_features": 4, "out_features": 5, "dropout": -0.1}, ValueError, "dropout must"),
        ({"in_features": 4, "out_features": 5, "dropout": True}, TypeError, "dropout must"),
        ({"in_features": 4, "out_features": 4, "residual": 1}, TypeError, "residual must"),
    ],
)
def test_invalid_arguments(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        DenseDNN(**kwargs)


def test_wrong_input_size() -> None:
    with pytest.raises(ValueError, match=r"in_features=4"):
        DenseDNN(4, 2, hidden_sizes=(3,))(torch.randn(2, 5))
