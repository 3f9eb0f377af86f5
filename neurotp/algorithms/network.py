"""The feedforward network every supervised baseline trains: a ``torch.nn.Module`` made of
``nn.Linear`` layers.

``h_0 = x``, ``h_l = s(W_l q_l(h_{l-1}) + b_l)`` for hidden layers and logits
``h_L = W_L q_L(h_{L-1}) + b_L``, where layer ``l`` is ``layers[l-1]`` (an ``nn.Linear`` with
``weight = W_l`` and ``bias = b_l``, both ``nn.Parameter``) and ``q_l`` is the identity, or
``sign`` when hidden layer ``l-1`` is listed in ``sign_layers`` (a discrete layer).

Build one from sizes (:meth:`FeedforwardNet.build`, seeded initialisation that does not touch
the global torch RNG) or from your own ``nn.Linear`` layers, and hand it to an algorithm with
``net=``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn

from neurotp.algorithms.layers import (
    Activation,
    check_sign_layers,
    check_sizes,
    init_weight,
    make_activation,
)


def seeded_linear(
    n_in: int,
    n_out: int,
    generator: torch.Generator,
    init: str = "glorot",
    gain: float = 1.0,
    *,
    bias: bool = True,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> nn.Linear:
    """An ``nn.Linear(n_in, n_out)`` whose weight is drawn by :func:`init_weight` from
    ``generator`` (on the CPU, so every device starts equal) and whose bias is zero."""
    layer = nn.utils.skip_init(nn.Linear, n_in, n_out, bias=bias, device=device, dtype=dtype)
    with torch.no_grad():
        layer.weight.copy_(init_weight(n_out, n_in, generator, init, gain))
        if bias:
            layer.bias.zero_()
    return layer


class FeedforwardNet(nn.Module):
    """``layers[l-1]`` is layer ``l``; hidden layers use ``activation``, the last is linear.

    ``sign_layers``: hidden layers ``l`` (1-based) whose output the next layer sees as
    ``sign(h_l)``.
    """

    def __init__(
        self,
        layers: Sequence[nn.Linear],
        activation: str = "tanh",
        sign_layers: Iterable[int] = (),
    ) -> None:
        super().__init__()
        layers = list(layers)
        if not layers or not all(isinstance(m, nn.Linear) for m in layers):
            raise ValueError("layers: need one or more nn.Linear modules")
        if any(m.bias is None for m in layers):
            raise ValueError("layers: every nn.Linear needs a bias")
        for l, (below, above) in enumerate(zip(layers[:-1], layers[1:], strict=True), start=1):
            if below.out_features != above.in_features:
                raise ValueError(
                    f"layers: layer {l} has {below.out_features} outputs but layer {l + 1} "
                    f"takes {above.in_features} inputs"
                )
        self.layers = nn.ModuleList(layers)
        self.sizes = check_sizes([layers[0].in_features, *(m.out_features for m in layers)])
        self.activation = activation
        self.act: Activation = make_activation(activation)
        self.sign_layers = check_sign_layers(sign_layers, len(layers))
        # feeds_sign[l] for l = 0..L-1: layer l+1 sees sign(h_l)
        self.feeds_sign = [l in self.sign_layers for l in range(len(layers))]

    @classmethod
    def build(
        cls,
        sizes: Sequence[int],
        activation: str = "tanh",
        *,
        sign_layers: Iterable[int] = (),
        generator: torch.Generator | None = None,
        init: str = "glorot",
        gain: float = 1.0,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> FeedforwardNet:
        """Layers ``sizes[0] -> ... -> sizes[-1]``, weights drawn layer by layer (bottom up)
        from ``generator`` (default: seeded with 0)."""
        sizes = check_sizes(sizes)
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        layers = [
            seeded_linear(n_in, n_out, gen, init, gain, device=device, dtype=dtype)
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
        ]
        return cls(layers, activation, sign_layers)

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def W(self) -> list[nn.Parameter]:
        """``[W_1, ..., W_L]`` (each ``layers[l-1].weight``, shape ``(n_l, n_{l-1})``)."""
        return [m.weight for m in self.layers]

    @property
    def b(self) -> list[nn.Parameter]:
        """``[b_1, ..., b_L]``."""
        return [m.bias for m in self.layers]

    def layer_input(self, l: int, h_prev: Tensor) -> Tensor:
        """``q_l(h_{l-1})``: what layer ``l`` (1-based) actually receives."""
        return torch.sign(h_prev) if self.feeds_sign[l - 1] else h_prev

    def forward(self, x: Tensor, ste: bool = True) -> Tensor:
        """Logits ``h_L``, differentiable by autograd. Through a sign layer the gradient is
        the straight-through one (``d sign(h)/dh := 1``) if ``ste``, else zero."""
        h = x
        for l, layer in enumerate(self.layers, start=1):
            if self.feeds_sign[l - 1]:
                s = torch.sign(h)
                h = h + (s - h).detach() if ste else s.detach()
            a = layer(h)
            h = a if l == self.n_layers else self.act.fn(a)
        return h

    @torch.no_grad()
    def forward_full(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """``(hs, inputs)`` without a graph: ``hs = [h_0..h_L]``, ``inputs[l-1] = q_l(h_{l-1})``."""
        hs = [x]
        inputs: list[Tensor] = []
        h = x
        L = self.n_layers
        for l, layer in enumerate(self.layers, start=1):
            inp = self.layer_input(l, h)
            a = torch.addmm(layer.bias, inp, layer.weight.T)
            h = a if l == L else self.act.fn_(a)
            inputs.append(inp)
            hs.append(h)
        return hs, inputs

    def extra_repr(self) -> str:
        sign = f", sign_layers={sorted(self.sign_layers)}" if self.sign_layers else ""
        return f"activation={self.activation!r}{sign}"
