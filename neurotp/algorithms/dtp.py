"""Difference target propagation (Lee, Zhang, Fischer & Bengio 2015).

Same procedure as :class:`neurotp.algorithms.tp.TargetProp`, but each target carries the
decoder's reconstruction error as a correction:
``ĥ_{l-1} = h_{l-1} + g_l(ĥ_l) - g_l(h_l)``, so that ``ĥ_l = h_l`` gives ``ĥ_{l-1} = h_{l-1}``
even for an imperfect inverse. ``g_l(ĥ_l)`` and ``g_l(h_l)`` are computed in one matrix
product over the stacked batch.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from neurotp.algorithms.tp import TargetProp


class DifferenceTargetProp(TargetProp):
    """DTP: ``ĥ_{l-1} = h_{l-1} + g_l(ĥ_l) - g_l(h_l)``."""

    name: ClassVar[str] = "dtp"
    difference: ClassVar[bool] = True

    def propagate_target(
        self, l: int, target_l: Tensor, h_l: Tensor, h_prev: Tensor, need_target: bool = True
    ) -> tuple[Tensor | None, Tensor]:
        """DTP: ``ĥ_{l-1} = h_{l-1} + g_l(ĥ_l) - g_l(h_l)``.

        Returns ``(ĥ_{l-1}, h_{l-1} - ĥ_{l-1})``; the difference is ``g_l(h_l) - g_l(ĥ_l)``
        and needs no ``h_{l-1}``; ``ĥ_{l-1}`` itself is only formed if ``need_target``.
        """
        both = self.g(l, torch.cat((h_l, target_l), 0))
        n = h_l.shape[0]
        diff = both[:n].sub_(both[n:])
        return (h_prev - diff if need_target else None), diff
