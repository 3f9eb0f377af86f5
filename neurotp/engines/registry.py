"""The one list of engines: what the CLI offers, what :func:`get_engine` builds, what the docs
describe (a test checks ``docs/engines.md`` against it).

Each entry names the engine, where its class lives (imported only when asked for, so
``neurotp --help`` stays fast and an optional extra stays optional), what it is for, the pip
extra it needs, the dtypes it runs and whether it runs spiking populations.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EngineInfo:
    name: str
    module: str
    cls: str
    summary: str
    extra: str | None = None
    requires: str | None = None  # the top-level module the extra installs
    dtypes: tuple[str, ...] = ("float64",)
    spiking: bool = False


ENGINES: dict[str, EngineInfo] = {
    e.name: e
    for e in (
        EngineInfo(
            "reference",
            "neurotp.engines.reference",
            "ReferenceEngine",
            "plain NumPy, one step at a time: the ground truth in tests",
        ),
        EngineInfo(
            "numba",
            "neurotp.engines.numba",
            "NumbaEngine",
            "compiled step loop and delay blocks: the fast default",
            dtypes=("float64", "float32"),
        ),
        EngineInfo(
            "brian2",
            "neurotp.engines.brian2",
            "Brian2Engine",
            "Brian2 code generation (numpy, cython, cpp_standalone): rate and spiking modes",
            extra="brian2",
            requires="brian2",
            spiking=True,
        ),
    )
}
BACKENDS: tuple[str, ...] = tuple(ENGINES)
DEFAULT_BACKEND = "numba"


def get_engine(name: str) -> type[Any]:
    """Engine class for ``name``; ``ValueError`` naming the allowed backends, ``ImportError``
    saying which extra to install."""
    info = ENGINES.get(name)
    if info is None:
        raise ValueError(f"backend: unknown engine {name!r}; allowed: {', '.join(BACKENDS)}")
    try:
        module = importlib.import_module(info.module)
    except ImportError as exc:
        if info.extra is None:
            raise
        raise ImportError(
            f"backend {name!r} needs the optional extra: pip install 'neurotp[{info.extra}]'"
        ) from exc
    return getattr(module, info.cls)


# The engines that run protocol.batch > 1 (B copies sharing weights, neurotp.engines.batching)
BATCHED: dict[str, tuple[str, str]] = {
    "reference": ("neurotp.engines.batched_reference", "BatchedReferenceEngine"),
    "numba": ("neurotp.engines.numba.batched", "BatchedNumbaEngine"),
}


def get_batched_engine(name: str) -> type[Any]:
    """Batched engine class for backend ``name``; ``ValueError`` naming those that batch."""
    if name not in BATCHED:
        raise ValueError(
            f"protocol.batch: backend {name!r} runs one copy only; allowed: protocol.batch 1, "
            f"or --backend {' or '.join(BATCHED)}"
        )
    module, cls = BATCHED[name]
    return getattr(importlib.import_module(module), cls)


def backend_help() -> str:
    """One line per engine, for ``--backend`` help texts."""
    return "; ".join(f"{e.name}: {e.summary}" for e in ENGINES.values())
