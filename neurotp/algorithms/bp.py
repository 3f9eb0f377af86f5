"""Backpropagation baseline (softmax / cross-entropy output).

Two equivalent backends: ``backend="manual"`` (default) computes the exact gradients in
closed form, layer by layer, under ``torch.no_grad``; ``backend="autograd"`` uses
``torch.autograd``. A test checks they agree. With ``sign_layers``, ``sign`` has zero
derivative, so only the layers above the discrete one learn unless ``ste=True`` (the
straight-through estimator: ``d sign(h)/dh := 1``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from neurotp.algorithms.base import Algorithm
from neurotp.algorithms.layers import make_optimizer, softmax_xent_grad

BACKENDS = ("manual", "autograd")


class Backprop(Algorithm):
    """Stochastic gradient descent on the cross-entropy with exact gradients."""

    name: ClassVar[str] = "bp"
    defaults: ClassVar[dict[str, Any]] = {"ste": False, "backend": "manual"}

    def __init__(self, sizes, activation: str = "tanh", **kwargs: Any) -> None:
        super().__init__(sizes, activation, **kwargs)
        if self.hyper["backend"] not in BACKENDS:
            raise ValueError(
                f"backend: unknown {self.hyper['backend']!r}; allowed: {', '.join(BACKENDS)}"
            )
        self.params = [t for pair in zip(self.W, self.b, strict=True) for t in pair]
        if self.hyper["backend"] == "autograd":
            for p in self.params:
                p.requires_grad_(True)
        self.opt = make_optimizer(
            self.params, self.hyper["optimizer"], self.hyper["lr"], self.hyper["weight_decay"]
        )

    def feedback_matrix(self, l: int) -> Tensor:
        """Matrix carrying ``d loss/d a_l`` down to ``d loss/d q_l(h_{l-1})``: ``W_l`` for BP."""
        return self.W[l - 1]

    @torch.no_grad()
    def _manual_grads(self, x: Tensor, y: Tensor) -> Tensor:
        """Write closed-form gradients into ``.grad``; lower layers use
        :meth:`feedback_matrix`. Returns the mean cross-entropy."""
        hs, inputs = self.forward_full(x)
        L = self.n_layers
        d, loss = softmax_xent_grad(hs[L], y)  # per-example d loss / d a_L
        scale = 1.0 / len(y)
        for l in range(L, 0, -1):
            self._set_grad_mm(self.W[l - 1], d.T, inputs[l - 1], scale)
            self._set_grad_sum(self.b[l - 1], d, scale)
            if l == 1:
                break
            dh = d @ self.feedback_matrix(l)  # d loss / d q_l(h_{l-1})
            if self._feeds_sign[l - 1] and not self.hyper["ste"]:
                dh.zero_()  # sign has zero derivative
            d = self.act.backward(dh, hs[l - 1])
        return loss

    def gradients(self, x: Tensor, y: Tensor) -> tuple[list[Tensor], list[Tensor], Tensor]:
        """Closed-form ``(dW, db, loss)`` (copies), without updating the weights."""
        loss = self._manual_grads(self.as_tensor(x), self.as_tensor(y, torch.int64))
        return ([w.grad.clone() for w in self.W], [b.grad.clone() for b in self.b], loss)

    def _train_manual(self, x: Tensor, y: Tensor) -> dict[str, float]:
        loss = self._manual_grads(x, y)
        self.opt.step()
        return {"loss": float(loss)}

    def _forward_autograd(self, x: Tensor) -> Tensor:
        h = x
        for l in range(1, self.n_layers + 1):
            if self._feeds_sign[l - 1]:
                s = torch.sign(h)
                h = h + (s - h).detach() if self.hyper["ste"] else s.detach()
            a = F.linear(h, self.W[l - 1], self.b[l - 1])
            h = a if l == self.n_layers else self.act.fn(a)
        return h

    def _train_autograd(self, x: Tensor, y: Tensor) -> dict[str, float]:
        self.opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self._forward_autograd(x), y)
        loss.backward()
        self.opt.step()
        return {"loss": float(loss.detach())}

    def train_batch(self, x: Tensor, y: Tensor) -> dict[str, float]:
        x, y = self.as_tensor(x), self.as_tensor(y, torch.int64)
        if self.hyper["backend"] == "autograd":
            return self._train_autograd(x, y)
        return self._train_manual(x, y)
