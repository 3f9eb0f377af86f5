"""Toy 2-D densities with analytic log-density and score, for the denoising-score check.

A :class:`GaussianMixture2D` is a finite mixture ``p(x) = sum_k w_k N(x; mu_k, Sigma_k)`` in the
plane. Its log-density ``log p(x)`` and its score ``d log p(x) / dx`` are computed in closed
form, so that the estimate ``(r(x) - x) / sigma^2`` of a denoising auto-encoder ``r`` trained with
Gaussian corruption of variance ``sigma^2`` (Alain & Bengio 2013; Bengio 2014, section 2.2.4)
can be compared with the true score.

Convolving the mixture with the corruption noise gives another Gaussian mixture
(:meth:`GaussianMixture2D.smoothed`): the optimal denoiser's ``r(x) - x`` equals ``sigma^2``
times the score of that smoothed density exactly (Tweedie's formula), and approaches the score
of ``p`` itself as ``sigma -> 0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIXTURE_NAMES: tuple[str, ...] = ("ring", "two", "grid", "banana")


@dataclass(frozen=True)
class GaussianMixture2D:
    """A mixture of ``K`` full-covariance Gaussians in 2-D.

    Attributes: ``means`` (K, 2), ``covariances`` (K, 2, 2) symmetric positive definite,
    ``weights`` (K,) non-negative, summing to 1.
    """

    means: np.ndarray
    covariances: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        means = np.asarray(self.means, dtype=np.float64)
        covs = np.asarray(self.covariances, dtype=np.float64)
        weights = np.asarray(self.weights, dtype=np.float64)
        if means.ndim != 2 or means.shape[1] != 2 or means.shape[0] < 1:
            raise ValueError(f"means: expected shape (K, 2) with K >= 1, got {means.shape}")
        k = means.shape[0]
        if covs.shape != (k, 2, 2):
            raise ValueError(f"covariances: expected shape ({k}, 2, 2), got {covs.shape}")
        if weights.shape != (k,):
            raise ValueError(f"weights: expected shape ({k},), got {weights.shape}")
        if not np.all(np.isfinite(means)) or not np.all(np.isfinite(covs)):
            raise ValueError("means/covariances: must be finite")
        if np.any(weights < 0) or not np.isclose(weights.sum(), 1.0, atol=1e-6):
            raise ValueError(f"weights: must be >= 0 and sum to 1, got sum {weights.sum():.6g}")
        if not np.allclose(covs, np.transpose(covs, (0, 2, 1))):
            raise ValueError("covariances: must be symmetric")
        if np.any(np.linalg.eigvalsh(covs) <= 0):
            raise ValueError("covariances: must be positive definite")
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "covariances", covs)
        object.__setattr__(self, "weights", weights / weights.sum())

    @property
    def n_components(self) -> int:
        return int(self.means.shape[0])

    def _component_logpdf(self, x: np.ndarray) -> np.ndarray:
        """``log w_k + log N(x; mu_k, Sigma_k)`` as an (N, K) array."""
        x = _as_points(x)
        prec = np.linalg.inv(self.covariances)  # (K, 2, 2)
        _, logdet = np.linalg.slogdet(self.covariances)
        diff = x[:, None, :] - self.means[None, :, :]  # (N, K, 2)
        maha = np.einsum("nki,kij,nkj->nk", diff, prec, diff)
        with np.errstate(divide="ignore"):
            logw = np.log(self.weights)
        return logw[None, :] - 0.5 * maha - 0.5 * logdet[None, :] - np.log(2.0 * np.pi)

    def log_density(self, x: np.ndarray) -> np.ndarray:
        """``log p(x)`` for points ``x`` of shape (N, 2); returns (N,)."""
        lp = self._component_logpdf(x)
        m = lp.max(axis=1, keepdims=True)
        return (m + np.log(np.exp(lp - m).sum(axis=1, keepdims=True)))[:, 0]

    def density(self, x: np.ndarray) -> np.ndarray:
        """``p(x)`` for points of shape (N, 2); returns (N,)."""
        return np.exp(self.log_density(x))

    def score(self, x: np.ndarray) -> np.ndarray:
        """The analytic score ``d log p(x) / dx = -sum_k r_k(x) Sigma_k^{-1} (x - mu_k)``.

        ``r_k(x)`` are the posterior responsibilities of the components. Returns (N, 2).
        """
        x = _as_points(x)
        lp = self._component_logpdf(x)
        resp = np.exp(lp - lp.max(axis=1, keepdims=True))
        resp /= resp.sum(axis=1, keepdims=True)
        prec = np.linalg.inv(self.covariances)
        diff = x[:, None, :] - self.means[None, :, :]
        comp_scores = -np.einsum("kij,nkj->nki", prec, diff)
        return np.einsum("nk,nki->ni", resp, comp_scores)

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Draw ``n`` points (float64, shape (n, 2))."""
        if int(n) != n or n < 0:
            raise ValueError(f"n: must be a non-negative integer, got {n!r}")
        rng = np.random.default_rng(rng)
        comp = rng.choice(self.n_components, size=int(n), p=self.weights)
        chol = np.linalg.cholesky(self.covariances)
        eps = rng.standard_normal((int(n), 2))
        return self.means[comp] + np.einsum("nij,nj->ni", chol[comp], eps)

    def smoothed(self, sigma: float) -> GaussianMixture2D:
        """The density convolved with isotropic Gaussian noise of standard deviation ``sigma``."""
        if not sigma >= 0:
            raise ValueError(f"sigma: must be >= 0, got {sigma!r}")
        return GaussianMixture2D(
            self.means, self.covariances + sigma**2 * np.eye(2)[None], self.weights
        )

    def peak_density(self, n_grid: int = 201, margin: float = 3.0) -> float:
        """The largest density on a grid covering the mixture (a close lower bound of the peak)."""
        xs, ys = self.grid(n_grid, margin)
        pts = np.stack([xs.ravel(), ys.ravel()], axis=1)
        grid_peak = float(self.density(pts).max())
        return max(grid_peak, float(self.density(self.means).max()))

    def bounds(self, margin: float = 3.0) -> tuple[float, float, float, float]:
        """``(xmin, xmax, ymin, ymax)`` covering every mean +- ``margin`` standard deviations."""
        sd = np.sqrt(np.stack([self.covariances[:, 0, 0], self.covariances[:, 1, 1]], axis=1))
        lo = (self.means - margin * sd).min(axis=0)
        hi = (self.means + margin * sd).max(axis=0)
        return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])

    def grid(self, n: int = 41, margin: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
        """A square ``n x n`` mesh (``xs, ys``) over :meth:`bounds`."""
        if int(n) != n or n < 2:
            raise ValueError(f"n: must be an integer >= 2, got {n!r}")
        x0, x1, y0, y1 = self.bounds(margin)
        return np.meshgrid(np.linspace(x0, x1, int(n)), np.linspace(y0, y1, int(n)))


def _as_points(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x: expected points of shape (N, 2), got {x.shape}")
    return x


def make_mixture(name: str = "ring", *, scale: float = 1.0) -> GaussianMixture2D:
    """A named 2-D test density.

    ``"ring"``: 6 isotropic Gaussians (std 0.35) on a circle of radius 2; ``"two"``: two
    unequal, elongated Gaussians; ``"grid"``: 3x3 isotropic Gaussians (std 0.3)
    spaced 1.5 apart; ``"banana"``: 5 correlated Gaussians along a curved arc.
    ``scale`` multiplies every length.
    """
    if not scale > 0:
        raise ValueError(f"scale: must be > 0, got {scale!r}")
    if name == "ring":
        angles = np.linspace(0.0, 2.0 * np.pi, 6, endpoint=False)
        means = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        covs = np.tile(0.35**2 * np.eye(2), (6, 1, 1))
        weights = np.full(6, 1.0 / 6.0)
    elif name == "two":
        means = np.array([[-1.2, 0.0], [1.3, 0.4]])
        covs = np.array([[[0.5, 0.25], [0.25, 0.3]], [[0.2, -0.1], [-0.1, 0.4]]])
        weights = np.array([0.6, 0.4])
    elif name == "grid":
        g = np.array([-1.5, 0.0, 1.5])
        means = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
        covs = np.tile(0.3**2 * np.eye(2), (9, 1, 1))
        weights = np.full(9, 1.0 / 9.0)
    elif name == "banana":
        t = np.linspace(-1.0, 1.0, 5)
        means = np.stack([2.0 * t, t**2 * 1.5 - 0.5], axis=1)
        covs = []
        for ti in t:
            tangent = np.array([1.0, 1.5 * ti])
            tangent /= np.linalg.norm(tangent)
            normal = np.array([-tangent[1], tangent[0]])
            covs.append(0.25 * np.outer(tangent, tangent) + 0.03 * np.outer(normal, normal))
        covs = np.array(covs)
        weights = np.full(5, 0.2)
    else:
        raise ValueError(f"name: unknown mixture {name!r}; allowed: {', '.join(MIXTURE_NAMES)}")
    return GaussianMixture2D(means * scale, covs * scale**2, weights)
