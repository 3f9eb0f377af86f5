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
from torch import Tensor

from neurotp.algorithms.base import Algorithm
from neurotp.algorithms.layers import init_weight, make_optimizer

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

    def __init__(self, sizes: Sequence[int], activation: str = "tanh", **kwargs: Any) -> None:
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
        # The base class built W_L (n_y x n_{L-1}); Algorithm 5's top level is an auto-encoder
        # instead, so the last forward layer is replaced by the tensors below.
        self.W.pop()
        self.b.pop()
        dev, dt, gen = self.device, self.dtype, self._init_gen
        ini, gain = hp["init"], float(hp["init_gain"])

        def weight(n_out: int, n_in: int) -> Tensor:
            return init_weight(n_out, n_in, gen, ini, gain).to(dev, dt).contiguous()

        def zeros(n: int) -> Tensor:
            return torch.zeros(n, device=dev, dtype=dt)

        # Lower decoders g_l, l = 1 .. L-1 (index l-1): n_l -> n_{l-1}.
        self.V: list[Tensor] = [
            weight(self.sizes[l - 1], self.sizes[l]) for l in range(1, self.n_layers)
        ]
        self.c: list[Tensor] = [zeros(self.sizes[l - 1]) for l in range(1, self.n_layers)]
        # Top auto-encoder.
        self.A_h, self.A_y = weight(top, n_top_in), weight(top, self.n_classes)
        self.a_m, self.a = zeros(top), zeros(top)
        self.V_y, self.c_y = weight(self.n_classes, top), zeros(self.n_classes)
        self.V_h, self.c_h = weight(n_top_in, top), zeros(n_top_in)
        self._top = [self.A_h, self.A_y, self.a_m, self.a, self.V_y, self.c_y, self.V_h, self.c_h]
        for t in self._all_params():
            t.requires_grad_(True)
        lr = float(hp["lr"])
        opt = make_optimizer(
            [t for l in range(self.n_layers - 1) for t in (self.W[l], self.b[l])],
            hp["optimizer"],
            lr,
            hp["weight_decay"],
        )
        opt.add_param_group({"params": self.V + self.c, "lr": float(hp["lr_inv"] or lr)})
        opt.add_param_group({"params": self._top, "lr": float(hp["lr_top"] or lr)})
        self.optimizer = opt

    # ------------------------------------------------------------------ modules
    def _all_params(self) -> list[Tensor]:
        return [*self.W, *self.b, *self.V, *self.c, *self._top]

    def module_params(self) -> dict[str, list[Tensor]]:
        """Parameters by module: ``f1 .. f{L-1}``, ``g1 .. g{L-1}``, ``top`` (f_L and g_L)."""
        out: dict[str, list[Tensor]] = {}
        for l in range(1, self.n_layers):
            out[f"f{l}"] = [self.W[l - 1], self.b[l - 1]]
            out[f"g{l}"] = [self.V[l - 1], self.c[l - 1]]
        out["top"] = list(self._top)
        return out

    def f(self, l: int, h_prev: Tensor) -> Tensor:
        """Encoder ``f_l(h_{l-1}) = s(W_l h_{l-1} + b_l)`` for ``1 <= l <= L-1``."""
        return self.act.fn(torch.addmm(self.b[l - 1], h_prev, self.W[l - 1].T))

    def g(self, l: int, h: Tensor) -> Tensor:
        """Decoder ``g_l(h_l)``: linear for ``l = 1``, ``s(V_l h_l + c_l)`` above."""
        a = torch.addmm(self.c[l - 1], h, self.V[l - 1].T)
        return a if l == 1 else self.act.fn(a)

    def f_top(self, h: Tensor, y_onehot: Tensor | None = None, m: Tensor | None = None) -> Tensor:
        """``h_L = f_L(h_{L-1}, m y, m)``; ``y_onehot = m = None`` means ``(h, 0, 0)``."""
        a = torch.addmm(self.a, h, self.A_h.T)
        if y_onehot is not None and m is not None:
            a = a + (y_onehot * m[:, None]) @ self.A_y.T + m[:, None] * self.a_m
        return self.act.fn(a)

    def g_top_y(self, h_top: Tensor) -> Tensor:
        """Logits of ``g_L^y(h_L)`` (softmax applied in the loss / by the caller)."""
        return torch.addmm(self.c_y, h_top, self.V_y.T)

    def g_top_h(self, h_top: Tensor) -> Tensor:
        """``g_L^h(h_L)``, the reconstruction of ``h_{L-1}``."""
        return self.act.fn(torch.addmm(self.c_h, h_top, self.V_h.T))

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

    # ------------------------------------------------------------------- state
    def named_tensors(self) -> dict[str, Tensor]:
        out = super().named_tensors()
        for l in range(1, self.n_layers):
            out[f"V{l}"] = self.V[l - 1]
            out[f"c{l}"] = self.c[l - 1]
        names = ("A_h", "A_y", "a_m", "a", "V_y", "c_y", "V_h", "c_h")
        for k, t in zip(names, self._top, strict=True):
            out[f"top_{k}"] = t
        return out


def labeled_mask(n: int, fraction: float, seed: int = 0) -> np.ndarray:
    """A boolean mask with ``round(fraction * n)`` randomly chosen True entries (the labelled
    examples of a semi-supervised run)."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction: must be in [0, 1], got {fraction!r}")
    mask = np.zeros(int(n), dtype=bool)
    mask[np.random.default_rng(seed).permutation(int(n))[: int(round(fraction * n))]] = True
    return mask


def run_experiment(
    dataset: str = "digits",
    hidden: Sequence[int] = (32, 32),
    epochs: int = 30,
    batch_size: int = 32,
    labeled_fraction: float = 1.0,
    seed: int = 0,
    device: str = "auto",
    n_train: int | None = None,
    verbose: bool = False,
    **hyper: Any,
) -> dict[str, Any]:
    """Train Algorithm 5 on ``neurotp.data`` set ``dataset`` and report Algorithm 4 accuracy.

    ``hidden`` are the widths of ``h_1 .. h_{L-1}``; a fraction ``labeled_fraction`` of the
    training examples keep their label (the rest are used with ``m = 0``). Returns a dict with
    ``test_accuracy``, ``train_accuracy``, ``seconds`` and per-epoch ``history``.
    """
    import time

    from neurotp.data.datasets import load_dataset

    ds = load_dataset(dataset, n_train=n_train, seed=seed)
    sizes = [ds.x_train.shape[1], *hidden, ds.n_classes]
    alg = SupervisedTargetProp(
        sizes, hyper.pop("activation", "tanh"), device=device, seed=seed, **hyper
    )
    lab = labeled_mask(len(ds.x_train), labeled_fraction, seed)
    x_all = alg.as_tensor(ds.x_train)
    y_all = alg.as_tensor(ds.y_train, torch.int64)
    lab_all = torch.as_tensor(lab, device=alg.device)
    rng = np.random.default_rng(seed)
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    for epoch in range(int(epochs)):
        order = torch.as_tensor(rng.permutation(len(x_all)), device=alg.device)
        total, n_batches = 0.0, 0
        for i in range(0, len(order), int(batch_size)):
            idx = order[i : i + int(batch_size)]
            total += alg.train_batch(x_all[idx], y_all[idx], lab_all[idx])["loss"]
            n_batches += 1
        record = {
            "epoch": epoch + 1,
            "loss": total / max(n_batches, 1),
            "test_accuracy": alg.accuracy(ds.x_test, ds.y_test),
            "seconds": time.perf_counter() - start,
        }
        history.append(record)
        if verbose:
            print(", ".join(f"{k}={v:.4g}" for k, v in record.items()), flush=True)
    return {
        "dataset": dataset,
        "sizes": sizes,
        "hyper": dict(alg.hyper),
        "labeled_fraction": labeled_fraction,
        "n_labeled": int(lab.sum()),
        "test_accuracy": alg.accuracy(ds.x_test, ds.y_test),
        "train_accuracy": alg.accuracy(ds.x_train, ds.y_train),
        "seconds": time.perf_counter() - start,
        "history": history,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m neurotp.algorithms.supervised_tp --dataset digits --alpha 1 ...``"""
    import argparse
    import json

    p = argparse.ArgumentParser(description="Algorithm 5 (Bengio 2014) on a data set.")
    p.add_argument("--dataset", default="digits")
    p.add_argument("--hidden", default="32,32", help="widths of h_1..h_{L-1}, comma separated")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--labeled-fraction", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--alpha", type=float, default=1.0)
    p.add_argument("--target-gain", type=float, default=1.0)
    p.add_argument("--propagation", default="difference", choices=PROPAGATIONS)
    p.add_argument("--unlabeled-gain", type=float, default=0.1)
    p.add_argument("--encoder-ae-weight", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--json", default=None, help="write the result (history included) here")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    hidden = [int(v) for v in a.hidden.split(",") if v]
    res = run_experiment(
        a.dataset,
        hidden,
        a.epochs,
        a.batch_size,
        a.labeled_fraction,
        a.seed,
        a.device,
        a.n_train,
        verbose=True,
        lr=a.lr,
        alpha=a.alpha,
        target_gain=a.target_gain,
        propagation=a.propagation,
        unlabeled_gain=a.unlabeled_gain,
        encoder_ae_weight=a.encoder_ae_weight,
    )
    summary = {k: v for k, v in res.items() if k != "history"}
    print(json.dumps(summary, default=str))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, default=str, indent=1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
