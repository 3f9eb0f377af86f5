"""Difference target propagation (Lee, Zhang, Fischer & Bengio 2015).

Same procedure as :class:`neurotp.algorithms.tp.TargetProp`, but each target carries the
decoder's reconstruction error as a correction:
``ĥ_{l-1} = h_{l-1} + g_l(ĥ_l) - g_l(h_l)``, so that ``ĥ_l = h_l`` gives ``ĥ_{l-1} = h_{l-1}``
even for an imperfect inverse. Only the differences ``h_l - ĥ_l`` are ever formed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from neurotp.algorithms.tp import TargetProp


class DifferenceTargetProp(TargetProp):
    """DTP: ``ĥ_{l-1} = h_{l-1} + g_l(ĥ_l) - g_l(h_l)``."""

    name: ClassVar[str] = "dtp"
    difference: ClassVar[bool] = True
    # Tuned on Fashion-MNIST 784-256x5-10 (docs/algorithms.md): stronger corruption and a
    # faster decoder than TP's defaults; the inverse phase on half of each mini-batch.
    defaults: ClassVar[dict[str, Any]] = {
        **TargetProp.defaults,
        "lr_inv": 3e-3,
        "noise": 0.3,
        "inv_fraction": 0.5,
    }

    def propagate_diff(self, l: int, h_l: Tensor, diff_l: Tensor, h_prev: Tensor) -> Tensor:
        """DTP: ``h_{l-1} - ĥ_{l-1} = g_l(h_l) - g_l(ĥ_l)`` from ``diff_l = h_l - ĥ_l``.

        With ``P = V_l h_l + c_l``, ``g_l(ĥ_l) = s_g(P - V_l diff_l)``: two products and no
        copy of the batch; ``h_{l-1}`` is not needed.
        """
        dec = self.decoders[str(l)]
        pre = torch.addmm(dec.bias, h_l, dec.weight.T)
        pre_hat = torch.addmm(pre, diff_l, dec.weight.T, alpha=-1.0)
        return self.inv_act.fn_(pre).sub_(self.inv_act.fn_(pre_hat))
