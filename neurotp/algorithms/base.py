"""The protocol every supervised algorithm implements, and the shared feedforward net.

Notation (Bengio 2014; Lee et al. 2015): layers ``l = 1..L``, ``h_0 = x``,
``h_l = f_l(h_{l-1}) = s(W_l q_l(h_{l-1}) + b_l)`` for hidden layers, and the output layer
``h_L = W_L q_L(h_{L-1}) + b_L`` gives the logits of a softmax / cross-entropy readout.
``q_l`` is the identity, or ``sign`` when hidden layer ``l-1`` is listed in
``sign_layers`` (a discrete layer: the next layer sees ``sign(h_{l-1})``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from neurotp.algorithms.layers import (
    INITS,
    Activation,
    check_sign_layers,
    check_sizes,
    init_weight,
    make_activation,
    resolve_device,
)

COMMON_DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,
    "optimizer": "adam",
    "weight_decay": 0.0,
    "init": "glorot",
    "init_gain": 1.0,
    "sign_layers": (),
}


class Algorithm:
    """Base class: a feedforward net ``sizes = (n_0, ..., n_L)`` plus a training rule.

    Subclasses set ``name``, extend ``defaults`` (hyper-parameters accepted as keyword
    arguments; unknown keys raise ``ValueError`` listing the allowed ones) and implement
    :meth:`train_batch`.
    """

    name: ClassVar[str] = "base"
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "tanh",
        *,
        device: str | torch.device = "auto",
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        **hyper: Any,
    ) -> None:
        self.sizes = check_sizes(sizes)
        self.n_layers = len(self.sizes) - 1
        self.activation_name = activation
        self.act: Activation = make_activation(activation)
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
        self.sign_layers = check_sign_layers(self.hyper["sign_layers"], self.n_layers)
        self.hyper["sign_layers"] = tuple(sorted(self.sign_layers))
        # Seeded generators: CPU for initialisation (device independent), device for noise.
        self._init_gen = torch.Generator(device="cpu").manual_seed(self.seed)
        self._gen = torch.Generator(device=self.device).manual_seed(self.seed + 1)
        self.W: list[Tensor] = []
        self.b: list[Tensor] = []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            w = init_weight(
                n_out, n_in, self._init_gen, self.hyper["init"], float(self.hyper["init_gain"])
            )
            self.W.append(w.to(self.device, dtype).contiguous())
            self.b.append(torch.zeros(n_out, device=self.device, dtype=dtype))
        self._ones: dict[int, Tensor] = {}
        # feeds_sign[l] for l = 0..L-1: layer l+1 sees sign(h_l)
        self._feeds_sign = [l in self.sign_layers for l in range(self.n_layers)]

    # ---------------------------------------------------------------- helpers
    def as_tensor(self, x: Any, dtype: torch.dtype | None = None) -> Tensor:
        """Move ``x`` (array or tensor) to this algorithm's device (and dtype)."""
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        return x.to(self.device, dtype or self.dtype, non_blocking=True)

    def layer_input(self, l: int, h_prev: Tensor) -> Tensor:
        """``q_l(h_{l-1})``: what layer ``l`` (1-based) actually receives."""
        return torch.sign(h_prev) if self._feeds_sign[l - 1] else h_prev

    @torch.no_grad()
    def forward_full(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Return ``(hs, inputs)``: ``hs = [h_0..h_L]`` and ``inputs[l-1] = q_l(h_{l-1})``."""
        hs = [x]
        inputs: list[Tensor] = []
        h = x
        for l in range(1, self.n_layers + 1):
            inp = self.layer_input(l, h)
            a = torch.addmm(self.b[l - 1], inp, self.W[l - 1].T)
            h = a if l == self.n_layers else self.act.fn_(a)
            inputs.append(inp)
            hs.append(h)
        return hs, inputs

    @staticmethod
    def _set_grad_mm(p: Tensor, a: Tensor, b: Tensor, alpha: float) -> None:
        """``p.grad = alpha · a @ b``, written into a reused buffer."""
        if p.grad is None:
            p.grad = torch.empty_like(p)
        torch.addmm(p.grad, a, b, beta=0.0, alpha=alpha, out=p.grad)

    def _set_grad_sum(self, p: Tensor, e: Tensor, alpha: float) -> None:
        """``p.grad = alpha · e.sum(0)`` (one ``addmv`` into a reused buffer)."""
        if p.grad is None:
            p.grad = torch.empty_like(p)
        ones = self._ones.get(e.shape[0])
        if ones is None:
            ones = self._ones[e.shape[0]] = torch.ones(e.shape[0], device=e.device, dtype=e.dtype)
        torch.addmv(p.grad, e.T, ones, beta=0.0, alpha=alpha, out=p.grad)

    # -------------------------------------------------------------- protocol
    def train_batch(self, x: Tensor, y: Tensor) -> dict[str, float]:
        """One update on a mini-batch ``x (B, n_0)``, int labels ``y (B,)``; returns ``loss``."""
        raise NotImplementedError

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

    def scale_lr(self, factor: float) -> None:
        """Set every parameter group's learning rate to ``factor`` × its initial value
        (used by learning-rate schedules; ``factor = 1`` restores the configured rates)."""
        for opt in self.optimizers():
            for group in opt.param_groups:
                group.setdefault("initial_lr", group["lr"])
                group["lr"] = group["initial_lr"] * factor

    def named_tensors(self) -> dict[str, Tensor]:
        """Learned tensors by name (subclasses add theirs)."""
        out: dict[str, Tensor] = {}
        for l, (w, b) in enumerate(zip(self.W, self.b, strict=True), start=1):
            out[f"W{l}"] = w
            out[f"b{l}"] = b
        return out

    def state_dict(self) -> dict[str, Tensor]:
        """Copies of the learned tensors on the CPU."""
        return {k: v.detach().cpu().clone() for k, v in self.named_tensors().items()}

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Copy tensors in place; keys and shapes must match :meth:`state_dict`'s."""
        own = self.named_tensors()
        missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        if missing or extra:
            raise ValueError(f"state_dict: missing keys {missing}, unexpected keys {extra}")
        for k, t in own.items():
            v = torch.as_tensor(state[k])
            if tuple(v.shape) != tuple(t.shape):
                raise ValueError(
                    f"state_dict[{k!r}]: shape {tuple(v.shape)}, expected {tuple(t.shape)}"
                )
            t.copy_(v.to(t.device, t.dtype))

    def __repr__(self) -> str:
        sizes = "-".join(map(str, self.sizes))
        return f"{type(self).__name__}({sizes}, {self.activation_name}, device={self.device})"
