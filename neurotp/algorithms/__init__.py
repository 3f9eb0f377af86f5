"""Algorithmic baselines on a PyTorch tensor backend (CUDA when present, CPU otherwise).

Every supervised algorithm implements :class:`neurotp.algorithms.base.Algorithm` and is
registered by name in :mod:`neurotp.algorithms.registry`; use :func:`get_algorithm` to build one.
"""

from neurotp.algorithms.registry import ALGORITHM_NAMES, get_algorithm

__all__ = ["ALGORITHM_NAMES", "get_algorithm"]
