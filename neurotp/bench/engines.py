"""``neurotp bench engines``: steps per second of each engine on one circuit, in one run.

The circuit is :func:`neurotp.circuit.library.bench_circuit` (2 x 1000 units, two delayed
projections, traces, the prediction and reconstruction rules on). Before anything is timed
the engines' trajectories are checked equal. Reported per engine: steps/s, simulated seconds
per wall second, synapse updates/s, and, for the Numba engine, the memory traffic those
updates imply beside memory bandwidths measured in the same run (an in-place update of a
buffer the size of the weights, and a STREAM-like copy). The
Numba engine (one thread) is timed as it runs by default (float64, delay blocks: see
:func:`neurotp.engines.numba.block_plan`), with the plain step loop, and in float32
with delay blocks and with the step loop; the reference as it runs (NumPy's BLAS threads)
and with one BLAS thread. Timings go round-robin, best of ``--repeats`` each.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurotp.circuit import compile_circuit, make_drive
from neurotp.circuit.library import bench_circuit
from neurotp.metrics import state_difference


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--units", type=int, default=1000, help="units per population")
    parser.add_argument("--numba-steps", dest="numba_steps", type=int, default=500)
    parser.add_argument("--reference-steps", dest="reference_steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many timings")
    parser.add_argument(
        "--brian2",
        nargs="*",
        default=None,
        metavar="TARGET",
        help="also time Brian2 targets (e.g. cython cpp_standalone); "
        "no value = cython and cpp_standalone",
    )
    parser.add_argument("--out", default="runs/bench_engines.json", help="JSON output path")


def memory_bandwidth(n_bytes: int = 256 * 2**20, repeats: int = 5, inplace: bool = False) -> float:
    """Bytes per second (read + write counted), best of ``repeats``, of a copy of ``n_bytes``
    into another array or, ``inplace``, of an in-place update of them (``a *= 1``: each line
    read once and written back, the access pattern of a plastic weight pass; a copy also reads
    each destination line before writing it, which it does not count)."""
    a = np.ones(n_bytes // 8)
    b = np.empty_like(a)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        if inplace:
            np.multiply(a, 1.0, out=a)
        else:
            np.copyto(b, a)
        best = min(best, time.perf_counter() - t0)
    return 2 * a.nbytes / best


def _drive(comp, n_steps: int, seed: int = 0):
    spp = comp.steps_per_presentation
    n_pres = max(1, int(np.ceil(n_steps / spp)))
    x = np.random.default_rng(seed).random((n_pres, comp.input_n))
    d = make_drive(comp, x, None, np.random.default_rng(seed + 1), train=True)
    # cut to exactly n_steps by shortening the protocol is not possible; time whole presentations
    return d, n_pres * spp


def _time_once(engine_cls, comp, drive, **options) -> float:
    """Seconds of one ``run`` of a fresh engine (construction not timed)."""
    eng = engine_cls(comp, **options)
    t0 = time.perf_counter()
    eng.run(drive)
    return time.perf_counter() - t0


def run(args: argparse.Namespace) -> dict[str, Any]:
    from neurotp.engines.numba import NumbaEngine, fusable_projections
    from neurotp.engines.reference import ReferenceEngine

    circuit = bench_circuit(n=args.units)
    # one presentation = numba_steps (or reference_steps) steps
    circuit.protocol.present = float(args.numba_steps) * circuit.protocol.dt
    comp = compile_circuit(circuit)
    plastic_p = sorted({int(p) for p in comp.rules.proj})
    plastic = sum(int(comp.proj_post_n[p] * comp.proj_pre_n[p]) for p in plastic_p)
    n_syn = int(sum(comp.proj_post_n * comp.proj_pre_n))

    # 1. equal trajectories before timing (a short run on both engines)
    short = bench_circuit(n=args.units)
    short.protocol.present = 20.0
    scomp = compile_circuit(short)
    d_short, _ = _drive(scomp, 20)
    ref = ReferenceEngine(scomp)
    ref.run(d_short)
    diffs = []
    for options in ({}, {"block_steps": 1}, {"dtype": np.float32}):
        nb = NumbaEngine(scomp, **options)
        nb.run(d_short)
        diffs.append(state_difference(ref.state, nb.state))
    max_diff, diff32 = max(diffs[:2]), diffs[2]
    if max_diff > 1e-9:
        raise RuntimeError(f"bench: engines disagree by {max_diff:.3g} before timing; not timing")
    if diff32 > 1e-4:
        raise RuntimeError(f"bench: float32 run differs by {diff32:.3g} before timing; not timing")

    # 2. timings, round-robin (best of `repeats` each), so that a noisy spell hits every row
    from threadpoolctl import threadpool_info, threadpool_limits

    blas_threads = max([int(i.get("num_threads", 1)) for i in threadpool_info()] or [1])
    d_nb, n_nb = _drive(comp, args.numba_steps)
    rcirc = bench_circuit(n=args.units)
    rcirc.protocol.present = float(args.reference_steps) * rcirc.protocol.dt
    rcomp = compile_circuit(rcirc)
    d_ref, n_ref = _drive(rcomp, args.reference_steps)
    # engine -> (compiled circuit, drive, steps); then (name, engine, options, BLAS thread
    # limit, threads used) per timed variant
    setup = {ReferenceEngine: (rcomp, d_ref, n_ref), NumbaEngine: (comp, d_nb, n_nb)}
    f32 = {"dtype": np.float32}
    variants: list[tuple] = [
        ("reference", ReferenceEngine, {}, None, blas_threads),
        ("reference, 1 BLAS thread", ReferenceEngine, {}, 1, 1),
        ("numba", NumbaEngine, {}, None, 1),
        ("numba step loop", NumbaEngine, {"block_steps": 1}, None, 1),
        ("numba float32", NumbaEngine, f32, None, 1),
        ("numba float32 step loop", NumbaEngine, {**f32, "block_steps": 1}, None, 1),
    ]
    block_k = {}  # the delay blocks each numba variant runs with, by projection name
    for name, cls, opts, _, _ in variants:
        if cls is NumbaEngine:
            warm = cls(comp, **opts)
            warm.run(d_nb)  # compile / load the cache outside the timing
            block_k[name] = {comp.proj_names[p]: int(k) for p, k in enumerate(warm.block_k) if k}
    best = [np.inf] * len(variants)
    for _ in range(args.repeats):
        for i, (_, cls, opts, limit, _) in enumerate(variants):
            limits = (
                threadpool_limits(limits=limit, user_api="blas")
                if limit is not None
                else contextlib.nullcontext()
            )
            with limits:
                best[i] = min(best[i], _time_once(cls, *setup[cls][:2], **opts))
    bw = memory_bandwidth()
    # an in-place update of a buffer the size of the weights: what a weight pass can get
    bw_ws = memory_bandwidth(n_bytes=max(8 * comp.n_weights, 2**20), repeats=20, inplace=True)

    dt_s = comp.dt / 1000.0
    rows = []
    fused = bool(fusable_projections(comp).all())
    for (name, cls, opts, _, used), secs in zip(variants, best, strict=True):
        steps = setup[cls][2]
        sps = steps / secs
        row: dict[str, Any] = {
            "engine": name,
            "threads": used,
            "steps": steps,
            "seconds": secs,
            "steps_per_s": sps,
            "simulated_s_per_wall_s": sps * dt_s,
            "synapse_updates_per_s": sps * plastic,
        }
        if cls is NumbaEngine:
            row["block_steps"] = ks = block_k[name]
            # a fused plastic projection reads and writes each weight once per step, a delay
            # block once per K steps
            size = np.dtype(opts.get("dtype", np.float64)).itemsize
            per_weight = 2 * size if fused else 3 * size
            per_step = sum(
                per_weight
                * int(comp.proj_pre_n[p] * comp.proj_post_n[p])
                / ks.get(comp.proj_names[p], 1)
                for p in plastic_p
            )
            row["implied_weight_traffic_bytes_per_s"] = sps * per_step
            row["fraction_of_measured_bandwidth"] = (
                row["implied_weight_traffic_bytes_per_s"] / bw_ws
            )
        rows.append(row)
    by = {r["engine"]: r for r in rows}

    def ratio(a: str, b: str) -> float | None:
        return by[a]["steps_per_s"] / by[b]["steps_per_s"] if a in by and b in by else None

    result: dict[str, Any] = {
        "circuit": f"bench_circuit(n={args.units}): 2 x {args.units} units, "
        f"{n_syn} synapses ({plastic} plastic), delays 2 and 3 ms, traces, "
        "prediction + reconstruction rules on",
        "dt_ms": comp.dt,
        "max_abs_difference_before_timing": max_diff,
        "float32_max_abs_difference_before_timing": diff32,
        "memory_bandwidth_bytes_per_s": bw,
        "working_set_update_bytes_per_s": bw_ws,
        "weights_bytes": 8 * comp.n_weights,
        "rows": rows,
        "delay_block_steps": block_k["numba"],
        "reference_blas_threads": blas_threads,
        # numba (default: one thread, delay blocks) against the reference as it runs by default
        "numba_over_reference": ratio("numba", "reference"),
        "numba_step_loop_over_reference": ratio("numba step loop", "reference"),
        "numba_float32_over_reference": ratio("numba float32", "reference"),
        "numba_float32_step_loop_over_reference": ratio("numba float32 step loop", "reference"),
        # the same number of threads on both sides
        "numba_1_thread_over_reference_1_thread": ratio("numba", "reference, 1 BLAS thread"),
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
    }
    if args.brian2 is not None:
        targets = tuple(args.brian2) or ("cython", "cpp_standalone")
        try:
            from neurotp.bench.brian2_bench import bench_brian2
        except ImportError as exc:
            result["brian2_error"] = f"{exc}; install with pip install 'neurotp[brian2]'"
        else:
            b2 = bench_brian2(
                bench_circuit(n=args.units), sim_ms=200.0, targets=targets, repeats=args.repeats
            )
            result["brian2"] = b2
            fastest = [r for r in b2 if r.get("steps_per_s")]
            if fastest:
                best = max(r["steps_per_s"] for r in fastest)
                result["numba_over_fastest_brian2"] = by["numba"]["steps_per_s"] / best
    return result


def format_table(result: dict[str, Any]) -> str:
    w = 28
    lines = [
        result["circuit"],
        "",
        f"{'engine':<{w}}{'threads':>8}{'steps/s':>12}{'sim s / wall s':>16}"
        f"{'synapse updates/s':>20}",
    ]
    for r in result["rows"]:
        lines.append(
            f"{r['engine']:<{w}}{r['threads']:>8}{r['steps_per_s']:>12.1f}"
            f"{r['simulated_s_per_wall_s']:>16.3f}{r['synapse_updates_per_s']:>20.3e}"
        )
    for r in result.get("brian2", []):
        if r.get("steps_per_s"):
            lines.append(
                f"{'brian2 ' + r['target']:<{w}}{1:>8}{r['steps_per_s']:>12.1f}"
                f"{r['steps_per_s'] * result['dt_ms'] / 1000:>16.3f}"
                f"{r.get('synapse_updates_per_s', float('nan')):>20.3e}"
            )
    nb = next(r for r in result["rows"] if r["engine"] == "numba")

    def x(key: str) -> str:
        v = result.get(key)
        return f"{v:.1f}x" if v is not None else "-"

    lines += [
        "",
        "numba / reference (as each runs by default: numba float64, 1 thread, delay blocks of "
        + ", ".join(f"{k} steps on {p}" for p, k in result["delay_block_steps"].items())
        + f"; reference {result['reference_blas_threads']} BLAS threads): "
        + x("numba_over_reference"),
        f"numba / reference, 1 thread each: {x('numba_1_thread_over_reference_1_thread')}",
        f"numba step loop / reference: {x('numba_step_loop_over_reference')}",
        "numba float32 (default: delay blocks) / reference (float64): "
        + x("numba_float32_over_reference")
        + f"; float32 step loop: {x('numba_float32_step_loop_over_reference')}",
        f"trajectories equal to {result['max_abs_difference_before_timing']:.1e} before timing "
        f"(float32: {result['float32_max_abs_difference_before_timing']:.1e})",
        "memory bandwidth measured now (read + write counted): in-place update of a buffer "
        f"the size of the weights ({result['weights_bytes'] / 2**20:.0f} MiB) "
        f"{result['working_set_update_bytes_per_s'] / 1e9:.2f} GB/s, copy of 256 MiB "
        f"{result['memory_bandwidth_bytes_per_s'] / 1e9:.2f} GB/s; numba's weight traffic: "
        f"{nb['implied_weight_traffic_bytes_per_s'] / 1e9:.2f} GB/s "
        f"({100 * nb['fraction_of_measured_bandwidth']:.0f} % of the in-place update)",
    ]
    if "numba_over_fastest_brian2" in result:
        lines.append(
            f"numba (1 thread) / fastest brian2 target: {result['numba_over_fastest_brian2']:.1f}x"
        )
    if "brian2_error" in result:
        lines.append(f"brian2 not timed: {result['brian2_error']}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    result = run(args)
    print(format_table(result))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
        print(f"saved {args.out}")
    return 0
