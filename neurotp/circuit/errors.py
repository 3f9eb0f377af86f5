"""The error the circuit layer raises for a circuit that cannot run."""

from __future__ import annotations


class CircuitError(ValueError):
    """The circuit is well-formed data but describes something that cannot run."""
