"""Diagnostics (accuracy, reconstruction error, update alignment, score checks).

Kept apart from model classes: metrics take arrays and return numbers.
"""

from neurotp.metrics.circuit import (
    accuracy,
    pca_reconstruction_mse,
    reconstruction_mse,
    state_difference,
)
from neurotp.metrics.score import score_cosine

__all__ = [
    "accuracy",
    "pca_reconstruction_mse",
    "reconstruction_mse",
    "score_cosine",
    "state_difference",
]
