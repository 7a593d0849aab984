"""The Temporal FiLM layer (Algorithm 1 of Birnbaum et al., 2019)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from tsfilm.nn._checks import check_bool, check_input, check_int, check_option

__all__ = ["TFiLM"]

#: Accepted values of the ``rnn`` argument.
RNN_TYPES = ("lstm", "gru", "bilstm")
#: Accepted values of the ``modulation`` argument.
MODULATIONS = ("affine", "scale")

#: Block length used when neither ``block_length`` nor ``n_blocks`` is given.
DEFAULT_BLOCK_LENGTH = 8


def check_causal(causal: bool, rnn: str) -> None:
    """Refuse ``causal=True`` with a bidirectional RNN, which reads future blocks."""
    if causal and rnn == "bilstm":
        raise ValueError(
            "causal=True needs a unidirectional RNN: rnn='bilstm' reads future blocks; "
            "use rnn='lstm' or rnn='gru'."
        )


def _check_mask(mask: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Validate a padding mask (see :mod:`tsfilm.nn`) for ``x``; return each row's length."""
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError(
            "mask must be a bool tensor of shape (N, T) with True for real steps; "
            f"got {type(mask).__name__}"
            + (f" of dtype {mask.dtype}" if isinstance(mask, torch.Tensor) else "")
            + ". Convert it with `mask.bool()`."
        )
    expected = (x.shape[0], x.shape[-1])
    if tuple(mask.shape) != expected:
        raise ValueError(
            f"mask must have shape (N, T) = {expected} to match the input, got {tuple(mask.shape)}."
        )
    if mask.shape[1] > 1 and bool((mask[:, 1:] & ~mask[:, :-1]).any()):
        raise ValueError(
            "mask must mark real steps as a prefix of every row (padding only at the end); "
            "found a real step after a padding step."
        )
    lengths = mask.sum(dim=1)
    if bool((lengths == 0).any()):
        raise ValueError("mask has a row with no real step; drop empty sequences first.")
    return lengths


class TFiLM(nn.Module):
    r"""Temporal feature-wise linear modulation of convolutional activations.

    Algorithm 1 of the paper. The time axis of ``F`` (shape (N, C, T)) is cut
    into blocks of ``B`` steps; each block is max-pooled over time to one
    C-vector; an RNN (initial state zero) runs over the sequence of block
    vectors; its output at block ``b`` gives per-channel ``gamma[b]`` and
    ``beta[b]``, which modulate every step of that block::

        F'[n, c, t] = gamma[n, c, b(t)] * F[n, c, t] + beta[n, c, b(t)],  b(t) = t // B

    With a unidirectional RNN the layer is causal across blocks: the output in
    block ``b`` depends only on input blocks ``<= b``. With ``causal=True`` it is
    causal sample by sample: block ``b`` is modulated by the RNN output computed
    from the blocks before it, so no output depends on a later input step and the
    layer can run on a stream whose current block is still incomplete
    (:doc:`/user_guide/streaming`).

    Parameters
    ----------
    channels : int
        Number of channels ``C`` of the input.
    block_length : int, optional
        Block length ``B`` in time steps, fixed whatever the input length (the
        number of blocks grows with ``T``). Give this or ``n_blocks``, not both.
        If neither is given, ``block_length=8`` (``DEFAULT_BLOCK_LENGTH``).
    n_blocks : int, optional
        Fixed number of blocks whatever the input length; the block length is then
        ``ceil(T / n_blocks)`` and the input is padded to ``n_blocks`` times that.
        The authors' code uses 32 blocks at training length.
    rnn : {"lstm", "gru", "bilstm"}, default="lstm"
        Recurrent network over the blocks. ``"bilstm"`` is bidirectional (Table 6
        of the paper) and is not causal.
    modulation : {"affine", "scale"}, default="affine"
        ``"affine"`` (the paper): a linear layer maps the RNN output to ``2C``
        values, ``gamma`` and ``beta``; it is initialised so that the layer starts
        close to the identity (``gamma`` near 1, ``beta`` near 0).
        ``"scale"`` (the authors' code): ``gamma`` is the raw RNN output, which
        must then have ``C`` features (values in (-1, 1) for an LSTM), and
        ``beta = 0``; there is no projection layer.
    hidden_size : int, optional
        Hidden size of the RNN per direction. Default: ``C`` for ``"lstm"``/``"gru"``,
        ``ceil(C / 2)`` for ``"bilstm"``, so the RNN output has ``C`` features, as
        ``"scale"`` requires (there ``"bilstm"`` needs an even ``C``).
    causal : bool, default=False
        Shift the modulation by one block so that every output step depends only on
        the input up to that step. The RNN reads a zero vector, then the pools of
        blocks ``0, 1, ..., n_blocks - 2``; its output after reading the pools of the
        blocks before block ``b`` (only the zero vector for block 0) gives
        ``gamma[b]`` and ``beta[b]``. The pool of a block therefore acts from the
        next block on, and the pool of the last block is never used. Needs a
        unidirectional ``rnn`` and a fixed ``block_length`` (not ``n_blocks``, which
        depends on the length of the whole input). Training and prediction use the
        same rule.

    Attributes
    ----------
    rnn : torch.nn.LSTM or torch.nn.GRU
        The recurrent network, ``batch_first=True``, input size ``C``.
    projection : torch.nn.Linear or None
        Maps the RNN output to ``2C`` values, ``gamma`` then ``beta``
        (``"affine"`` only).
    rnn_type : str
        The ``rnn`` argument.
    causal : bool
        The ``causal`` argument.

    Notes
    -----
    Inputs whose length is not a multiple of ``B`` are padded at the end to the
    next multiple and the output is cropped back. The padding repeats the last
    time step, so the last block's max-pool sees only values of that block (zero
    padding would win the max over all-negative activations).

    Examples
    --------
    >>> import torch
    >>> from tsfilm.nn import TFiLM
    >>> layer = TFiLM(channels=4, block_length=8)
    >>> x = torch.zeros(2, 4, 30)
    >>> y, gamma, beta = layer(x, return_modulation=True)
    >>> tuple(y.shape), tuple(gamma.shape), tuple(beta.shape)
    ((2, 4, 30), (2, 4, 4), (2, 4, 4))
    """

    def __init__(
        self,
        channels: int,
        block_length: int | None = None,
        n_blocks: int | None = None,
        rnn: str = "lstm",
        modulation: str = "affine",
        hidden_size: int | None = None,
        causal: bool = False,
    ) -> None:
        super().__init__()
        channels = check_int(channels, "channels")
        causal = check_bool(causal, "causal")
        if block_length is not None and n_blocks is not None:
            raise ValueError(
                f"Give block_length or n_blocks, not both (got block_length={block_length}, "
                f"n_blocks={n_blocks})."
            )
        if n_blocks is not None:
            n_blocks = check_int(n_blocks, "n_blocks")
        else:
            block_length = check_int(
                DEFAULT_BLOCK_LENGTH if block_length is None else block_length, "block_length"
            )
        rnn = check_option(rnn, "rnn", RNN_TYPES)
        modulation = check_option(modulation, "modulation", MODULATIONS)
        check_causal(causal, rnn)
        if causal and n_blocks is not None:
            raise ValueError(
                f"causal=True needs a fixed block_length: n_blocks={n_blocks} makes the block "
                "length depend on the length of the whole input, unknown to a stream."
            )

        bidirectional = rnn == "bilstm"
        default_hidden = math.ceil(channels / 2) if bidirectional else channels
        if hidden_size is None:
            hidden_size = default_hidden
        hidden_size = check_int(hidden_size, "hidden_size")
        n_directions = 2 if bidirectional else 1
        if modulation == "scale" and hidden_size * n_directions != channels:
            raise ValueError(
                "modulation='scale' uses the RNN output as gamma, so it must have "
                f"channels={channels} features; rnn={rnn!r} with hidden_size={hidden_size} "
                f"gives {hidden_size * n_directions}. "
                + (
                    "With 'bilstm' use an even number of channels or modulation='affine'."
                    if bidirectional and channels % 2
                    else f"Leave hidden_size=None (uses {default_hidden})."
                )
            )

        self.channels = channels
        self.block_length = block_length
        self.n_blocks = n_blocks
        self.rnn_type = rnn
        self.modulation = modulation
        self.hidden_size = hidden_size
        self.causal = causal

        rnn_class = nn.GRU if rnn == "gru" else nn.LSTM
        self.rnn = rnn_class(
            input_size=channels,
            hidden_size=hidden_size,
            batch_first=True,
            bidirectional=bidirectional,
        )
        self.projection: nn.Linear | None = None
        if modulation == "affine":
            rnn_out = hidden_size * n_directions
            self.projection = nn.Linear(rnn_out, 2 * channels)
            # Small, not zero, weights (zero would cut the RNN's gradient); the
            # 1/sqrt(fan_in) scale keeps |gamma - 1| around 0.1 whatever the width.
            nn.init.normal_(self.projection.weight, std=0.1 / math.sqrt(rnn_out))
            with torch.no_grad():
                self.projection.bias[:channels].fill_(1.0)
                self.projection.bias[channels:].zero_()

    def extra_repr(self) -> str:
        size = (
            f"n_blocks={self.n_blocks}"
            if self.n_blocks is not None
            else f"block_length={self.block_length}"
        )
        return (
            f"channels={self.channels}, {size}, rnn={self.rnn_type!r}, "
            f"modulation={self.modulation!r}" + (", causal=True" if self.causal else "")
        )

    def block_length_for(self, length: int) -> int:
        """Block length used for an input of ``length`` time steps.

        Parameters
        ----------
        length : int
            Input length ``T``.

        Returns
        -------
        int
            ``block_length``, or ``ceil(T / n_blocks)`` when ``n_blocks`` is set.

        Examples
        --------
        >>> TFiLM(4, n_blocks=4).block_length_for(30)
        8
        """
        if self.n_blocks is not None:
            return max(math.ceil(length / self.n_blocks), 1)
        return self.block_length

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        return_modulation: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Modulate ``x`` block by block.

        Parameters
        ----------
        x : torch.Tensor of shape (N, C, T)
            Convolutional activations, any length ``T >= 1``.
        mask : torch.Tensor of shape (N, T), dtype bool, optional
            Padding mask (see :mod:`tsfilm.nn`). Padding is left out of the block
            max-pools and, for ``"bilstm"``, padding-only blocks are skipped by the
            RNN, so outputs at real steps are those of the unpadded sequence (with
            ``n_blocks``, blocks follow the padded length). Outputs at padding steps
            carry no meaning.
        return_modulation : bool, default=False
            Also return the modulation parameters.

        Returns
        -------
        y : torch.Tensor of shape (N, C, T)
            Modulated activations.
        gamma, beta : torch.Tensor of shape (N, C, n_blocks)
            Only with ``return_modulation=True``. Per-block scale and shift;
            ``beta`` is all zeros for ``modulation="scale"``. ``n_blocks`` is
            ``ceil(T / block_length)``, or the ``n_blocks`` argument (when ``T``
            is short, its last blocks may hold padding only).
        """
        check_input(x, self.channels)
        n, c, length = x.shape
        block = self.block_length_for(length)
        # With n_blocks, ceil(T / block) can fall short of n_blocks (T=9, 4 blocks
        # of 3); the trailing blocks are then made only of padding.
        n_blk = self.n_blocks if self.n_blocks is not None else math.ceil(length / block)
        pad = n_blk * block - length

        padded = nn.functional.pad(x, (0, pad), mode="replicate") if pad else x
        blocks = padded.reshape(n, c, n_blk, block)

        lengths = None
        if mask is None:
            if blocks.requires_grad and torch.is_grad_enabled():
                pooled = blocks.max(dim=-1).values  # backward scatters by index, unlike amax
            else:  # the same values, without the indices: about 10x faster on CPU
                pooled = blocks.amax(dim=-1)
        else:
            lengths = _check_mask(mask, x)
            keep = nn.functional.pad(mask, (0, pad), value=False).reshape(n, 1, n_blk, block)
            pooled = blocks.masked_fill(~keep, float("-inf")).amax(dim=-1)
            # Blocks made only of padding pool to -inf; any finite value will do
            # as they never reach a real step (they come after all real blocks).
            pooled = pooled.masked_fill(~keep.any(dim=-1), 0.0)

        rnn_in = pooled.transpose(1, 2)  # (N, n_blocks, C)
        if self.causal:  # block b reads the pools of blocks < b, after a zero vector
            rnn_in = torch.cat([rnn_in.new_zeros(n, 1, c), rnn_in[:, :-1]], dim=1)
        if lengths is not None and self.rnn.bidirectional:
            # The backward direction must start at the last real block, not
            # at the padded end, for real steps to match the unpadded sequence.
            n_real_blocks = torch.div(lengths + block - 1, block, rounding_mode="floor")
            packed = pack_padded_sequence(
                rnn_in, n_real_blocks.cpu(), batch_first=True, enforce_sorted=False
            )
            rnn_out, _ = self.rnn(packed)
            rnn_out, _ = pad_packed_sequence(rnn_out, batch_first=True, total_length=n_blk)
        else:
            rnn_out, _ = self.rnn(rnn_in)  # (N, n_blocks, H * directions)

        if self.projection is None:
            gamma = rnn_out.transpose(1, 2)
            beta = torch.zeros_like(gamma)
        else:
            gamma, beta = self.projection(rnn_out).transpose(1, 2).chunk(2, dim=1)

        out = blocks * gamma.unsqueeze(-1)
        if self.projection is not None:
            out = out + beta.unsqueeze(-1)
        out = out.reshape(n, c, n_blk * block)[:, :, :length]
        if return_modulation:
            return out, gamma, beta
        return out
