"""Bengio (2014) Algorithms 2, 3 and 6: a back-prop-free stack of denoising auto-encoders.

Each of the ``L`` layers has an encoder ``f_l`` (feedforward) and a decoder ``g_l`` (feedback).
Training (Algorithm 2) uses two kinds of loops, and *no gradient ever crosses a layer*: every
loss below is a squared error between one module's output and a target that is a detached
tensor, so only that module's parameters move.

Short loop (every layer, going up, ``h_l = f_l(h_{l-1})``):
  * ``h_{l-1}`` is a target for ``h~_{l-1} = g_l(corrupt(h_l))`` (updates ``g_l``);
  * ``h_l`` is a target for ``f_l(h~_{l-1})`` (updates ``f_l``; recirculation).

Long loop (noise-free, going down from ``h^_L = h_L``, ``h^_{l-1} = g_l(h^_l)``):
  * for ``l < L``, ``h^_l`` is a target for ``h_l = f_l(h_{l-1})`` (updates ``f_l``);
  * ``h_{l-1}`` is a target for ``g_l(corrupt(h^_l))`` (updates ``g_l``).

How each layer-wise auto-encoder ``(f_l, g_l)`` learns its short loop is ``local_rule``:

* ``"recirculation"`` -- the paper's tentative rule, exactly as written above. On its own it
  lets the encoders collapse (a constant ``f_l`` satisfies both of its targets; measured on
  Fashion-MNIST the deep reconstruction error stays at the level of the mean image), so
* ``"backprop"`` (default) -- ``h_{l-1}`` is a target for ``g_l(corrupt(f_l(h_{l-1})))`` and the
  error is back-propagated *inside* the layer-wise auto-encoder only, into ``g_l`` and ``f_l``
  (Algorithm 1's "denoising reconstruction error through the x -> h_l -> x^ loop"; section 6
  allows back-prop inside one layer's encoder/decoder). No gradient reaches ``f_{l-1}``.

Input corruption (section 2.2.5: "we may want to add more targets ... h_l is a target for
f_l(corrupt(h_{l-1}))"; section 4: "randomly hiding some subset of the observed modalities"):
``input_mask`` hides inputs of the first auto-encoder -- ``"pixels"`` independently with
probability ``input_mask_prob``, ``"blocks"`` a random rectangle of the image (height and width
uniform in [1/4, 1] of the image's, random position) in a fraction ``input_mask_prob`` of the
examples, ``"halves"`` one of the four half-images (top, bottom, left, right: the halves
treated as modalities, one hidden at random). Hidden inputs are replaced by the mean
training input, the value Algorithm 6 starts from.

With ``walkback = K > 0`` (section 7.5: "a target (the uncorrupted input) is provided for the
reconstruction after multiple noisy encode-decode steps"), the first auto-encoder is also
trained on its own clamped fill-ins: the hidden inputs are replaced by its (noisy)
reconstruction and ``x`` is again the target, ``K`` times. This is meant to remove spurious
fixed points of the clamped iterations of Algorithm 6; measured, it only delays the drift (the
imputation error is lowest after about ``K + 1`` iterations and grows after that).

Algorithm 3 (:meth:`StackedDenoisingAE.sample`) runs a noisy top-level chain
``h_{L-1} <- g_L(corrupt(f_L(h_{L-1})))`` and then decodes deterministically,
``h_{l-1} = g_l(h_l)`` down to ``x = h_0``.

Algorithm 6 (:meth:`StackedDenoisingAE.impute`) finds an approximate MAP value of missing
inputs given the observed ones by noise-free encode/decode iterations of the deep
auto-encoder, with the observed components clamped after every step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from neurotp.algorithms.layers import resolve_device

ACTIVATIONS: tuple[str, ...] = ("tanh", "sigmoid", "relu", "softplus", "linear")
LOCAL_RULES: tuple[str, ...] = ("backprop", "recirculation")
INPUT_MASKS: tuple[str, ...] = ("none", "pixels", "blocks", "halves")

__all__ = [
    "ACTIVATIONS",
    "StackedDenoisingAE",
    "activation_module",
    "check_sizes",
    "resolve_device",
]


def activation_module(name: str) -> nn.Module:
    """The ``nn.Module`` for an activation name in :data:`ACTIVATIONS`."""
    table = {
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "relu": nn.ReLU,
        "softplus": nn.Softplus,
        "linear": nn.Identity,
    }
    if name not in table:
        raise ValueError(f"activation: unknown name {name!r}; allowed: {', '.join(ACTIVATIONS)}")
    return table[name]()


def check_sizes(sizes: Sequence[int], minimum: int = 2) -> list[int]:
    """Validate a layer-size list (positive integers, at least ``minimum`` entries)."""
    out = [int(s) for s in sizes]
    if len(out) < minimum or any(s < 1 or s != t for s, t in zip(out, sizes, strict=True)):
        raise ValueError(
            f"sizes: expected at least {minimum} positive integers, got {list(sizes)!r}"
        )
    return out


def _half_sq(a: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``0.5 * ||a - target||^2`` summed over units, averaged over the batch (target detached)."""
    return 0.5 * ((a - target.detach()) ** 2).sum(dim=1).mean()


class StackedDenoisingAE(nn.Module):
    """A stack of layer-wise denoising auto-encoders ``(f_l, g_l)``, trained by Algorithm 2.

    ``sizes = [d_0, d_1, ..., d_L]`` gives the widths of ``h_0 = x`` up to the top code
    ``h_L``. Hidden codes use ``activation``; the first decoder ``g_1`` uses
    ``output_activation`` (``"sigmoid"`` for data in [0, 1]). ``noise`` is the standard
    deviation of the Gaussian corruption of ``h_l`` fed to the decoders ``g_l`` for ``l < L``,
    ``top_noise`` that of the top layer (the paper wants most noise at the top).
    ``optimizer`` (a callable taking the parameters, e.g. ``functools.partial(torch.optim.SGD,
    lr=0.1)``) replaces the default ``torch.optim.Adam(lr=lr)``.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "sigmoid",
        *,
        output_activation: str = "sigmoid",
        noise: float = 0.1,
        top_noise: float = 0.3,
        input_mask: str = "none",
        input_mask_prob: float = 0.5,
        image_shape: tuple[int, int] | None = None,
        walkback: int = 0,
        lr: float = 1e-3,
        long_loop_weight: float = 1.0,
        local_rule: str = "backprop",
        device: str | torch.device = "auto",
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        optimizer: Callable[[Iterator[nn.Parameter]], torch.optim.Optimizer] | None = None,
    ) -> None:
        super().__init__()
        self.sizes = check_sizes(sizes)
        for field, value in (("noise", noise), ("top_noise", top_noise), ("lr", lr)):
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{field}: must be a finite number >= 0, got {value!r}")
        if input_mask not in INPUT_MASKS:
            raise ValueError(
                f"input_mask: unknown {input_mask!r}; allowed: {', '.join(INPUT_MASKS)}"
            )
        if not 0.0 <= input_mask_prob <= 1.0:
            raise ValueError(f"input_mask_prob: must be in [0, 1], got {input_mask_prob!r}")
        if int(walkback) != walkback or walkback < 0:
            raise ValueError(f"walkback: must be a non-negative integer, got {walkback!r}")
        self.walkback = int(walkback)
        if image_shape is None:
            side = int(round(np.sqrt(self.sizes[0])))
            image_shape = (side, side) if side * side == self.sizes[0] else (1, self.sizes[0])
        if len(image_shape) != 2 or int(image_shape[0]) * int(image_shape[1]) != self.sizes[0]:
            raise ValueError(
                f"image_shape: {image_shape!r} does not hold sizes[0] = {self.sizes[0]} inputs"
            )
        if not long_loop_weight >= 0:
            raise ValueError(f"long_loop_weight: must be >= 0, got {long_loop_weight!r}")
        activation_module(activation)
        activation_module(output_activation)
        if local_rule not in LOCAL_RULES:
            raise ValueError(
                f"local_rule: unknown {local_rule!r}; allowed: {', '.join(LOCAL_RULES)}"
            )
        self.local_rule = local_rule
        self.activation = activation
        self.output_activation = output_activation
        self.noise = float(noise)
        self.top_noise = float(top_noise)
        self.input_mask = input_mask
        self.input_mask_prob = float(input_mask_prob)
        self.image_shape = (int(image_shape[0]), int(image_shape[1]))
        self.long_loop_weight = float(long_loop_weight)
        self.device = resolve_device(device)
        self.dtype = dtype
        self.seed = int(seed)
        # Seeded initialisation without touching the caller's global torch RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.encoders = nn.ModuleList()
            self.decoders = nn.ModuleList()
            for l in range(1, len(self.sizes)):
                d_in, d_out = self.sizes[l - 1], self.sizes[l]
                self.encoders.append(
                    nn.Sequential(nn.Linear(d_in, d_out), activation_module(activation))
                )
                out_act = output_activation if l == 1 else activation
                self.decoders.append(
                    nn.Sequential(nn.Linear(d_out, d_in), activation_module(out_act))
                )
        self.register_buffer("input_mean", torch.full((self.sizes[0],), 0.5))
        self.to(device=self.device, dtype=dtype)
        self._gen = torch.Generator(device=self.device).manual_seed(self.seed)
        # any torch.optim optimizer: ``optimizer(self.parameters())``; default Adam(lr)
        self.optimizer = (
            torch.optim.Adam(self.parameters(), lr=lr)
            if optimizer is None
            else optimizer(self.parameters())
        )
        if not isinstance(self.optimizer, torch.optim.Optimizer):
            raise ValueError(
                f"optimizer: the factory returned {type(self.optimizer).__name__}, not a "
                "torch.optim.Optimizer"
            )

    @property
    def n_layers(self) -> int:
        """``L``, the number of encoder/decoder pairs."""
        return len(self.encoders)

    def _corrupt(self, h: torch.Tensor, sigma: float) -> torch.Tensor:
        if sigma == 0:
            return h
        eps = torch.randn(h.shape, generator=self._gen, device=h.device, dtype=h.dtype)
        return h + sigma * eps

    def hidden_mask(self, n: int) -> torch.Tensor:
        """A random (n, d_0) boolean mask of the inputs hidden by ``input_mask`` (True = hidden)."""
        dev = self.device
        if self.input_mask == "none":
            return torch.zeros((n, self.sizes[0]), dtype=torch.bool, device=dev)
        if self.input_mask == "pixels":
            u = torch.rand((n, self.sizes[0]), generator=self._gen, device=dev)
            return u < self.input_mask_prob
        rows, cols = self.image_shape
        r = torch.arange(rows, device=dev)[None, :, None]
        c = torch.arange(cols, device=dev)[None, None, :]
        if self.input_mask == "halves":
            u = torch.rand((n, 2), generator=self._gen, device=dev)
            side = (u[:, 0] * 4).long()[:, None, None]  # 0 top, 1 bottom, 2 left, 3 right
            inside = (
                ((side == 0) & (r < rows // 2))
                | ((side == 1) & (r >= rows // 2))
                | ((side == 2) & (c < cols // 2))
                | ((side == 3) & (c >= cols // 2))
            )
            inside &= (u[:, 1] < self.input_mask_prob)[:, None, None]
            return inside.reshape(n, -1)
        u = torch.rand((n, 5), generator=self._gen, device=dev)
        hgt = torch.clamp((rows * (0.25 + 0.75 * u[:, 0])).long(), 1, rows)
        wid = torch.clamp((cols * (0.25 + 0.75 * u[:, 1])).long(), 1, cols)
        top = ((rows - hgt + 1) * u[:, 2]).long()
        left = ((cols - wid + 1) * u[:, 3]).long()
        inside = (
            (r >= top[:, None, None])
            & (r < (top + hgt)[:, None, None])
            & (c >= left[:, None, None])
            & (c < (left + wid)[:, None, None])
        )
        inside &= (u[:, 4] < self.input_mask_prob)[:, None, None]
        return inside.reshape(n, -1)

    def _mask_input(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_mask == "none":
            return x
        return torch.where(self.hidden_mask(len(x)), self.input_mean, x)

    def _as_tensor(self, x: np.ndarray | torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=self.dtype, device=self.device)
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(f"x: expected shape (N, {self.sizes[0]}), got {tuple(x.shape)}")
        return x

    @torch.no_grad()
    def encode(self, x: np.ndarray | torch.Tensor, level: int | None = None) -> torch.Tensor:
        """``h_level = f_level(... f_1(x))`` (default: the top code ``h_L``)."""
        h = self._as_tensor(x)
        for f in self.encoders[: self._level(level)]:
            h = f(h)
        return h

    @torch.no_grad()
    def decode(self, h: torch.Tensor, level: int | None = None) -> torch.Tensor:
        """``x = g_1(... g_level(h))`` (default: from the top code)."""
        level = self._level(level)
        for g in reversed(self.decoders[:level]):
            h = g(h)
        return h

    @torch.no_grad()
    def forward_layers(self, x: np.ndarray | torch.Tensor) -> list[torch.Tensor]:
        """``[h_1, ..., h_L]`` from the noise-free upward pass."""
        h = self._as_tensor(x)
        out = []
        for f in self.encoders:
            h = f(h)
            out.append(h)
        return out

    @torch.no_grad()
    def reconstruct(self, x: np.ndarray | torch.Tensor, level: int | None = None) -> torch.Tensor:
        """The noise-free long-loop reconstruction ``g~_level(f~_level(x))``."""
        return self.decode(self.encode(x, level), level)

    def _level(self, level: int | None) -> int:
        if level is None:
            return self.n_layers
        if int(level) != level or not 1 <= level <= self.n_layers:
            raise ValueError(f"level: must be an integer in [1, {self.n_layers}], got {level!r}")
        return int(level)

    def local_losses(self, x: np.ndarray | torch.Tensor) -> dict[str, torch.Tensor]:
        """The losses of one Algorithm 2 step, one per layer and loop (graphs not yet applied).

        Keys ``short{l}`` (layer ``l``'s short loop), ``long_f{l}`` (``h^_l`` a target for
        ``f_l(h_{l-1})``, ``l < L``), ``long_g{l}`` (``h_{l-1}`` a target for
        ``g_l(corrupt(h^_l))``), ``input_f`` (recirculation with input masking only), and
        ``recon`` (detached: mean squared error per input of the noise-free long-loop
        reconstruction ``h^_0``). Every loss depends only on the parameters of its own layer.
        """
        x = self._as_tensor(x)
        n = self.n_layers
        with torch.no_grad():
            hs = [x]
            for f in self.encoders:
                hs.append(f(hs[-1]))
        out: dict[str, torch.Tensor] = {}
        # Short loops (one layer-wise denoising auto-encoder per layer).
        for l in range(1, n + 1):
            f, g = self.encoders[l - 1], self.decoders[l - 1]
            sigma = self.top_noise if l == n else self.noise
            if self.local_rule == "recirculation":
                h_tilde = g(self._corrupt(hs[l], sigma))
                out[f"short{l}"] = _half_sq(h_tilde, hs[l - 1]) + _half_sq(
                    f(h_tilde.detach()), hs[l]
                )
            elif l == 1 and self.input_mask != "none":
                # back-prop inside the first auto-encoder, with masked inputs and walk-back
                hidden = self.hidden_mask(len(x))
                inp = torch.where(hidden, self.input_mean, x)
                term = x.new_zeros(())
                for _ in range(self.walkback + 1):
                    h_tilde = g(self._corrupt(f(inp), sigma))
                    term = term + _half_sq(h_tilde, x)
                    inp = torch.where(hidden, h_tilde.detach(), x)
                out["short1"] = term
            else:  # back-prop inside the layer-wise auto-encoder (f_l, g_l) only
                out[f"short{l}"] = _half_sq(g(self._corrupt(f(hs[l - 1]), sigma)), hs[l - 1])
        if self.input_mask != "none" and self.local_rule == "recirculation":
            out["input_f"] = _half_sq(self.encoders[0](self._mask_input(x)), hs[1])
        # Long loop, noise-free going down from h^_L = h_L.
        h_hat = hs[n]
        for l in range(n, 0, -1):
            f, g = self.encoders[l - 1], self.decoders[l - 1]
            if l < n:
                out[f"long_f{l}"] = _half_sq(f(hs[l - 1]), h_hat)
            sigma = self.top_noise if l == n else self.noise
            out[f"long_g{l}"] = _half_sq(g(self._corrupt(h_hat, sigma)), hs[l - 1])
            with torch.no_grad():
                h_hat = g(h_hat)
        out["recon"] = ((h_hat - x) ** 2).mean().detach()
        return out

    def train_batch(self, x: np.ndarray | torch.Tensor) -> dict[str, float]:
        """One Algorithm 2 update on a mini-batch.

        Returns ``loss`` (the sum that was minimised), ``short`` (all short loops), ``long``
        (all long-loop terms) and ``recon`` (see :meth:`local_losses`; before the update).
        """
        self.train()
        terms = self.local_losses(x)
        short = sum((v for k, v in terms.items() if k.startswith(("short", "input"))), start=0.0)
        long = sum((v for k, v in terms.items() if k.startswith("long")), start=0.0)
        loss = short + self.long_loop_weight * long
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        out = {
            "loss": float(loss.detach()),
            "short": float(short.detach()) if torch.is_tensor(short) else 0.0,
            "long": float(long.detach()) if torch.is_tensor(long) else 0.0,
            "recon": float(terms["recon"]),
        }
        if not np.isfinite(out["loss"]):
            raise FloatingPointError(f"loss: became {out['loss']} (terms {out})")
        return out

    def fit(
        self,
        x_train: np.ndarray,
        epochs: int = 1,
        batch_size: int = 100,
        seed: int | None = None,
        verbose: bool = False,
    ) -> list[dict[str, float]]:
        """Run Algorithm 2 for ``epochs`` passes over ``x_train``; returns per-epoch mean losses.

        Also stores the mean of ``x_train`` in the ``input_mean`` buffer (the fill value of
        hidden inputs).
        """
        if int(epochs) != epochs or epochs < 0:
            raise ValueError(f"epochs: must be a non-negative integer, got {epochs!r}")
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size: must be a positive integer, got {batch_size!r}")
        rng = np.random.default_rng(self.seed if seed is None else seed)
        x_all = self._as_tensor(x_train)
        with torch.no_grad():
            self.input_mean.copy_(x_all.mean(dim=0))
        history = []
        for epoch in range(int(epochs)):
            order = torch.as_tensor(rng.permutation(len(x_all)), device=self.device)
            sums: dict[str, float] = {}
            n_batches = 0
            for start in range(0, len(x_all), int(batch_size)):
                stats = self.train_batch(x_all[order[start : start + int(batch_size)]])
                for k, v in stats.items():
                    sums[k] = sums.get(k, 0.0) + v
                n_batches += 1
            means = {k: v / n_batches for k, v in sums.items()}
            history.append(means)
            if verbose:
                print(f"epoch {epoch + 1}: " + ", ".join(f"{k}={v:.4f}" for k, v in means.items()))
        return history

    @torch.no_grad()
    def sample(
        self,
        n_steps: int = 20,
        h_init: torch.Tensor | np.ndarray | None = None,
        n: int | None = None,
        noise: float | None = None,
        return_chain: bool = False,
    ) -> torch.Tensor | list[torch.Tensor]:
        """Algorithm 3: ``K = n_steps`` top-level steps ``h_{L-1} <- g_L(corrupt(f_L(h_{L-1})))``
        then deterministic decoding ``h_{l-1} = g_l(h_l)`` down to ``x``.

        ``h_init`` is a recorded ``h_{L-1}`` (e.g. ``encode(x, L-1)`` of training data, the
        paper's suggestion); without it ``n`` chains start from uniform noise in the range of
        the activation. ``noise`` defaults to ``top_noise``. With ``return_chain`` the decoded
        ``x`` after every step is returned (list of length ``n_steps + 1``, first = start).
        """
        if int(n_steps) != n_steps or n_steps < 0:
            raise ValueError(f"n_steps: must be a non-negative integer, got {n_steps!r}")
        sigma = self.top_noise if noise is None else float(noise)
        if not sigma >= 0:
            raise ValueError(f"noise: must be >= 0, got {noise!r}")
        L = self.n_layers
        width = self.sizes[L - 1]
        if h_init is None:
            if n is None or int(n) != n or n < 1:
                raise ValueError(f"n: a positive integer is needed without h_init, got {n!r}")
            u = torch.rand((int(n), width), generator=self._gen, device=self.device)
            h = (2 * u - 1 if self.activation == "tanh" else u).to(self.dtype)
        else:
            h = torch.as_tensor(h_init, dtype=self.dtype, device=self.device)
            if h.ndim != 2 or h.shape[1] != width:
                raise ValueError(f"h_init: expected shape (N, {width}), got {tuple(h.shape)}")
        self.eval()
        f_top, g_top = self.encoders[L - 1], self.decoders[L - 1]
        chain = []
        if return_chain:
            chain.append(self.decode(h, L - 1) if L > 1 else h)
        for _ in range(int(n_steps)):
            h = g_top(self._corrupt(f_top(h), sigma))
            if return_chain:
                chain.append(self.decode(h, L - 1) if L > 1 else h)
        if return_chain:
            return chain
        return self.decode(h, L - 1) if L > 1 else h

    @torch.no_grad()
    def impute(
        self,
        x: np.ndarray | torch.Tensor,
        observed: np.ndarray | torch.Tensor,
        init: np.ndarray | torch.Tensor | float = 0.0,
        n_iter: int = 50,
        level: int | None = None,
        tol: float = 1e-5,
    ) -> torch.Tensor:
        """Algorithm 6: approximate MAP of the missing inputs given the observed ones.

        ``observed`` is a boolean array broadcastable to ``x`` (True = observed, clamped).
        Missing entries start at ``init`` (a scalar or an array broadcastable to ``x``, e.g.
        the mean training image). Each iteration replaces them by the noise-free long-loop
        reconstruction ``g~_level(f~_level(x))`` while the observed entries stay clamped; it
        stops after ``n_iter`` iterations or when the largest change is below ``tol``.
        This is the paper's clamped encode/decode ascent carried out at ``h_0 = x`` with the
        whole stack as the auto-encoder sitting on top (our stack has no missingness-mask
        inputs, so the first iteration sees the ``init`` values).
        """
        x = self._as_tensor(x)
        obs = torch.as_tensor(observed, device=self.device).bool()
        try:
            obs = torch.broadcast_to(obs, x.shape)
        except RuntimeError:
            raise ValueError(
                f"observed: shape {tuple(obs.shape)} does not broadcast to x {tuple(x.shape)}"
            ) from None
        if int(n_iter) != n_iter or n_iter < 0:
            raise ValueError(f"n_iter: must be a non-negative integer, got {n_iter!r}")
        fill = torch.broadcast_to(
            torch.as_tensor(init, dtype=self.dtype, device=self.device), x.shape
        )
        self.eval()
        cur = torch.where(obs, x, fill)
        for _ in range(int(n_iter)):
            new = torch.where(obs, x, self.reconstruct(cur, level))
            change = float((new - cur).abs().max()) if new.numel() else 0.0
            cur = new
            if change < tol:
                break
        return cur
