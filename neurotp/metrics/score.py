"""Score checks: does a denoising auto-encoder's ``r(x) - x`` point along ``d log p / dx``?

Alain & Bengio (2013), used in Bengio (2014, section 2.2.4): a denoising auto-encoder ``r``
trained with squared error on inputs corrupted by Gaussian noise of variance ``sigma^2``
satisfies ``(r(x) - x) / sigma^2 -> d log p(x) / dx`` as ``sigma -> 0``. The check here is the
mean cosine between the two vector fields over the points where the density is at least a
fraction (1 % by default) of its peak; far from the data the density gives the auto-encoder no
training signal and the comparison would be meaningless.
"""

from __future__ import annotations

import numpy as np


def dae_score(reconstruction: np.ndarray, x: np.ndarray, sigma: float) -> np.ndarray:
    """The denoising auto-encoder's score estimate ``(r(x) - x) / sigma^2``."""
    reconstruction = np.asarray(reconstruction, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if reconstruction.shape != x.shape:
        raise ValueError(
            f"reconstruction: shape {reconstruction.shape} differs from x's shape {x.shape}"
        )
    if not sigma > 0:
        raise ValueError(f"sigma: must be > 0, got {sigma!r}")
    return (reconstruction - x) / sigma**2


def cosine_rows(a: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Row-wise cosine similarity of two (N, D) arrays; a zero row gives cosine 0."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(
            f"a, b: expected two (N, D) arrays of equal shape, got {a.shape} and {b.shape}"
        )
    num = (a * b).sum(axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.where(den > eps, num / np.maximum(den, eps), 0.0)


def density_mask(density: np.ndarray, threshold: float = 0.01, peak: float | None = None):
    """Boolean mask of the points whose density is ``>= threshold * peak``.

    ``peak`` defaults to the largest density among the given points.
    """
    density = np.asarray(density, dtype=np.float64)
    if density.ndim != 1:
        raise ValueError(f"density: expected a 1-D array, got shape {density.shape}")
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold: must be in [0, 1), got {threshold!r}")
    if peak is None:
        peak = float(density.max())
    if not peak > 0:
        raise ValueError(f"peak: must be > 0, got {peak!r}")
    return density >= threshold * peak


def score_cosine(
    estimate: np.ndarray,
    true_score: np.ndarray,
    density: np.ndarray,
    threshold: float = 0.01,
    peak: float | None = None,
) -> float:
    """Mean cosine between an estimated and the true score where ``p >= threshold * peak``.

    ``estimate`` may be ``r(x) - x`` or ``(r(x) - x) / sigma^2`` (the cosine ignores the
    positive scale). Raises ``ValueError`` when no point passes the density threshold.
    """
    estimate = np.asarray(estimate, dtype=np.float64)
    true_score = np.asarray(true_score, dtype=np.float64)
    density = np.asarray(density, dtype=np.float64)
    if density.shape != (estimate.shape[0],):
        raise ValueError(
            f"density: expected shape ({estimate.shape[0]},) to match estimate, got {density.shape}"
        )
    mask = density_mask(density, threshold, peak)
    if not mask.any():
        raise ValueError(f"threshold: no point has density >= {threshold} x peak")
    return float(cosine_rows(estimate[mask], true_score[mask]).mean())
