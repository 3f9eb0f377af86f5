"""Diagnostics of circuit runs, computed from an engine's per-presentation mean rates."""

from __future__ import annotations

import numpy as np


def accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose argmax equals the label."""
    scores = np.asarray(scores)
    if len(scores) != len(y):
        raise ValueError(f"accuracy: {len(scores)} score rows but {len(y)} labels")
    return float(np.mean(np.argmax(scores, axis=1) == np.asarray(y)))


def reconstruction_mse(reconstruction: np.ndarray, x: np.ndarray) -> float:
    """Mean squared error per input unit between a reconstruction and the clean input."""
    reconstruction = np.asarray(reconstruction, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if reconstruction.shape != x.shape:
        raise ValueError(f"reconstruction_mse: shapes {reconstruction.shape} and {x.shape} differ")
    return float(np.mean((reconstruction - x) ** 2))


def pca_reconstruction_mse(x_train: np.ndarray, x_test: np.ndarray, k: int) -> float:
    """Test MSE of the best rank-``k`` linear code (PCA fitted on the training set)."""
    mu = x_train.mean(axis=0)
    _, _, vt = np.linalg.svd(x_train - mu, full_matrices=False)
    basis = vt[:k]
    rec = (x_test - mu) @ basis.T @ basis + mu
    return reconstruction_mse(rec, x_test)


STATE_ARRAYS = ("r", "hist", "tr", "w", "b")


def state_difference(a, b, keys: tuple[str, ...] = STATE_ARRAYS) -> float:
    """Largest absolute difference between two engine states (:class:`neurotp.circuit.State`)
    over the arrays ``keys``: rates, rate history, traces, weights, biases."""
    return max(float(np.max(np.abs(getattr(a, k) - getattr(b, k)))) for k in keys)
