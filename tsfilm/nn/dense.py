"""The fully connected baseline of the paper (DNN)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from tsfilm.nn._checks import check_bool, check_int, check_real
from tsfilm.nn.dropout import Dropout

__all__ = ["DenseDNN"]


class DenseDNN(nn.Module):
    """Multilayer perceptron: (N, in_features) -> (N, out_features).

    Every hidden layer is ``Linear``, ReLU, dropout; a final ``Linear`` gives
    the output. With ``residual=True`` the input is added to the output, and
    the final layer starts near zero (weights from N(0, 1e-3**2), bias zero) so
    that the network starts at the identity, like :class:`~tsfilm.nn.TFiLMUNet`
    starts at its input.

    Parameters
    ----------
    in_features : int
        Input size (e.g. the number of samples of a patch).
    out_features : int
        Output size.
    hidden_sizes : sequence of int, default=(2048, 2048)
        Width of every hidden layer; empty for a single linear layer.
    dropout : float, default=0.5
        Dropout rate after every hidden layer, in [0, 1).
    residual : bool, default=False
        Add the input to the output; needs ``in_features == out_features``.

    Examples
    --------
    >>> import torch
    >>> from tsfilm.nn import DenseDNN
    >>> net = DenseDNN(64, 64, hidden_sizes=(32,), residual=True).eval()
    >>> tuple(net(torch.randn(5, 64)).shape)
    (5, 64)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden_sizes: Sequence[int] = (2048, 2048),
        dropout: float = 0.5,
        residual: bool = False,
    ) -> None:
        super().__init__()
        self.in_features = check_int(in_features, "in_features")
        self.out_features = check_int(out_features, "out_features")
        if isinstance(hidden_sizes, (str, bytes)) or not isinstance(hidden_sizes, Sequence):
            raise TypeError(
                "hidden_sizes must be a sequence of ints >= 1, got "
                f"{type(hidden_sizes).__name__}: {hidden_sizes!r}."
            )
        self.hidden_sizes = tuple(
            check_int(h, f"hidden_sizes[{i}]") for i, h in enumerate(hidden_sizes)
        )
        dropout = check_real(dropout, "dropout", 0, 1, closed="left")
        self.residual = check_bool(residual, "residual")
        if self.residual and self.in_features != self.out_features:
            raise ValueError(
                f"residual=True adds the input to the output, which needs in_features == "
                f"out_features; got {self.in_features} and {self.out_features}."
            )

        layers: list[nn.Module] = []
        width = self.in_features
        for hidden in self.hidden_sizes:
            layers += [nn.Linear(width, hidden), nn.ReLU(), Dropout(dropout)]
            width = hidden
        self.hidden = nn.Sequential(*layers)
        self.output = nn.Linear(width, self.out_features)
        if self.residual:
            nn.init.normal_(self.output.weight, std=1e-3)
            nn.init.zeros_(self.output.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the network.

        Parameters
        ----------
        x : torch.Tensor of shape (N, in_features)

        Returns
        -------
        torch.Tensor of shape (N, out_features)
        """
        if x.dim() < 1 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Expected input of shape (N, in_features={self.in_features}), "
                f"got {tuple(x.shape)}."
            )
        y = self.output(self.hidden(x))
        return y + x if self.residual else y
