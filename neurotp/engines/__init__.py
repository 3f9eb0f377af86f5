"""Engines that run a circuit description: ``reference`` (NumPy), ``numba`` (fast default),
``brian2`` (rate and spiking, optional extra)."""

from __future__ import annotations

from typing import Any

from neurotp.engines.base import DivergenceError, Engine, RunResult

BACKENDS: tuple[str, ...] = ("reference", "numba", "brian2")


def get_engine(name: str) -> type[Any]:
    """Engine class for ``name``; raise ``ValueError`` naming the allowed backends."""
    if name == "reference":
        from neurotp.engines.reference import ReferenceEngine

        return ReferenceEngine
    if name == "numba":
        from neurotp.engines.numba import NumbaEngine

        return NumbaEngine
    if name == "brian2":
        try:
            from neurotp.engines.brian2 import Brian2Engine
        except ImportError as exc:  # brian2 is an optional extra
            raise ImportError(
                "backend 'brian2' needs the optional extra: pip install 'neurotp[brian2]'"
            ) from exc
        return Brian2Engine
    raise ValueError(f"backend: unknown engine {name!r}; allowed: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "RunResult", "DivergenceError", "Engine", "get_engine"]
