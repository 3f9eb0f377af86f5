"""Bengio (2014) Algorithms 4 and 5: supervised and semi-supervised target propagation.

Notation: ``sizes = (n_0, n_1, ..., n_{L-1}, n_y)``. Levels ``h_1 .. h_{L-1}`` are computed by
encoders ``h_l = f_l(h_{l-1}) = s(W_l h_{l-1} + b_l)`` with decoders
``g_l(h_l) = V_l h_l + c_l`` (``s`` for ``l > 1``, linear for ``l = 1``). The top level is a
denoising auto-encoder that takes ``(h_{L-1}, m * y, m)``:

``h_L = f_L(h_{L-1}, m y, m) = s(A_h h_{L-1} + A_y (m y) + a_m m + a)`` (``top_size`` units),
``g_L(h_L) = (g_L^y(h_L), g_L^h(h_L))`` with ``g_L^y`` a softmax over the ``n_y`` classes and
``g_L^h(h_L) = s(V_h h_L + c_h)``. ``y`` is one-hot, ``m = 1`` for a labelled example and
``m = 0`` (with ``y = 0``) for an unlabelled one (``labeled`` mask, or a label ``< 0``).

Algorithm 4 (prediction, :meth:`SupervisedTargetProp.predict`): ``h_L = f_L(h_{L-1}, 0, 0)``,
``y^ = g_L^y(h_L)`` (logits are returned).

Algorithm 5 (training, :meth:`SupervisedTargetProp.train_batch`), per mini-batch:

1. Up: ``h_l = f_l(h_{l-1})``. Short loops: ``h_{l-1}`` is a target for
   ``g_l(corrupt(h_l))`` (updates ``g_l``).
2. Top auto-encoder, trained as one denoising auto-encoder (back-prop *inside* it only, from
   ``g_L`` into ``f_L``; its input ``h_{L-1}`` is a constant): ``y`` is a target for
   ``g_L^y(corrupt(h_L))`` both with the label given (``m = 1``) and hidden (``m = 0``; the
   latter is the prediction path of Algorithm 4); ``h_{L-1}`` is a target for
   ``g_L^h(corrupt(f_L(corrupt(h_{L-1}), m y, m)))``.
3. Top target, noise-free: ``h^_{L-1} = g_L^h(f_L(h_{L-1}, m y, m))``. For a labelled example
   with ``alpha > 0`` the unsupervised reconstruction ``h~_{L-1} = g_L^h(f_L(h_{L-1}, 0, 0))`` is
   also computed and the hybrid target is ``h^_{L-1} <- h^_{L-1} + alpha (h_{L-1} - h~_{L-1})``:
   ``alpha = 1`` gives the *discriminant* target ``h^ - h~ + h`` of Eq. 18 (a step along
   ``d log P(y | h_{L-1}) / d h_{L-1}``, Eq. 17) and ``alpha = 0`` the joint target ``h^`` (a step
   along ``d log P(h_{L-1}, y) / d h_{L-1}``, Eq. 16).

   Note on the paper's wording: the caption of Algorithm 5 says "alpha = 1 corresponding to the
   fully discriminant case and alpha = 0 for modeling the joint", and the box computes
   ``h~`` only "if alpha > 0"; but the box's update is printed ``h^ + (1 - alpha)(h - h~)`` and
   Eq. 19 ``h^ + (1 - alpha)(h - h^)`` (with ``alpha`` the weight of the *joint*), which give the
   opposite end points (and Eq. 19's ``h - h^`` is presumably a typo for ``h - h~``). We follow
   the caption and the box's ``if alpha > 0`` test: ``alpha`` is the weight of the discriminant
   part, ``h^ + alpha (h - h~)``.
4. Down, for ``l = L-1 .. 1``: ``h^_l`` is a target for ``f_l(h_{l-1})`` (updates ``W_l, b_l``
   only), ``h_{l-1}`` is a target for ``g_l(corrupt(h^_l))``, and the target goes down as the
   difference target ``h^_{l-1} = h_{l-1} + g_l(h^_l) - g_l(h_l)`` (Lee et al. 2015;
   ``propagation="difference"``, default) or as the paper's ``h^_{l-1} = g_l(h^_l)``
   (``propagation="plain"``).

Every loss is a squared error (or cross-entropy for ``y``) between one module's output and a
*detached* target computed from detached inputs, so no gradient crosses a level: the update
of ``f_l`` depends only on ``h_{l-1}``, ``h_l`` and ``h^_l``. :meth:`local_losses` exposes the
losses so that this can be checked (see the tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neurotp.algorithms.base import Algorithm
from neurotp.algorithms.network import seeded_linear

PROPAGATIONS: tuple[str, ...] = ("difference", "plain")


def _half_sq(a: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
    """``0.5 * ||a - target||^2`` per example (target detached), averaged over the batch."""
    per = 0.5 * ((a - target.detach()) ** 2).sum(dim=1)
    if weight is None:
        return per.mean()
    return (per * weight).sum() / max(float(weight.sum()), 1.0)


class SupervisedTargetProp(Algorithm):
    """Algorithm 5 (training) and Algorithm 4 (prediction) of Bengio (2014)."""

    name: ClassVar[str] = "alg5"
    defaults: ClassVar[dict[str, Any]] = {
        "alpha": 1.0,  # weight of the discriminant part of the hybrid target (1 = Eq. 18)
        "noise": 0.1,  # sigma of the corruption of h_l fed to the lower decoders g_l
        "top_input_noise": 0.3,  # sigma of the corruption of h_{L-1} fed to the top encoder
        "top_noise": 0.1,  # sigma of the corruption of h_L fed to g_L^y and g_L^h
        "top_size": None,  # units of h_L; None = n_{L-1}
        "propagation": "difference",  # "difference" (Lee et al. 2015) or "plain" (g_l(h^_l))
        "target_gain": 1.0,  # h^_{L-1} <- h_{L-1} + gain * (h^_{L-1} - h_{L-1})
        "encoder_ae_weight": 1.0,  # weight of layer-wise reconstruction error on f_l
        "unlabeled_gain": 0.1,  # target_gain for unlabelled examples (m = 0); see docs
        "lr_top": None,  # learning rate of the top auto-encoder; None = lr
        "lr_inv": None,  # learning rate of the lower decoders; None = lr
    }

    def __init__(
        self, sizes: Sequence[int] | None = None, activation: str = "tanh", **kwargs: Any
    ) -> None:
        super().__init__(sizes, activation, **kwargs)
        hp = self.hyper
        if self.n_layers < 2:
            raise ValueError(
                f"sizes: Algorithm 5 needs at least one hidden level (n_0, n_1, n_y), got "
                f"{list(self.sizes)}"
            )
        for key in ("alpha",):
            if not 0.0 <= float(hp[key]) <= 1.0:
                raise ValueError(f"{key}: must be in [0, 1], got {hp[key]!r}")
        for key in (
            "noise",
            "top_input_noise",
            "top_noise",
            "target_gain",
            "unlabeled_gain",
            "encoder_ae_weight",
        ):
            if not (np.isfinite(float(hp[key])) and float(hp[key]) >= 0):
                raise ValueError(f"{key}: must be a finite number >= 0, got {hp[key]!r}")
        if hp["propagation"] not in PROPAGATIONS:
            raise ValueError(
                f"propagation: unknown {hp['propagation']!r}; allowed: {', '.join(PROPAGATIONS)}"
            )
        if "sign" in (activation,) or self.sign_layers:
            raise ValueError("activation: 'sign' / sign_layers are not supported by alg5")
        self.n_classes = self.sizes[-1]
        n_top_in = self.sizes[-2]
        top = int(hp["top_size"] or n_top_in)
        if top < 1:
            raise ValueError(f"top_size: must be a positive integer, got {hp['top_size']!r}")
        self.top_size = top
        # The base class built the net n_0 -> ... -> n_{L-1} -> n_y; Algorithm 5's top level is
        # an auto-encoder instead, so the last forward layer is dropped (its weights were drawn,
        # which keeps the generator's sequence, and so every result, as before).
        del self.net.layers[-1]
        self.net.sizes = self.sizes[:-1]
        self.net.feeds_sign = self.net.feeds_sign[:-1]
        gen, ini, gain = self._init_gen, hp["init"], float(hp["init_gain"])

        def linear(n_in: int, n_out: int, bias: bool = True) -> nn.Linear:
            return seeded_linear(
                n_in, n_out, gen, ini, gain, bias=bias, device=self.device, dtype=self.dtype
            )

        # Lower decoders g_l, l = 1 .. L-1 (index l-1): V_l, c_l, n_l -> n_{l-1}.
        self.decoders = nn.ModuleList(
            [linear(self.sizes[l], self.sizes[l - 1]) for l in range(1, self.n_layers)]
        )
        # Top auto-encoder: f_L = s(A_h h + a + A_y (m y) + a_m m), g_L^y, g_L^h.
        self.top_h = linear(n_top_in, top)  # A_h, a
        self.top_y = linear(self.n_classes, top, bias=False)  # A_y
        self.top_m = nn.Parameter(torch.zeros(top, device=self.device, dtype=self.dtype))  # a_m
        self.top_dec_y = linear(top, self.n_classes)  # V_y, c_y
        self.top_dec_h = linear(top, n_top_in)  # V_h, c_h
        lr = float(hp["lr"])
        decoder_params = [m.weight for m in self.decoders] + [m.bias for m in self.decoders]
        self.optimizer = self.make_optimizer(
            [
                {"params": list(self.net.parameters())},
                {"params": decoder_params, "lr": float(hp["lr_inv"] or lr)},
                {"params": self.top_parameters(), "lr": float(hp["lr_top"] or lr)},
            ],
            lr,
        )

    # ------------------------------------------------------------------ modules
    def top_parameters(self) -> list[nn.Parameter]:
        """The top auto-encoder's parameters ``A_h, A_y, a_m, a, V_y, c_y, V_h, c_h``."""
        return [
            self.top_h.weight,
            self.top_y.weight,
            self.top_m,
            self.top_h.bias,
            self.top_dec_y.weight,
            self.top_dec_y.bias,
            self.top_dec_h.weight,
            self.top_dec_h.bias,
        ]

    def module_params(self) -> dict[str, list[Tensor]]:
        """Parameters by module: ``f1 .. f{L-1}``, ``g1 .. g{L-1}``, ``top`` (f_L and g_L)."""
        out: dict[str, list[Tensor]] = {}
        for l in range(1, self.n_layers):
            out[f"f{l}"] = [self.W[l - 1], self.b[l - 1]]
            out[f"g{l}"] = [self.decoders[l - 1].weight, self.decoders[l - 1].bias]
        out["top"] = self.top_parameters()
        return out

    def f(self, l: int, h_prev: Tensor) -> Tensor:
        """Encoder ``f_l(h_{l-1}) = s(W_l h_{l-1} + b_l)`` for ``1 <= l <= L-1``."""
        layer = self.net.layers[l - 1]
        return self.act.fn(torch.addmm(layer.bias, h_prev, layer.weight.T))

    def g(self, l: int, h: Tensor) -> Tensor:
        """Decoder ``g_l(h_l)``: linear for ``l = 1``, ``s(V_l h_l + c_l)`` above."""
        dec = self.decoders[l - 1]
        a = torch.addmm(dec.bias, h, dec.weight.T)
        return a if l == 1 else self.act.fn(a)

    def f_top(self, h: Tensor, y_onehot: Tensor | None = None, m: Tensor | None = None) -> Tensor:
        """``h_L = f_L(h_{L-1}, m y, m)``; ``y_onehot = m = None`` means ``(h, 0, 0)``."""
        a = torch.addmm(self.top_h.bias, h, self.top_h.weight.T)
        if y_onehot is not None and m is not None:
            a = a + (y_onehot * m[:, None]) @ self.top_y.weight.T + m[:, None] * self.top_m
        return self.act.fn(a)

    def g_top_y(self, h_top: Tensor) -> Tensor:
        """Logits of ``g_L^y(h_L)`` (softmax applied in the loss / by the caller)."""
        return torch.addmm(self.top_dec_y.bias, h_top, self.top_dec_y.weight.T)

    def g_top_h(self, h_top: Tensor) -> Tensor:
        """``g_L^h(h_L)``, the reconstruction of ``h_{L-1}``."""
        return self.act.fn(torch.addmm(self.top_dec_h.bias, h_top, self.top_dec_h.weight.T))

    def _corrupt(self, h: Tensor, sigma: float) -> Tensor:
        if sigma == 0:
            return h
        return h + sigma * torch.randn(h.shape, generator=self._gen, device=h.device, dtype=h.dtype)

    # -------------------------------------------------------------- algorithm 4
    @torch.no_grad()
    def forward_layers(self, x: Any) -> list[Tensor]:
        """``[h_0, ..., h_{L-1}, h_L, logits]`` by Algorithm 4: ``h_L = f_L(h_{L-1}, 0, 0)``."""
        hs = [self.as_tensor(x)]
        for l in range(1, self.n_layers):
            hs.append(self.f(l, hs[-1]))
        top = self.f_top(hs[-1])
        return [*hs, top, self.g_top_y(top)]

    def forward(self, x: Tensor) -> Tensor:
        """Algorithm 4's class logits, differentiable (``predict`` without a graph)."""
        h = x
        for l in range(1, self.n_layers):
            h = self.f(l, h)
        return self.g_top_y(self.f_top(h))

    @torch.no_grad()
    def predict(self, x: Any) -> Tensor:
        """Algorithm 4: class logits of ``y^ = g_L^y(f_L(h_{L-1}, 0, 0))``, shape (N, n_y)."""
        return self.forward_layers(x)[-1]

    # -------------------------------------------------------------- algorithm 5
    def _labels(self, y: Any, labeled: Any | None, n: int) -> tuple[Tensor, Tensor]:
        y = self.as_tensor(y, torch.int64)
        if y.shape != (n,):
            raise ValueError(f"y: expected shape ({n},), got {tuple(y.shape)}")
        lab = y >= 0
        if labeled is not None:
            mask = torch.as_tensor(labeled, device=self.device).bool()
            if mask.shape != (n,):
                raise ValueError(f"labeled: expected shape ({n},), got {tuple(mask.shape)}")
            lab = lab & mask
        if bool((y[lab] >= self.n_classes).any()):
            raise ValueError(f"y: labels must be < n_classes = {self.n_classes}")
        return torch.where(lab, y, torch.zeros_like(y)), lab

    def local_losses(self, x: Any, y: Any, labeled: Any | None = None) -> dict[str, Tensor]:
        """The per-module losses of one Algorithm 5 step (tensors with graphs, not yet applied).

        Keys ``f{l}`` (encoder toward its target), ``g{l}`` (decoder), ``top`` (top
        auto-encoder) and ``pred`` (cross-entropy of the Algorithm 4 path, part of ``top``;
        reported, not added twice). ``y`` holds int labels; entries with ``y < 0`` or
        ``labeled == False`` are unlabelled (``m = 0``).
        """
        hp = self.hyper
        x = self.as_tensor(x)
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(f"x: expected shape (N, {self.sizes[0]}), got {tuple(x.shape)}")
        y, lab = self._labels(y, labeled, len(x))
        m = lab.to(self.dtype)
        y1 = F.one_hot(y, self.n_classes).to(self.dtype)
        L = self.n_layers
        with torch.no_grad():
            hs = [x]
            for l in range(1, L):
                hs.append(self.f(l, hs[-1]))
        h = hs[-1]
        losses: dict[str, Tensor] = {}
        # Top auto-encoder (internal back-prop only; h is a constant here).
        h_in = self._corrupt(h, float(hp["top_input_noise"]))
        z_lab = self.f_top(h_in, y1, m)
        z_unl = self.f_top(h_in)
        sig = float(hp["top_noise"])
        n_lab = max(float(m.sum()), 1.0)
        ce_given = (
            F.cross_entropy(self.g_top_y(self._corrupt(z_lab, sig)), y, reduction="none") * m
        ).sum() / n_lab
        ce_hidden = (
            F.cross_entropy(self.g_top_y(self._corrupt(z_unl, sig)), y, reduction="none") * m
        ).sum() / n_lab
        rec = _half_sq(self.g_top_h(self._corrupt(z_lab, sig)), h)
        rec_unl = _half_sq(self.g_top_h(self._corrupt(z_unl, sig)), h, m)
        losses["top"] = ce_given + ce_hidden + rec + rec_unl
        losses["pred"] = ce_hidden.detach()
        # Noise-free top target (hybrid, Eq. 18/19 as in the caption of Algorithm 5).
        with torch.no_grad():
            target = self.g_top_h(self.f_top(h, y1, m))
            alpha = float(hp["alpha"])
            if alpha > 0:
                h_tilde = self.g_top_h(self.f_top(h))
                target = target + alpha * m[:, None] * (h - h_tilde)
            gain = float(hp["target_gain"]) * m + float(hp["unlabeled_gain"]) * (1 - m)
            target = h + gain[:, None] * (target - h)
        # Down the stack.
        sig_l = float(hp["noise"])
        w_ae = float(hp["encoder_ae_weight"])
        for l in range(L - 1, 0, -1):
            h_prev, h_l = hs[l - 1], hs[l]
            losses[f"f{l}"] = _half_sq(self.f(l, h_prev), target)
            dec = _half_sq(self.g(l, self._corrupt(h_l, sig_l)), h_prev)
            dec = dec + _half_sq(self.g(l, self._corrupt(target, sig_l)), h_prev)
            if w_ae > 0:  # layer-wise denoising AE error reaching f_l (inside level l only)
                dec = dec + w_ae * _half_sq(
                    self.g(l, self._corrupt(self.f(l, h_prev), sig_l)), h_prev
                )
            losses[f"g{l}"] = dec
            if l > 1:
                with torch.no_grad():
                    if hp["propagation"] == "difference":
                        target = h_prev + self.g(l, target) - self.g(l, h_l)
                    else:
                        target = self.g(l, target)
        return losses

    def train_batch(self, x: Any, y: Any, labeled: Any | None = None) -> dict[str, float]:
        """One Algorithm 5 step on a mini-batch; ``labeled`` (bool (B,)) or ``y < 0`` marks the
        unlabelled examples. Returns ``loss`` (cross-entropy of the prediction path on the
        labelled examples, before the step), ``top`` and ``layer`` (sum of encoder losses).
        """
        losses = self.local_losses(x, y, labeled)
        total = sum(v for k, v in losses.items() if k != "pred")
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()
        out = {
            "loss": float(losses["pred"]),
            "top": float(losses["top"].detach()),
            "layer": float(sum(float(v.detach()) for k, v in losses.items() if k[0] == "f")),
        }
        if not np.isfinite(out["top"]) or not np.isfinite(out["layer"]):
            raise FloatingPointError(f"loss: became non-finite ({out})")
        return out


def labeled_mask(n: int, fraction: float, seed: int = 0) -> np.ndarray:
    """A boolean mask with ``round(fraction * n)`` randomly chosen True entries (the labelled
    examples of a semi-supervised run)."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction: must be in [0, 1], got {fraction!r}")
    mask = np.zeros(int(n), dtype=bool)
    mask[np.random.default_rng(seed).permutation(int(n))[: int(round(fraction * n))]] = True
    return mask
