"""Shared test helpers (imported by test modules; no test imports another test module)."""

from __future__ import annotations

import numpy as np

from neurotp.circuit import make_drive
from neurotp.circuit.protocol import Drive

# ---- engines: drives and circuits for the engine agreement tests (numba branch) -------------


def one_second_drive(comp, seed: int = 2) -> Drive:
    """A training drive of random inputs and labels covering at least one simulated second."""
    c = comp.circuit
    n_pres = int(np.ceil(1000.0 / (c.protocol.present + c.protocol.gap)))
    rng = np.random.default_rng(seed)
    x = rng.random((n_pres, comp.input_n))
    y = rng.integers(0, max(comp.label_n, 1), n_pres)
    return make_drive(comp, x, y, np.random.default_rng(seed + 1), train=True)


def split_drive(comp, drive: Drive, parts: int = 3, learn: tuple[bool, ...] = ()) -> list[Drive]:
    """``drive`` cut into ``parts`` consecutive drives (presentations and their noise rows);
    ``learn[i]`` (if given) switches learning of part i on or off."""
    n = drive.n_presentations
    spp = comp.steps_per_presentation
    cuts = np.linspace(0, n, parts + 1).astype(int)
    out = []
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        out.append(
            Drive(
                stim=drive.stim[a:b],
                labels=None if drive.labels is None else drive.labels[a:b],
                noise=drive.noise[a * spp : b * spp],
                clamp=drive.clamp,
                learn=learn[i] if learn else drive.learn,
            )
        )
    return out


def scaled_delays(c, factor: float):
    """Circuit ``c`` with every projection and trace delay multiplied by ``factor``."""
    for p in c.projections:
        p.delay *= factor
    for t in c.traces:
        t.delay *= factor
    return c


def max_state_difference(a, b, keys=("r", "hist", "tr", "w", "b")) -> dict[str, float]:
    """Largest absolute difference of each state array of two engines."""
    return {k: float(np.max(np.abs(getattr(a, k) - getattr(b, k)), initial=0.0)) for k in keys}
