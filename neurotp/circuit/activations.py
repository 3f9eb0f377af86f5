"""Rate activations φ, by name, as plain NumPy functions.

Engines translate the names themselves (Numba uses integer codes, Brian2 expressions); this
table is the definition they are tested against.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Integer codes used by compiled engines; the order is part of the engine ABI.
ACTIVATION_CODES: dict[str, int] = {
    "linear": 0,
    "tanh": 1,
    "sigmoid": 2,
    "relu": 3,
    "sign": 4,
    "step": 5,
}
ACTIVATIONS: tuple[str, ...] = tuple(ACTIVATION_CODES)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _sign(x: np.ndarray) -> np.ndarray:
    # sign(0) = +1, so that a discrete unit always emits one of two values.
    return np.where(x >= 0.0, 1.0, -1.0).astype(np.result_type(x, np.float32))


def _step(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0.0, 1.0, 0.0).astype(np.result_type(x, np.float32))


_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "sign": _sign,
    "step": _step,
}


#: φ′ as a function of the rate p = φ(u), for the activations that have one (a rule's
#: ``post_slope``); codes as :data:`ACTIVATION_CODES`.
SLOPES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda p: np.ones_like(p),
    "tanh": lambda p: 1.0 - p * p,
    "sigmoid": lambda p: p * (1.0 - p),
    "relu": lambda p: (p > 0.0).astype(np.result_type(p, np.float32)),
}


def activation(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """Return φ for ``name``; raise ``ValueError`` naming the allowed activations."""
    try:
        return _FUNCTIONS[name]
    except KeyError:
        raise ValueError(
            f"activation: unknown name {name!r}; allowed: {', '.join(ACTIVATIONS)}"
        ) from None
