"""Memory a circuit's run needs, estimated before anything is allocated.

:func:`compile_circuit` calls :func:`check_memory` first, so that a circuit too large for the
machine (4 x 10^7 units want petabytes of weights) is refused with the estimate and what is
available, instead of failing somewhere inside NumPy. NumPy and the standard library only.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from neurotp.circuit.spec import Circuit
from neurotp.circuit.validate import CircuitError, delay_steps

MEMINFO = Path("/proc/meminfo")

# NumPy dtype of each per-unit index table of :class:`~neurotp.circuit.compiled.Compiled`
# (activation code, population, dt/tau, noise sigma): 8 bytes each.
_UNIT_TABLE_BYTES = 4 * 8


class CircuitMemoryError(CircuitError, MemoryError):
    """The circuit's state would not fit in the memory available."""


def estimate_bytes(c: Circuit, dtype: type | str = np.float64) -> dict[str, int]:
    """Bytes of each array a run of the (validated) circuit ``c`` holds, state in ``dtype``.

    The state (rates, the ``L x N`` ring buffer of past rates, traces, weights, biases), the
    per-unit index tables, and one presentation's noise draws (float64). Python ints
    throughout: nothing here overflows or allocates, however large the circuit.
    """
    item = np.dtype(dtype).itemsize
    dt = c.protocol.dt
    sizes = {p.name: int(p.size) for p in c.groups()}
    n = sum(sizes.values())
    n_weights = sum(sizes[p.pre] * sizes[p.post] for p in c.projections if p.tie is None)
    delays = [delay_steps(p.delay, dt, f"projections ({p.name}).delay") for p in c.projections]
    delays += [delay_steps(t.delay, dt, f"traces ({t.name}).delay") for t in c.traces]
    hist_len = max([0, *delays]) + 1
    n_traces = sum(sizes[t.population] for t in c.traces)
    n_noisy = sum(p.size for p in c.groups() if p.noise > 0)
    steps = delay_steps(c.protocol.present, dt, "protocol.present") + delay_steps(
        c.protocol.gap, dt, "protocol.gap"
    )
    return {
        "weights": n_weights * item,
        f"ring buffer ({hist_len} x {n})": hist_len * n * item,
        "rates": n * item,
        "biases": n * item,
        "traces": n_traces * item,
        "unit tables": n * _UNIT_TABLE_BYTES,
        "noise of one presentation": steps * n_noisy * 8,
    }


def available_bytes() -> int | None:
    """Memory available to a new allocation: ``MemAvailable`` of /proc/meminfo where present,
    else physical memory (``os.sysconf``), else None (unknown: no check)."""
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def format_bytes(n: int) -> str:
    """``n`` bytes in binary units: 512 B, 1.5 KiB, ..., 2.0 PiB (and beyond, in EiB)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024:
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} EiB"


def check_memory(c: Circuit, dtype: type | str = np.float32, available: int | None = None) -> int:
    """Refuse (:class:`CircuitMemoryError`) a circuit whose state cannot fit; return the
    estimate in bytes.

    ``dtype`` defaults to float32, the smallest state any engine keeps, so that only circuits
    that cannot run at all are refused here; ``available`` defaults to
    :func:`available_bytes` (no check when unknown).
    """
    parts = estimate_bytes(c, dtype)
    total = sum(parts.values())
    avail = available_bytes() if available is None else available
    if avail is not None and total > avail:
        largest = sorted(parts.items(), key=lambda kv: -kv[1])[:3]
        detail = ", ".join(f"{k} {format_bytes(v)}" for k, v in largest if v)
        n = sum(p.size for p in c.groups())
        raise CircuitMemoryError(
            f"circuit {c.name!r}: {n} units need about {format_bytes(total)} of memory "
            f"({np.dtype(dtype).name} state; {detail}), but only {format_bytes(avail)} is "
            "available; allowed: populations, delays and presentations small enough to fit "
            "(the weights grow with pre x post size, the ring buffer with the longest delay)"
        )
    return total
