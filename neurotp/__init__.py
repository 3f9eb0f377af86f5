"""neurotp: biologically plausible credit assignment by target propagation (Bengio 2014).

Public API (engines and the torch baselines are imported on first use):

- circuits: :class:`Circuit`, :class:`Population`, :class:`Projection`, :class:`Trace`,
  :class:`Rule`, :class:`TargetTerm`, :class:`Protocol`, :class:`WeightInit`,
  :class:`Spiking`,
  :func:`load_circuit`, :func:`save_circuit`, :func:`compile_circuit`, :func:`validate`
- running: :class:`Simulation`, :func:`get_engine`, :data:`BACKENDS`, :class:`DivergenceError`
- data: :func:`load_dataset`, :class:`Dataset`
- baselines: :func:`get_algorithm`, :data:`ALGORITHM_NAMES` (need the ``torch`` extra to build)
"""

from __future__ import annotations

from typing import Any

from neurotp.circuit import (
    Circuit,
    CircuitError,
    CircuitFormatError,
    Population,
    Projection,
    Protocol,
    Rule,
    Spiking,
    TargetTerm,
    Trace,
    WeightInit,
    compile_circuit,
    load_circuit,
    save_circuit,
    validate,
)

__version__ = "0.1.0"

_LAZY = {
    "Simulation": ("neurotp.simulation", "Simulation"),
    "get_engine": ("neurotp.engines", "get_engine"),
    "BACKENDS": ("neurotp.engines", "BACKENDS"),
    "DivergenceError": ("neurotp.engines", "DivergenceError"),
    "load_dataset": ("neurotp.data", "load_dataset"),
    "Dataset": ("neurotp.data", "Dataset"),
    "get_algorithm": ("neurotp.algorithms", "get_algorithm"),
    "ALGORITHM_NAMES": ("neurotp.algorithms", "ALGORITHM_NAMES"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'neurotp' has no attribute {name!r}")


__all__ = [
    "ALGORITHM_NAMES",
    "BACKENDS",
    "Circuit",
    "CircuitError",
    "CircuitFormatError",
    "Dataset",
    "DivergenceError",
    "Population",
    "Projection",
    "Protocol",
    "Rule",
    "Simulation",
    "Spiking",
    "TargetTerm",
    "Trace",
    "WeightInit",
    "compile_circuit",
    "get_algorithm",
    "get_engine",
    "load_circuit",
    "load_dataset",
    "save_circuit",
    "validate",
]
