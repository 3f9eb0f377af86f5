"""Diagnostics (accuracy, reconstruction error, update alignment, score checks).

Kept apart from model classes: metrics take arrays and return numbers.
"""

from neurotp.metrics.circuit import accuracy, pca_reconstruction_mse, reconstruction_mse

__all__ = ["accuracy", "pca_reconstruction_mse", "reconstruction_mse"]
