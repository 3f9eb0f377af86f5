"""Brian2 targets on the benchmark circuit: build, compile and loop time apart.

``neurotp bench engines --brian2`` calls :func:`bench_brian2` and prints its rows beside the
Numba numbers. Before anything is timed, each target's trajectory (rates, ring buffer,
traces, weights, biases after ``sim_ms``) is checked against the Numba engine's to 1e-6; a
target that disagrees or fails to build is reported with its error and not timed.

Per target, best of ``repeats``: ``build_s`` (creating the Brian2 objects; for
``cpp_standalone`` also generating the C++ project), ``compile_s`` (Cython compilation or
cache load in ``before_run``; the C++ compiler for standalone — the first, cold compile is
reported apart as ``compile_first_s``), ``loop_s`` (the simulation loop only, as Brian2
measures it), and steps/s and synapse updates/s from the loop time.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from neurotp.circuit import Circuit, compile_circuit, make_drive
from neurotp.circuit.library import bench_circuit
from neurotp.engines.numba import NumbaEngine
from neurotp.metrics import state_difference

TOLERANCE = 1e-6


def _drive(comp, sim_ms: float, seed: int = 0):
    per = comp.steps_per_presentation * comp.dt
    n_pres = max(1, int(round(sim_ms / per)))
    x = np.random.default_rng(seed).random((n_pres, comp.input_n))
    y = np.random.default_rng(seed).integers(0, max(comp.label_n, 1), n_pres)
    drive = make_drive(
        comp, x, y if comp.label_n else None, np.random.default_rng(seed + 1), train=True
    )
    return drive, n_pres * comp.steps_per_presentation


def bench_brian2(
    circuit: Circuit | None = None,
    sim_ms: float = 200.0,
    targets: tuple[str, ...] = ("cython", "cpp_standalone"),
    repeats: int = 3,
) -> list[dict[str, Any]]:
    """Time the Brian2 rate engine on ``circuit`` (default :func:`bench_circuit`) per target.

    Returns one dict per target: ``target``, ``steps``, ``sim_ms``, ``max_abs_difference``
    (vs Numba, checked before timing), ``build_s``, ``compile_first_s``, ``compile_s``,
    ``loop_s``, ``steps_per_s``, ``synapse_updates_per_s`` (plastic synapses x steps / loop
    second, the definition ``neurotp bench engines`` uses), ``synapses``; or ``target`` and
    ``error`` when the target could not run or disagreed.
    """
    from neurotp.engines.brian2 import TARGETS, Brian2Engine

    if repeats < 1:
        raise ValueError(f"repeats: {repeats} must be >= 1")
    if sim_ms <= 0:
        raise ValueError(f"sim_ms: {sim_ms} must be > 0")
    for t in targets:
        if t not in TARGETS:
            raise ValueError(f"targets: unknown Brian2 target {t!r}; allowed: {', '.join(TARGETS)}")
    circuit = circuit if circuit is not None else bench_circuit()
    comp = compile_circuit(circuit)
    drive, steps = _drive(comp, sim_ms)
    nb = NumbaEngine(comp)
    nb.run(drive)
    n_syn = int(np.sum(comp.proj_post_n * comp.proj_pre_n))
    ruled = {int(p) for p in comp.rules.proj}
    plastic = int(sum(comp.proj_post_n[p] * comp.proj_pre_n[p] for p in ruled))
    rows: list[dict[str, Any]] = []
    for target in targets:
        row: dict[str, Any] = {"target": target, "steps": steps, "sim_ms": steps * comp.dt}
        try:
            eng = Brian2Engine(comp, target=target)
            eng.run(drive)
            diff = state_difference(eng.state, nb.state)
            row["max_abs_difference"] = diff
            row["compile_first_s"] = eng.timings["compile"]
            if diff > TOLERANCE or eng.state.t != nb.state.t:
                row["error"] = (
                    f"trajectory differs from numba by {diff:.3g} (> {TOLERANCE}); not timed"
                )
                rows.append(row)
                continue
            best = {"build": np.inf, "compile": np.inf, "loop": np.inf}
            for _ in range(repeats):
                eng = Brian2Engine(comp, target=target)
                eng.run(drive)
                for key in best:
                    best[key] = min(best[key], eng.timings[key])
        except Exception as exc:  # a target that cannot build is reported, not fatal
            row["error"] = f"{type(exc).__name__}: {exc}"
            rows.append(row)
            continue
        row.update(
            build_s=best["build"],
            compile_s=best["compile"],
            loop_s=best["loop"],
            steps_per_s=steps / best["loop"],
            synapse_updates_per_s=steps * plastic / best["loop"],
            synapses=n_syn,
            plastic_synapses=plastic,
        )
        rows.append(row)
    return rows


def profile_delay_line(n: int = 1000, steps: int = 30) -> dict[str, float]:
    """Share of the delay line in a Brian2 (numpy target) step of ``bench_circuit(n)``, and
    the cost of the alternative, a ring buffer written by a Python ``network_operation``.

    Returns seconds: ``total`` (all code objects), ``delay_line`` (``dl_shift`` +
    ``dl_write``), ``network_operation_per_step``, and the ``delay_line_fraction``.
    """
    import brian2 as b2

    from neurotp.engines.brian2.rate import build_rate_network

    b2.prefs.codegen.target = "numpy"
    circ = bench_circuit(n=n)
    circ.protocol.present = float(steps) * circ.protocol.dt
    comp = compile_circuit(circ)
    drive, _ = _drive(comp, steps * comp.dt)
    b2.start_scope()
    rn = build_rate_network(comp, comp.initial_state(), drive)
    rn.net.run(rn.duration(), namespace=rn.namespace, profile=True)
    info = [(name, float(sec)) for name, sec in rn.net.profiling_info]
    total = sum(sec for _, sec in info)
    dl = sum(sec for name, sec in info if "_dl_" in name)
    hist = np.zeros((comp.hist_len, comp.n_units))
    r = np.random.default_rng(0).random(comp.n_units)
    k = [0]

    def ring() -> None:
        hist[k[0] % comp.hist_len] = r
        k[0] += 1

    b2.start_scope()
    n_op = 2000
    net = b2.Network(b2.NetworkOperation(ring, dt=comp.dt * b2.ms))
    t0 = time.perf_counter()
    net.run(n_op * comp.dt * b2.ms)
    per_op = (time.perf_counter() - t0) / n_op
    return {
        "steps": float(steps),
        "total": total,
        "delay_line": dl,
        "delay_line_fraction": dl / total,
        "delay_line_per_step": dl / steps,
        "network_operation_per_step": per_op,
    }


def main() -> None:  # pragma: no cover - convenience entry point
    import json
    import sys

    targets = tuple(sys.argv[1:]) or ("cython", "cpp_standalone")
    t0 = time.perf_counter()
    rows = bench_brian2(bench_circuit(), sim_ms=200.0, targets=targets)
    print(json.dumps(rows, indent=2))
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":  # pragma: no cover
    main()
