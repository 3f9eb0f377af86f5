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
from neurotp.algorithms.layers import softmax_xent_grad

BACKENDS = ("manual", "autograd")


class Backprop(Algorithm):
    """Stochastic gradient descent on the cross-entropy with exact gradients."""

    name: ClassVar[str] = "bp"
    defaults: ClassVar[dict[str, Any]] = {"ste": False, "backend": "manual"}

    def __init__(self, sizes=None, activation: str = "tanh", **kwargs: Any) -> None:
        super().__init__(sizes, activation, **kwargs)
        if self.hyper["backend"] not in BACKENDS:
            raise ValueError(
                f"backend: unknown {self.hyper['backend']!r}; allowed: {', '.join(BACKENDS)}"
            )
        self.opt = self.make_optimizer([{"params": list(self.net.parameters())}], self.hyper["lr"])

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
        W, b = self.W, self.b
        for l in range(L, 0, -1):
            self._set_grad_mm(W[l - 1], d.T, inputs[l - 1], scale)
            self._set_grad_sum(b[l - 1], d, scale)
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

    def autograd_loss(self, x: Tensor, y: Tensor) -> Tensor:
        """Mean cross-entropy of the network's differentiable forward pass (``loss.backward()``
        gives the ``autograd`` backend's gradients)."""
        return F.cross_entropy(self.net(x, ste=bool(self.hyper["ste"])), y)

    def _train_manual(self, x: Tensor, y: Tensor) -> dict[str, float]:
        loss = self._manual_grads(x, y)
        self.opt.step()
        return {"loss": float(loss)}

    def _train_autograd(self, x: Tensor, y: Tensor) -> dict[str, float]:
        self.opt.zero_grad(set_to_none=True)
        loss = self.autograd_loss(x, y)
        loss.backward()
        self.opt.step()
        return {"loss": float(loss.detach())}

    def train_batch(self, x: Tensor, y: Tensor) -> dict[str, float]:
        x, y = self.as_tensor(x), self.as_tensor(y, torch.int64)
        if self.hyper["backend"] == "autograd":
            return self._train_autograd(x, y)
        return self._train_manual(x, y)
