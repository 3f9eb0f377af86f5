"""The base every supervised baseline builds on: a ``torch.nn.Module`` that holds a
:class:`~neurotp.algorithms.network.FeedforwardNet` (plus whatever else the algorithm learns,
e.g. decoders) and the ``torch.optim`` optimizer(s) that apply its updates.

Notation (Bengio 2014; Lee et al. 2015): layers ``l = 1..L``, ``h_0 = x``,
``h_l = f_l(h_{l-1}) = s(W_l q_l(h_{l-1}) + b_l)`` for hidden layers, and the output layer
``h_L = W_L q_L(h_{L-1}) + b_L`` gives the logits of a softmax / cross-entropy readout.
``q_l`` is the identity, or ``sign`` when hidden layer ``l-1`` is listed in
``sign_layers`` (a discrete layer: the next layer sees ``sign(h_{l-1})``).

Every algorithm is used the same way::

    alg = DifferenceTargetProp([784, 256, 256, 10])          # or net=FeedforwardNet(...)
    alg = DifferenceTargetProp(net=my_net, optimizer=lambda g: torch.optim.SGD(g, lr=0.1))
    out = alg.train_batch(x, y)        # local gradients into .grad, then optimizer.step()
    logits = alg(x)                    # nn.Module call: the network's forward pass

``train_batch`` writes each parameter's update direction into its ``.grad`` (for the TP
family: the gradient of that layer's own local loss) and calls the optimizers' ``step``;
``optimizers()`` lists them, so ``torch.optim.lr_scheduler`` schedules work unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from neurotp.algorithms.layers import (
    INITS,
    Activation,
    OptimizerFactory,
    make_optimizer,
    resolve_device,
)
from neurotp.algorithms.network import FeedforwardNet

COMMON_DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,
    "optimizer": "adam",  # a name in layers.OPTIMIZERS or a callable(param_groups) -> Optimizer
    "weight_decay": 0.0,
    "init": "glorot",
    "init_gain": 1.0,
    "sign_layers": (),
}


class Algorithm(nn.Module):
    """Base class: a feedforward net ``sizes = (n_0, ..., n_L)`` plus a training rule.

    Give ``sizes`` (and ``activation``) to build a seeded :class:`FeedforwardNet`, or ``net``
    to train your own (its sizes, activation and sign layers are used). Subclasses set
    ``name``, extend ``defaults`` (hyper-parameters accepted as keyword arguments; unknown
    keys raise ``ValueError`` listing the allowed ones) and implement :meth:`train_batch`.
    """

    name: ClassVar[str] = "base"
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        sizes: Sequence[int] | None = None,
        activation: str = "tanh",
        *,
        net: FeedforwardNet | None = None,
        device: str | torch.device = "auto",
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        **hyper: Any,
    ) -> None:
        super().__init__()
        self.device = resolve_device(device)
        self.dtype = dtype
        self.seed = int(seed)
        allowed = {**COMMON_DEFAULTS, **type(self).defaults}
        unknown = sorted(set(hyper) - set(allowed))
        if unknown:
            raise ValueError(
                f"{type(self).__name__}: unknown hyper-parameter(s) {unknown}; allowed: "
                f"{', '.join(sorted(allowed))}"
            )
        self.hyper: dict[str, Any] = {**allowed, **hyper}
        for key, default in allowed.items():  # numbers given as strings (YAML "1e-3")
            value = self.hyper[key]
            if isinstance(default, float) or (default is None and key.startswith("lr")):
                if value is None and default is None:
                    continue
                try:
                    self.hyper[key] = float(value)
                except (TypeError, ValueError):
                    raise ValueError(f"{key}: must be a number, got {value!r}") from None
        if self.hyper["init"] not in INITS:
            raise ValueError(f"init: unknown {self.hyper['init']!r}; allowed: {', '.join(INITS)}")
        # Seeded generators: CPU for initialisation (device independent), device for noise.
        self._init_gen = torch.Generator(device="cpu").manual_seed(self.seed)
        self._gen = torch.Generator(device=self.device).manual_seed(self.seed + 1)
        if net is None:
            if sizes is None:
                raise ValueError("sizes: give the layer sizes (n_0, ..., n_L) or a net")
            net = FeedforwardNet.build(
                sizes,
                activation,
                sign_layers=self.hyper["sign_layers"],
                generator=self._init_gen,
                init=self.hyper["init"],
                gain=float(self.hyper["init_gain"]),
                device=self.device,
                dtype=dtype,
            )
        elif not isinstance(net, FeedforwardNet):
            raise ValueError(f"net: must be a FeedforwardNet, got {type(net).__name__}")
        else:
            if sizes is not None and tuple(sizes) != tuple(net.sizes):
                raise ValueError(f"sizes: {list(sizes)} disagree with the net's {net.sizes}")
            if "sign_layers" in hyper and set(hyper["sign_layers"]) != set(net.sign_layers):
                raise ValueError(
                    f"sign_layers: {list(hyper['sign_layers'])} disagree with the net's "
                    f"{sorted(net.sign_layers)} (set them on the FeedforwardNet)"
                )
            net = net.to(self.device, dtype)
        self.net = net
        self.sizes = net.sizes
        self.n_layers = net.n_layers
        self.activation_name = net.activation
        self.act: Activation = net.act
        self.sign_layers = net.sign_layers
        self.hyper["sign_layers"] = tuple(sorted(self.sign_layers))
        self._feeds_sign = net.feeds_sign
        self._ones: dict[int, Tensor] = {}

    # ---------------------------------------------------------------- helpers
    @property
    def W(self) -> list[nn.Parameter]:
        """Forward weights ``[W_1, ..., W_L]`` (the net's ``nn.Linear`` weights)."""
        return self.net.W

    @property
    def b(self) -> list[nn.Parameter]:
        """Forward biases ``[b_1, ..., b_L]``."""
        return self.net.b

    def as_tensor(self, x: Any, dtype: torch.dtype | None = None) -> Tensor:
        """Move ``x`` (array or tensor) to this algorithm's device (and dtype)."""
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        return x.to(self.device, dtype or self.dtype, non_blocking=True)

    def layer_input(self, l: int, h_prev: Tensor) -> Tensor:
        """``q_l(h_{l-1})``: what layer ``l`` (1-based) actually receives."""
        return self.net.layer_input(l, h_prev)

    def forward_full(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Return ``(hs, inputs)``: ``hs = [h_0..h_L]`` and ``inputs[l-1] = q_l(h_{l-1})``."""
        return self.net.forward_full(x)

    def make_optimizer(
        self, groups: list[dict[str, Any]], lr: float, weight_decay: float | None = None
    ) -> torch.optim.Optimizer:
        """A ``torch.optim`` optimizer over ``groups`` per the ``optimizer`` hyper-parameter
        (a name or a factory, see :func:`neurotp.algorithms.layers.make_optimizer`)."""
        wd = self.hyper["weight_decay"] if weight_decay is None else weight_decay
        factory: str | OptimizerFactory = self.hyper["optimizer"]
        return make_optimizer(groups, factory, lr, wd)

    @staticmethod
    def _set_grad_mm(p: Tensor, a: Tensor, b: Tensor, alpha: float) -> None:
        """``p.grad = alpha · a @ b``, written into a reused buffer."""
        if p.grad is None:
            p.grad = torch.empty_like(p, requires_grad=False)
        torch.addmm(p.grad, a, b, beta=0.0, alpha=alpha, out=p.grad)

    def _set_grad_sum(self, p: Tensor, e: Tensor, alpha: float) -> None:
        """``p.grad = alpha · e.sum(0)`` (one ``addmv`` into a reused buffer)."""
        if p.grad is None:
            p.grad = torch.empty_like(p, requires_grad=False)
        ones = self._ones.get(e.shape[0])
        if ones is None:
            ones = self._ones[e.shape[0]] = torch.ones(e.shape[0], device=e.device, dtype=e.dtype)
        torch.addmv(p.grad, e.T, ones, beta=0.0, alpha=alpha, out=p.grad)

    # -------------------------------------------------------------- protocol
    def train_batch(self, x: Tensor, y: Tensor) -> dict[str, float]:
        """One update on a mini-batch ``x (B, n_0)``, int labels ``y (B,)``; returns ``loss``."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        """Class scores (logits) ``(N, n_classes)``: the network's forward pass."""
        return self.net(x)

    @torch.no_grad()
    def forward_layers(self, x: Any) -> list[Tensor]:
        """``[h_0, ..., h_L]`` (``h_L`` = logits) without noise or learning."""
        return self.forward_full(self.as_tensor(x))[0]

    @torch.no_grad()
    def predict(self, x: Any) -> Tensor:
        """Class scores (logits) ``(N, n_classes)``."""
        return self.forward_full(self.as_tensor(x))[0][-1]

    @torch.no_grad()
    def accuracy(self, x: Any, y: Any, batch_size: int = 4096) -> float:
        """Fraction of ``argmax predict(x) == y`` (evaluated in chunks)."""
        x = self.as_tensor(x)
        y = self.as_tensor(y, torch.int64)
        correct = 0
        for i in range(0, len(x), batch_size):
            correct += int(
                (self.predict(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum()
            )
        return correct / max(len(x), 1)

    def optimizers(self) -> list[torch.optim.Optimizer]:
        """Every optimizer this algorithm owns (found among its attributes)."""
        return [v for v in vars(self).values() if isinstance(v, torch.optim.Optimizer)]

    def extra_repr(self) -> str:
        return f"sizes={'-'.join(map(str, self.sizes))}, device={self.device}"
