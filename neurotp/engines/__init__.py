"""Engines that run a circuit description; the list is :mod:`neurotp.engines.registry`
(``reference`` NumPy, ``numba`` the fast default, ``brian2`` rate and spiking, optional)."""

from __future__ import annotations

from neurotp.engines.base import DivergenceError, Engine, RunResult
from neurotp.engines.registry import BACKENDS, DEFAULT_BACKEND, ENGINES, get_engine

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "ENGINES",
    "DivergenceError",
    "Engine",
    "RunResult",
    "get_engine",
]
