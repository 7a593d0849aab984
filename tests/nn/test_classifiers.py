"""Tests for tsfilm.nn.classifiers."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tsfilm.nn import (
    LinearFront,
    LSTMClassifier,
    SequenceClassifierNet,
    SmallCNN,
    TFiLM,
    TokenEmbedding,
)

BODIES = {
    "cnn": lambda: SmallCNN(4, 3, n_filters=8),
    "cnn-even-kernel": lambda: SmallCNN(4, 3, n_filters=8, kernel_size=4, pool=3),
    "cnn-no-pool": lambda: SmallCNN(4, 3, n_filters=8, kernel_size=5, pool=1),
    "tfilm-no-pool": lambda: SmallCNN(4, 3, n_filters=8, pool=1, tfilm=True, block_length=4),
    "tfilm-lstm": lambda: SmallCNN(4, 3, n_filters=8, tfilm=True, block_length=3),
    "tfilm-bilstm": lambda: SmallCNN(
        4, 3, n_filters=8, tfilm=True, block_length=2, rnn="bilstm", modulation="scale"
    ),
    "lstm": lambda: LSTMClassifier(4, 3, hidden_size=6),
    "bilstm": lambda: LSTMClassifier(4, 3, hidden_size=6, bidirectional=True),
}


@pytest.mark.parametrize("name", list(BODIES))
def test_shapes(name: str) -> None:
    torch.manual_seed(0)
    body = BODIES[name]().eval()
    x = torch.randn(5, 4, 23)
    assert body(x).shape == (5, 3)
    width = 12 if name == "bilstm" else 6 if name == "lstm" else 8
    assert body.features(x).shape == (5, width)


@pytest.mark.parametrize("name", list(BODIES))
def test_padding_does_not_change_logits(name: str) -> None:
    torch.manual_seed(1)
    body = BODIES[name]().eval()
    lengths = [23, 9, 1]
    padded = torch.randn(3, 4, 30) * 3  # garbage in the padding on purpose
    mask = torch.arange(30) < torch.tensor(lengths)[:, None]
    logits = body(padded, mask=mask)
    for i, length in enumerate(lengths):
        alone = body(padded[i : i + 1, :, :length])
        torch.testing.assert_close(logits[i : i + 1], alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["cnn", "tfilm-lstm", "lstm"])
def test_full_mask_equals_no_mask(name: str) -> None:
    torch.manual_seed(2)
    body = BODIES[name]().eval()
    x = torch.randn(2, 4, 17)
    torch.testing.assert_close(body(x, mask=torch.ones(2, 17, dtype=torch.bool)), body(x))


def test_smallcnn_layers() -> None:
    body = SmallCNN(4, 2, n_filters=16, n_layers=3, tfilm=True, block_length=5, rnn="gru")
    assert len(body.convs) == 3
    assert all(c.out_channels == 16 for c in body.convs)
    assert [t.block_length for t in body.tfilms] == [5, 5, 5]
    assert all(isinstance(t.rnn, torch.nn.GRU) for t in body.tfilms)
    plain = SmallCNN(4, 2, n_filters=16)
    assert not any(isinstance(m, (TFiLM, torch.nn.RNNBase)) for m in plain.modules())


def test_smallcnn_short_sequence_survives_pooling() -> None:
    body = SmallCNN(4, 2, n_filters=8, n_layers=4, tfilm=True).eval()
    assert body(torch.randn(2, 4, 1)).shape == (2, 2)


def test_lstm_features_are_last_real_hidden_state() -> None:
    torch.manual_seed(3)
    body = LSTMClassifier(2, 2, hidden_size=5).eval()
    x = torch.randn(1, 2, 12)
    mask = torch.arange(12)[None] < 7
    outputs, _ = body.lstm(x[:, :, :7].transpose(1, 2))
    torch.testing.assert_close(body.features(x, mask), outputs[:, -1])


def test_token_embedding_and_network() -> None:
    torch.manual_seed(4)
    net = SequenceClassifierNet(
        TokenEmbedding(50, 6), SmallCNN(6, 2, n_filters=8, tfilm=True, block_length=2)
    ).eval()
    tokens = torch.tensor([[5, 7, 9, 11, 3, 0, 0], [4, 2, 8, 0, 0, 0, 0]])
    mask = tokens != 0
    logits = net(tokens, mask=mask)
    assert logits.shape == (2, 2)
    torch.testing.assert_close(logits[1:], net(tokens[1:, :3]), rtol=1e-5, atol=1e-6)
    assert net.features(tokens, mask).shape == (2, 8)


def test_token_embedding_padding_is_zero() -> None:
    out = TokenEmbedding(10, 4)(torch.tensor([[3, 0]]))
    assert out.shape == (1, 4, 2)
    assert torch.equal(out[0, :, 1], torch.zeros(4))


def test_token_embedding_rejects_floats() -> None:
    with pytest.raises(TypeError, match="integer tensor"):
        TokenEmbedding(10, 4)(torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"shape \(N, T\)"):
        TokenEmbedding(10, 4)(torch.zeros(1, 3, 2, dtype=torch.long))


def test_linear_front_network() -> None:
    torch.manual_seed(5)
    front = LinearFront(3, 4)
    assert front(torch.randn(2, 3, 9)).shape == (2, 4, 9)
    net = SequenceClassifierNet(front, LSTMClassifier(4, 6, hidden_size=5))
    assert net(torch.randn(2, 3, 9)).shape == (2, 6)
    assert net.features(torch.randn(2, 3, 9)).shape == (2, 5)


def test_network_without_front_is_the_body() -> None:
    torch.manual_seed(6)
    body = SmallCNN(2, 3, n_filters=4).eval()
    net = SequenceClassifierNet(None, body)
    x = torch.randn(2, 2, 10)
    assert torch.equal(net(x), body(x))


@pytest.mark.parametrize(
    ("mask", "error", "match"),
    [
        (torch.ones(2, 10, dtype=torch.int64), TypeError, "bool tensor"),
        (torch.ones(2, 11, dtype=torch.bool), ValueError, "shape"),
        (torch.tensor([[False] + [True] * 9] * 2), ValueError, "prefix"),
        (torch.tensor([[True] * 10, [False] * 10]), ValueError, "no real step"),
    ],
)
@pytest.mark.parametrize("name", ["cnn", "lstm"])
def test_invalid_mask(name: str, mask: torch.Tensor, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        BODIES[name]()(torch.randn(2, 4, 10), mask=mask)


@pytest.mark.parametrize(
    ("factory", "error", "match"),
    [
        (lambda: SmallCNN(0, 2), ValueError, r"in_channels must be an int >= 1, got 0"),
        (lambda: SmallCNN(4.0, 2), TypeError, r"in_channels must be an int >= 1, got float"),
        (lambda: SmallCNN(4, 2, dropout=1.5), ValueError, r"dropout must be .* \[0, 1\)"),
        (lambda: SmallCNN(4, 2, dropout="0.1"), TypeError, "dropout must be a real number"),
        (lambda: SmallCNN(4, 2, pool=0), ValueError, "pool must be an int >= 1"),
        (lambda: SmallCNN(4, 2, rnn="rnn"), ValueError, "rnn must be one of"),
        (lambda: SmallCNN(4, 2, rnn=None), TypeError, "rnn must be one of .*NoneType"),
        (lambda: SmallCNN(4, 2, modulation="x"), ValueError, "modulation must be one of"),
        (lambda: SmallCNN(4, 2, tfilm=1), TypeError, "tfilm must be a bool"),
        (lambda: LSTMClassifier(4, 2, hidden_size=0), ValueError, "hidden_size must be"),
        (lambda: LSTMClassifier(4, 2, hidden_size=True), TypeError, "hidden_size must be"),
        (lambda: LSTMClassifier(4, 2, bidirectional="no"), TypeError, "bidirectional must"),
        (
            lambda: TokenEmbedding(10, 4, padding_idx=10),
            ValueError,
            r"padding_idx must be an int in \[-10, 9\], got 10",
        ),
        (lambda: TokenEmbedding(10, 4, padding_idx=0.0), TypeError, "padding_idx must be"),
        (lambda: LinearFront(3, 0), ValueError, "out_channels must be an int >= 1"),
        (lambda: SequenceClassifierNet("emb", SmallCNN(4, 2)), TypeError, "front must be"),
        (lambda: SequenceClassifierNet(None, lambda x: x), TypeError, "body must be"),
    ],
)
def test_invalid_arguments(factory, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        factory()


def test_wrong_input_channels() -> None:
    with pytest.raises(ValueError, match=r"shape \(N, C=4, T\)"):
        SmallCNN(4, 2)(torch.randn(2, 3, 10))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    length=st.integers(1, 40),
    pool=st.integers(1, 3),
    n_layers=st.integers(1, 3),
    kernel_size=st.integers(1, 5),
    tfilm=st.booleans(),
)
def test_property_smallcnn_shapes_and_mask(
    n: int, length: int, pool: int, n_layers: int, kernel_size: int, tfilm: bool
) -> None:
    torch.manual_seed(7)
    body = SmallCNN(
        3, 4, n_filters=6, kernel_size=kernel_size, n_layers=n_layers, pool=pool, tfilm=tfilm
    ).eval()
    x = torch.randn(n, 3, length)
    lengths = torch.randint(1, length + 1, (n,))
    mask = torch.arange(length) < lengths[:, None]
    assert body(x).shape == (n, 4)
    assert body.features(x, mask).shape == (n, 6)
    logits = body(x, mask)
    assert logits.shape == (n, 4)
    alone = body(x[:1, :, : int(lengths[0])])
    torch.testing.assert_close(logits[:1], alone, rtol=1e-5, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    length=st.integers(1, 40),
    pool=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_property_max_pool_matches_torch(length: int, pool: int, seed: int) -> None:
    """The reshaped max equals ``max_pool1d(ceil_mode=True)``, gradient included."""
    from tsfilm.nn.classifiers import _max_pool

    x = torch.randn(2, 3, length, generator=torch.Generator().manual_seed(seed))
    x[0, 0, -1] = float("-inf")  # masked steps are -inf before pooling
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    out = _max_pool(a, pool)
    expected = nn.functional.max_pool1d(b, pool, ceil_mode=True)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed + 1))
    (out * weights).sum().backward()
    (expected * weights).sum().backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=0)
