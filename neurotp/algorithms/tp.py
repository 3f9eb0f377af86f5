"""Target propagation (Bengio 2014) with learned inverses, and the machinery DTP reuses.

Per mini-batch (all under ``torch.no_grad``, closed-form local gradients, no autograd graph):

1. Forward: ``h_l = f_l(h_{l-1}) = s(W_l q_l(h_{l-1}) + b_l)``, logits ``h_L``.
2. Output layer ``L``: trained by its own cross-entropy gradient (as in Lee et al. 2015).
   Top hidden target: ``ĥ_{L-1} = h_{L-1} - η · ∂loss/∂h_{L-1}`` (per-example gradient;
   through a sign layer the straight-through derivative is used).
3. Inverse phase, for hidden layers ``l = 2..L-1``: the decoder
   ``g_l(h_l) = s_g(V_l h_l + c_l)`` learns ``g_l(f_l(h_{l-1} + ε)) ≈ h_{l-1} + ε`` with
   ``ε ~ N(0, σ²)``: one step per batch, before the targets are computed (alternating
   inverse and forward phases).
4. Targets go down: TP ``ĥ_{l-1} = g_l(ĥ_l)``; DTP
   ``ĥ_{l-1} = h_{l-1} + g_l(ĥ_l) - g_l(h_l)``.
5. Forward phase: each hidden layer minimises ``½‖f_l(h_{l-1}) - ĥ_l‖²`` with respect to its
   own ``W_l, b_l`` only; ``h_{l-1}`` and ``ĥ_l`` are constants, so no gradient crosses a
   layer. The gradient is ``((h_l - ĥ_l) ⊙ s'(h_l))ᵀ q_l(h_{l-1}) / B``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from neurotp.algorithms.base import Algorithm
from neurotp.algorithms.layers import make_activation, softmax_xent_grad
from neurotp.algorithms.network import seeded_linear


class TargetProp(Algorithm):
    """Target propagation with learned inverses (``ĥ_{l-1} = g_l(ĥ_l)``)."""

    name: ClassVar[str] = "tp"
    difference: ClassVar[bool] = False
    defaults: ClassVar[dict[str, Any]] = {
        "lr_inv": 1e-3,  # learning rate of the decoders g_l
        "lr_out": None,  # output layer; None = lr
        "eta": 0.5,  # top target step size η
        "noise": 0.1,  # σ of the corruption used to train the decoders
        "inv_fraction": 1.0,  # share of the (shuffled) mini-batch used by the inverse phase
        "inv_activation": None,  # s_g; None = same as the forward activation
        "inv_weight_decay": 0.0,
        "stats": False,  # also return layer / reconstruction losses (extra syncs)
    }

    def __init__(self, sizes=None, activation: str = "tanh", **kwargs: Any) -> None:
        super().__init__(sizes, activation, **kwargs)
        hp = self.hyper
        for key in ("eta", "noise", "lr", "lr_inv"):
            if not float(hp[key]) >= 0:
                raise ValueError(f"{key}: must be >= 0, got {hp[key]!r}")
        if not 0 < float(hp["inv_fraction"]) <= 1:
            raise ValueError(f"inv_fraction: must be in (0, 1], got {hp['inv_fraction']!r}")
        self.inv_act = make_activation(hp["inv_activation"] or self.activation_name)
        L = self.n_layers
        # Decoders g_l for l = 2..L-1 (key str(l)), nn.Linear(n_l -> n_{l-1}): V_l, c_l.
        self.decoders = nn.ModuleDict(
            {
                str(l): seeded_linear(
                    self.sizes[l],
                    self.sizes[l - 1],
                    self._init_gen,
                    hp["init"],
                    float(hp["init_gain"]),
                    device=self.device,
                    dtype=self.dtype,
                )
                for l in range(2, L)
            }
        )
        fwd = list(self.net.parameters())
        lr_out = hp["lr_out"] if hp["lr_out"] is not None else hp["lr"]
        if lr_out == hp["lr"]:
            groups = [{"params": fwd}]
        else:
            groups = [{"params": fwd[:-2]}, {"params": fwd[-2:], "lr": lr_out}]
        self.fwd_opt = self.make_optimizer(groups, hp["lr"])
        inv = list(self.decoders.parameters())
        self.inv_opt = (
            self.make_optimizer([{"params": inv}], hp["lr_inv"], hp["inv_weight_decay"])
            if inv
            else None
        )

    @property
    def V(self) -> dict[int, nn.Parameter]:
        """Decoder weights ``{l: V_l}`` for ``l = 2..L-1``."""
        return {int(k): m.weight for k, m in self.decoders.items()}

    @property
    def c(self) -> dict[int, nn.Parameter]:
        """Decoder biases ``{l: c_l}``."""
        return {int(k): m.bias for k, m in self.decoders.items()}

    # ------------------------------------------------------------- decoders
    def g(self, l: int, h: Tensor) -> Tensor:
        """Decoder ``g_l(h_l) = s_g(V_l h_l + c_l)``, an approximate inverse of ``f_l``."""
        dec = self.decoders[str(l)]
        return self.inv_act.fn_(torch.addmm(dec.bias, h, dec.weight.T))

    def f(self, l: int, h_prev: Tensor) -> Tensor:
        """Encoder ``f_l(h_{l-1})`` of hidden layer ``l``."""
        layer = self.net.layers[l - 1]
        return self.act.fn_(torch.addmm(layer.bias, self.layer_input(l, h_prev), layer.weight.T))

    def propagate_diff(self, l: int, h_l: Tensor, diff_l: Tensor, h_prev: Tensor) -> Tensor:
        """Given ``diff_l = h_l - ĥ_l``, return ``h_{l-1} - ĥ_{l-1}`` for TP's target
        ``ĥ_{l-1} = g_l(ĥ_l)``."""
        return h_prev - self.g(l, h_l - diff_l)

    # --------------------------------------------------------------- update
    @torch.no_grad()
    def step(self, x: Tensor, y: Tensor, record: dict[str, Any] | None = None) -> dict[str, float]:
        """One inverse phase, then one forward phase, on the mini-batch ``(x, y)``.

        If ``record`` is a dict it receives the tensors used (``hs``, ``inputs``,
        ``targets``, ``noisy``) for inspection; gradients are left in each tensor's ``.grad``.
        """
        L = self.n_layers
        B = x.shape[0]
        scale = 1.0 / B
        W, b = self.W, self.b
        hs, inputs = self.forward_full(x)
        d, loss = softmax_xent_grad(hs[L], y)  # per-example d loss / d logits
        # Output layer: its own gradient.
        self._set_grad_mm(W[L - 1], d.T, inputs[L - 1], scale)
        self._set_grad_sum(b[L - 1], d, scale)
        # diffs[l] = h_l - ĥ_l drives layer l's update (targets ĥ_l are implicit).
        diffs: dict[int, Tensor] = {}
        if L >= 2:  # top hidden target, ∂loss/∂q_L(h_{L-1}) (straight-through through sign)
            diffs[L - 1] = torch.mm(d, W[L - 1]).mul_(float(self.hyper["eta"]))
        # Inverse phase: g_l(f_l(h_{l-1} + ε)) ≈ h_{l-1} + ε.
        inv_stats: list[Tensor] = []
        noisy: dict[int, Tensor] = {}
        if self.inv_opt is not None:
            sigma = float(self.hyper["noise"])
            # The batch arrives shuffled, so its first n_inv rows are a random subset.
            n_inv = max(1, round(float(self.hyper["inv_fraction"]) * B))
            noise = None
            if sigma > 0:
                # One draw per batch, sliced per layer: each decoder sees N(0, σ²) noise;
                # draws are shared across layers (each layer's update is separate).
                width = max(self.sizes[1 : L - 1])
                noise = torch.randn(
                    (n_inv, width), generator=self._gen, device=x.device, dtype=x.dtype
                )
            for l in range(2, L):
                h_prev = hs[l - 1][:n_inv]
                hn = (
                    h_prev.clone()
                    if noise is None
                    else torch.add(h_prev, noise[:, : h_prev.shape[1]], alpha=sigma)
                )
                if record is not None:
                    noisy[l] = hn.clone()
                s = self.f(l, hn)
                r = self.g(l, s)
                neg_err = hn.sub_(r)  # (h̃_{l-1} - r), reusing hn's memory
                if self.hyper["stats"]:
                    inv_stats.append((neg_err * neg_err).sum(1).mean())
                e = self.inv_act.backward(neg_err, r)  # = -∂½‖r - h̃‖²/∂(V s + c)
                dec = self.decoders[str(l)]
                self._set_grad_mm(dec.weight, e.T, s, -1.0 / n_inv)
                self._set_grad_sum(dec.bias, e, -1.0 / n_inv)
            self.inv_opt.step()
        # Targets, top-down, with the updated decoders.
        for l in range(L - 1, 1, -1):
            diffs[l - 1] = self.propagate_diff(l, hs[l], diffs[l], hs[l - 1])
        # Forward phase: local losses ½‖h_l - ĥ_l‖², each layer on its own.
        layer_losses: list[Tensor] = []
        for l in range(1, L):
            diff = diffs[l]
            if self.hyper["stats"]:
                layer_losses.append((diff * diff).sum(1).mean())
            e = self.act.backward(diff, hs[l])
            self._set_grad_mm(W[l - 1], e.T, inputs[l - 1], scale)
            self._set_grad_sum(b[l - 1], e, scale)
        self.fwd_opt.step()
        if record is not None:
            targets = {l: hs[l] - dl for l, dl in diffs.items()}
            record.update(hs=hs, inputs=inputs, targets=targets, noisy=noisy)
        out = {"loss": float(loss)}
        if self.hyper["stats"]:
            for l, v in enumerate(layer_losses, start=1):
                out[f"layer_loss_{l}"] = float(v)
            for l, v in zip(range(2, L), inv_stats, strict=True):
                out[f"inverse_loss_{l}"] = float(v)
        return out

    def train_batch(self, x: Tensor, y: Tensor) -> dict[str, float]:
        return self.step(self.as_tensor(x), self.as_tensor(y, torch.int64))
