"""Feedback alignment (Lillicrap et al. 2016): backprop's backward pass with the transposed
forward weights ``W_l`` replaced by fixed random matrices ``B_l`` of the same shape."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from neurotp.algorithms.bp import Backprop
from neurotp.algorithms.layers import init_weight


class FeedbackAlignment(Backprop):
    """Exact output-layer gradient; lower layers get ``delta_{l-1} = (delta_l B_l) * s'``."""

    name: ClassVar[str] = "fa"
    defaults: ClassVar[dict[str, Any]] = {"ste": True, "backend": "manual", "feedback_scale": 1.0}

    def __init__(self, sizes=None, activation: str = "tanh", **kwargs: Any) -> None:
        super().__init__(sizes, activation, **kwargs)
        if self.hyper["backend"] != "manual":
            raise ValueError("backend: FeedbackAlignment supports only 'manual'")
        scale = float(self.hyper["feedback_scale"])
        # Fixed feedback matrices: buffers (saved in state_dict, never optimised).
        for l, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True), 1):
            w = init_weight(n_out, n_in, self._init_gen, "glorot") * scale
            self.register_buffer(f"B{l}", w.to(self.device, self.dtype).contiguous())

    @property
    def B(self) -> list[Tensor]:
        """``[B_1, ..., B_L]``."""
        return [getattr(self, f"B{l}") for l in range(1, self.n_layers + 1)]

    def feedback_matrix(self, l: int) -> Tensor:
        """Fixed random ``B_l`` (same shape as ``W_l``)."""
        return getattr(self, f"B{l}")

    @torch.no_grad()
    def train_batch(self, x: Tensor, y: Tensor) -> dict[str, float]:
        x, y = self.as_tensor(x), self.as_tensor(y, torch.int64)
        return self._train_manual(x, y)
