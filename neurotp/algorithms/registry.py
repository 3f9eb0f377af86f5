"""Name -> class table of the supervised algorithms behind ``neurotp train --algorithm``.

Entries are ``"module:Class"`` strings imported on first use, so importing the registry does
not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_ENTRIES: dict[str, str] = {
    "bp": "neurotp.algorithms.bp:Backprop",
    "fa": "neurotp.algorithms.fa:FeedbackAlignment",
    "tp": "neurotp.algorithms.tp:TargetProp",
    "dtp": "neurotp.algorithms.dtp:DifferenceTargetProp",
    "alg5": "neurotp.algorithms.supervised_tp:SupervisedTargetProp",
}

ALGORITHM_NAMES: tuple[str, ...] = tuple(_ENTRIES)


def get_algorithm(name: str) -> type[Any]:
    """Return the algorithm class registered under ``name``.

    Raises ``ValueError`` naming the allowed values for an unknown name.
    """
    try:
        target = _ENTRIES[name]
    except KeyError:
        allowed = ", ".join(ALGORITHM_NAMES)
        raise ValueError(f"algorithm: unknown name {name!r}; allowed: {allowed}") from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)
