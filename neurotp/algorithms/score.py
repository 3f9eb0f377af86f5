"""A small denoising auto-encoder on 2-D densities: the score estimate behind target propagation.

Bengio (2014, section 2.2.4) justifies using a reconstruction ``h_hat`` as a *target* for ``h``
by the result of Alain & Bengio (2013): a denoising auto-encoder ``r = g o f`` trained to map
``x + sigma * xi`` (``xi ~ N(0, I)``) back to ``x`` with squared error has
``(r(x) - x) / sigma^2 -> d log p(x) / dx`` for small ``sigma``, so ``h_hat - h`` points toward
more probable values. :class:`DenoisingAutoEncoder2D` trains such an ``r`` on samples of a
density (e.g. :class:`neurotp.data.toy.GaussianMixture2D`) so the claim can be checked against
the analytic score with :func:`neurotp.metrics.score.score_cosine`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from neurotp.algorithms.stacked_ae import activation_module, resolve_device


class DenoisingAutoEncoder2D(nn.Module):
    """``r(x) = g(f(x))`` (or ``x + g(f(x))`` with ``residual``): encoder ``f`` (``n_layers``
    hidden layers of ``hidden`` units) and a linear decoder ``g``, trained as a denoising
    auto-encoder. The residual form changes only the parametrisation of the reconstruction
    function ``r``, not the training criterion (measured: mean cosine 0.988 residual vs 0.973
    plain with tanh units on the ``"ring"`` mixture; see docs/paper-algorithms.md).

    ``sigma`` is the standard deviation of the Gaussian corruption used in training; the score
    estimate is ``(r(x) - x) / sigma^2``. ``center``/``scale`` standardise inputs internally
    (set by :meth:`fit` from the training samples) so the network sees unit-scale data.
    """

    def __init__(
        self,
        sigma: float = 0.2,
        hidden: int = 128,
        n_layers: int = 2,
        activation: str = "tanh",
        *,
        residual: bool = True,
        device: str | torch.device = "auto",
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        if not sigma > 0:
            raise ValueError(f"sigma: must be > 0, got {sigma!r}")
        if int(hidden) != hidden or hidden < 1:
            raise ValueError(f"hidden: must be a positive integer, got {hidden!r}")
        if int(n_layers) != n_layers or n_layers < 1:
            raise ValueError(f"n_layers: must be a positive integer, got {n_layers!r}")
        self.sigma = float(sigma)
        self.residual = bool(residual)
        self.device = resolve_device(device)
        self.dtype = dtype
        gen = torch.Generator().manual_seed(int(seed))
        self._gen_seed = int(seed)
        layers: list[nn.Module] = []
        width_in = 2
        for _ in range(int(n_layers)):
            layers += [nn.Linear(width_in, int(hidden)), activation_module(activation)]
            width_in = int(hidden)
        self.encoder = nn.Sequential(*layers)
        self.decoder = nn.Linear(width_in, 2)
        with torch.no_grad():
            for p in self.parameters():
                if p.ndim == 2:
                    bound = 1.0 / np.sqrt(p.shape[1])
                    p.copy_(torch.empty(p.shape).uniform_(-bound, bound, generator=gen))
                else:
                    p.zero_()
        self.register_buffer("center", torch.zeros(2))
        self.register_buffer("scale", torch.ones(()))
        self.to(device=self.device, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction ``r(x)`` in the original coordinates."""
        z = (x - self.center) / self.scale
        out = self.decoder(self.encoder(z))
        if self.residual:
            out = out + z
        return out * self.scale + self.center

    def fit(
        self,
        sampler: Callable[[int, np.random.Generator], np.ndarray],
        n_steps: int = 3000,
        batch_size: int = 512,
        lr: float = 1e-2,
        seed: int | None = None,
    ) -> list[float]:
        """Train with fresh samples each step: ``x`` is the target for ``r(x + sigma * xi)``.

        ``sampler(n, rng)`` returns ``n`` points of shape (n, 2). Returns the loss per step.
        The learning rate decays linearly to 10 % of ``lr`` over the run.
        """
        if int(n_steps) != n_steps or n_steps < 1:
            raise ValueError(f"n_steps: must be a positive integer, got {n_steps!r}")
        rng = np.random.default_rng(self._gen_seed if seed is None else seed)
        ref = np.asarray(sampler(4096, rng), dtype=np.float64)
        with torch.no_grad():
            self.center.copy_(torch.as_tensor(ref.mean(axis=0), dtype=self.dtype))
            self.scale.copy_(torch.as_tensor(ref.std(axis=0).mean(), dtype=self.dtype))
        opt = torch.optim.Adam(self.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: 1.0 - 0.9 * min(step / max(int(n_steps) - 1, 1), 1.0)
        )
        losses: list[float] = []
        for _ in range(int(n_steps)):
            x = torch.as_tensor(sampler(batch_size, rng), dtype=self.dtype, device=self.device)
            noise = torch.as_tensor(
                rng.standard_normal(x.shape), dtype=self.dtype, device=self.device
            )
            loss = ((self(x + self.sigma * noise) - x) ** 2).sum(dim=1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            if not np.isfinite(losses[-1]):
                raise FloatingPointError(f"loss: became {losses[-1]} at step {len(losses)}")
        return losses

    @torch.no_grad()
    def score(self, x: np.ndarray) -> np.ndarray:
        """The score estimate ``(r(x) - x) / sigma^2`` at points ``x`` of shape (N, 2)."""
        xt = torch.as_tensor(np.asarray(x), dtype=self.dtype, device=self.device)
        return ((self(xt) - xt) / self.sigma**2).double().cpu().numpy()

    @torch.no_grad()
    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """``r(x)`` at points of shape (N, 2), as a float64 array."""
        xt = torch.as_tensor(np.asarray(x), dtype=self.dtype, device=self.device)
        return self(xt).double().cpu().numpy()


def score_check(
    mixture_name: str = "ring",
    sigma: float = 0.2,
    n_steps: int = 2000,
    grid: int = 41,
    threshold: float = 0.01,
    seed: int = 0,
    device: str = "auto",
    hidden: int = 128,
) -> dict[str, object]:
    """Train a :class:`DenoisingAutoEncoder2D` on a named mixture and compare fields on a grid.

    Returns a dict with ``cosine`` (mean cosine between ``r(x) - x`` and the analytic score at
    grid points with density >= ``threshold`` x peak), ``cosine_smoothed`` (the same against
    the score of the density convolved with the corruption noise, which the optimal denoiser
    estimates exactly), ``n_points`` (points over the threshold) and the arrays ``xs, ys``
    (mesh), ``estimate``, ``true_score``, ``density``, ``mask`` for plotting.
    """
    from neurotp.data.toy import make_mixture
    from neurotp.metrics.score import density_mask, score_cosine

    mix = make_mixture(mixture_name)
    dae = DenoisingAutoEncoder2D(sigma=sigma, hidden=hidden, device=device, seed=seed)
    losses = dae.fit(lambda n, rng: mix.sample(n, rng), n_steps=n_steps, seed=seed)
    xs, ys = mix.grid(grid)
    pts = np.stack([xs.ravel(), ys.ravel()], axis=1)
    est = dae.score(pts)
    true = mix.score(pts)
    dens = mix.density(pts)
    peak = mix.peak_density()
    mask = density_mask(dens, threshold, peak)
    return {
        "cosine": score_cosine(est, true, dens, threshold, peak),
        "cosine_smoothed": score_cosine(est, mix.smoothed(sigma).score(pts), dens, threshold, peak),
        "n_points": int(mask.sum()),
        "final_loss": float(np.mean(losses[-100:])),
        "xs": xs,
        "ys": ys,
        "estimate": est,
        "true_score": true,
        "density": dens,
        "mask": mask,
        "sigma": sigma,
        "mixture": mixture_name,
    }
