"""``neurotp bench circuits``: training samples per second of a circuit (``fmnist_tp.yaml``)
at several batch sizes and thread counts, beside BP on the same network and a GEMM peak, all
measured in one run.

For every thread count T (``--threads``) and batch B (``--batches``), the circuit trains
(plasticity on, labels clamped, as in an epoch of ``neurotp run``: drives built by
:meth:`neurotp.simulation.Simulation.present`) on the same ``--samples`` training samples;
the best of ``--repeats`` timings is kept, after one untimed warm-up drive (compilation).
B = 1 is the plain Numba engine (one thread: its row is repeated for every T). Beside it, in
the same run and with the same T: BP (the torch baseline, ``neurotp.algorithms``, mini-batch
``--bp-batch``) on the circuit's feedforward network, and the FLOP/s of a square GEMM
(``--gemm-size``, NumPy's BLAS limited to T threads). ``--dtype`` (default float64, the
engines' default) is the circuit's state, the GEMM's and BP's: the ratios compare the same
arithmetic. BP is also timed in float32 (torch's default, what a PyTorch user runs), beside.
The batched step's FLOP/s counts the products the batched engine did
(``BatchedNumbaEngine.product_flops``: a diagonal wiring it computes element-wise and a held
input current, :mod:`neurotp.engines.numba.batched_plan`, count nothing; B = 1 does every
product, :func:`~neurotp.engines.numba.batched_plan.presentation_flops`) over the whole
training time, element-wise work included.

The JSON's top level holds, for scripts: ``epoch_seconds_best`` (the circuit's training set,
``protocol.n_train`` minus the validation split, over the best samples/s: training only,
no evaluation), ``cost_ratio_to_bp`` (circuit seconds per sample at the best setting over BP's
with the same T and dtype; ``cost_ratio_to_bp_float32`` over BP's in float32),
``batch_speedup_32`` (samples/s at B = 32 over B = 1, best T) and
``gemm_fraction_128`` (the batched step's FLOP/s at B = 128 over the GEMM peak, same T, best
T). A key is null when its measurement was not asked for (e.g. ``--quick``).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_CIRCUIT = Path(__file__).resolve().parents[2] / "circuits" / "fmnist_tp.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``neurotp bench circuits``."""
    parser.add_argument(
        "--circuit", default=str(DEFAULT_CIRCUIT), help="circuit YAML (default fmnist_tp.yaml)"
    )
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--samples", type=int, default=2048, help="training samples per timing")
    parser.add_argument("--repeats", type=int, default=3, help="timings per setting (best kept)")
    parser.add_argument("--bp-batch", dest="bp_batch", type=int, default=128)
    parser.add_argument("--gemm-size", dest="gemm_size", type=int, default=1024)
    parser.add_argument(
        "--dtype",
        default="float64",
        choices=["float64", "float32"],
        help="the circuit's, the GEMM peak's and BP's arithmetic (BP is also timed in float32)",
    )
    parser.add_argument(
        "--data",
        default="circuit",
        choices=["circuit", "synthetic"],
        help="the circuit's protocol.dataset, or uniform random inputs and labels",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few seconds: B 1 and 4, 1 thread, 64 samples, 1 repeat, GEMM 128 (tests)",
    )
    parser.add_argument("--out", default=None, help="write the results as JSON here")


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    if args.quick:
        return {
            "batches": [1, 4],
            "threads": [1],
            "samples": 64,
            "repeats": 1,
            "gemm_size": 128,
        }
    for key in ("samples", "repeats", "bp_batch", "gemm_size"):
        if getattr(args, key) < 1:
            raise ValueError(f"--{key.replace('_', '-')}: {getattr(args, key)} must be >= 1")
    for key in ("batches", "threads"):
        if min(getattr(args, key)) < 1:
            raise ValueError(f"--{key}: {getattr(args, key)}; allowed: whole numbers >= 1")
    return {
        "batches": sorted(set(args.batches)),
        "threads": sorted(set(args.threads)),
        "samples": args.samples,
        "repeats": args.repeats,
        "gemm_size": args.gemm_size,
    }


def _data(circuit, kind: str, n: int):
    """(x, y, epoch size) for the timings: the first n training samples."""
    p = circuit.protocol
    if kind == "synthetic":
        rng = np.random.default_rng(0)
        n_in = circuit.population(p.input).size
        n_cls = circuit.population(p.label).size if p.label else 10
        x = rng.uniform(0, 1, (n, n_in)).astype(np.float32)
        return x, rng.integers(0, n_cls, n), p.n_train or 60000
    from neurotp.data import load_dataset

    d = load_dataset(p.dataset, n_train=p.n_train, validation=p.validation)
    if len(d.x_train) < n:
        raise ValueError(f"--samples: {n} > the {len(d.x_train)} training samples of {p.dataset}")
    return d.x_train[:n], d.y_train[:n], len(d.x_train)


def gemm_peak(size: int, threads: int, repeats: int = 3, dtype: str = "float64") -> float:
    """FLOP/s of the best of ``repeats`` (size × size) products in ``dtype`` on ``threads``."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    best = np.inf
    with threadpool_limits(limits=threads, user_api="blas"):
        a @ b  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t0)
    return 2.0 * size**3 / best


def circuit_rate(
    circuit, x, y, batch: int, threads: int, repeats: int, dtype: str = "float64"
) -> dict[str, Any]:
    """Training samples/s of ``circuit`` at ``batch`` on ``threads`` (best of ``repeats``),
    state in ``dtype``."""
    import copy

    from neurotp.data.datasets import Dataset
    from neurotp.engines.numba.batched_plan import presentation_flops
    from neurotp.simulation import Simulation

    c = copy.deepcopy(circuit)
    c.protocol.batch = batch
    data = Dataset("bench", x, y, x[:1], y[:1], 10, (1, 1))
    opts = {"threads": threads} if batch > 1 else {}
    best = np.inf
    for i in range(repeats + 1):
        sim = Simulation(c, backend="numba", dtype=dtype, data=data, engine_options=opts)
        warm = x[: sim.drive_size] if i == 0 else x
        t0 = time.perf_counter()
        sim.present(warm, y[: len(warm)], train=True)
        if i > 0:  # the first pass compiles (or loads) the kernels
            best = min(best, time.perf_counter() - t0)
    if batch > 1:  # the products the batched engine did (it counts them) in the last pass
        flops = sim.engine.product_flops
    else:  # the plain engine does every product of every step
        flops = presentation_flops(sim.comp, 1) * len(x)
    return {
        "batch": batch,
        "threads": threads if batch > 1 else 1,
        "threads_asked": threads,
        "seconds": best,
        "samples_per_s": len(x) / best,
        "gemm_flops_per_s": flops / best,
    }


def bp_rate(
    circuit, x, y, threads: int, batch: int, repeats: int, dtype: str = "float32"
) -> dict[str, Any] | None:
    """BP's training samples/s on the circuit's feedforward sizes (torch, ``threads``,
    ``dtype``)."""
    try:
        import torch

        from neurotp.algorithms.registry import get_algorithm
    except ImportError:
        return None
    sizes = _forward_sizes(circuit)
    torch.set_num_threads(threads)
    xt, yt = torch.from_numpy(np.asarray(x, dtype)), torch.from_numpy(np.asarray(y))
    tdt = getattr(torch, dtype)
    alg = get_algorithm("bp")(sizes, "tanh", device=torch.device("cpu"), seed=0, dtype=tdt)
    best = np.inf
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        for s in range(0, len(xt), batch):
            alg.train_batch(xt[s : s + batch], yt[s : s + batch])
        if i > 0:
            best = min(best, time.perf_counter() - t0)
    return {
        "threads": threads,
        "dtype": dtype,
        "sizes": sizes,
        "seconds": best,
        "samples_per_s": len(x) / best,
    }


def _forward_sizes(circuit) -> list[int]:
    """Sizes along the shortest projection path from the input to the readout population
    (784-64-10 for fmnist_tp): the feedforward network BP is timed on."""
    p = circuit.protocol
    prev: dict[str, str | None] = {p.input: None}
    frontier = [p.input]
    while frontier and p.readout not in prev:
        nxt = []
        for node in frontier:
            for pr in circuit.projections:
                if pr.pre == node and pr.post not in prev:
                    prev[pr.post] = node
                    nxt.append(pr.post)
        frontier = nxt
    if p.readout not in prev:
        raise ValueError(
            f"circuit {circuit.name!r}: no projection path from the input to the readout"
        )
    path = [p.readout]
    while prev[path[-1]] is not None:
        path.append(prev[path[-1]])
    return [circuit.population(name).size for name in reversed(path)]


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement; the dict :func:`main` prints and saves."""
    from neurotp.circuit import load_circuit

    st = _settings(args)
    circuit = load_circuit(args.circuit, check_data=args.data == "circuit")
    x, y, epoch_n = _data(circuit, args.data, st["samples"])
    dtype = args.dtype
    rows, bp, bp32, peaks = [], {}, {}, {}
    for threads in st["threads"]:
        peaks[threads] = gemm_peak(st["gemm_size"], threads, dtype=dtype)
        for batch in st["batches"]:
            row = circuit_rate(circuit, x, y, batch, threads, st["repeats"], dtype)
            row["gemm_fraction"] = row["gemm_flops_per_s"] / peaks[threads]
            rows.append(row)
        bp[threads] = bp_rate(circuit, x, y, threads, args.bp_batch, st["repeats"], dtype)
        bp32[threads] = (
            bp[threads]
            if dtype == "float32"
            else bp_rate(circuit, x, y, threads, args.bp_batch, st["repeats"], "float32")
        )
    best = max(rows, key=lambda r: r["samples_per_s"])

    def at(batch: int) -> list[dict[str, Any]]:
        return [r for r in rows if r["batch"] == batch]

    speedup = None
    if at(1) and at(32):
        speedup = max(r["samples_per_s"] for r in at(32)) / at(1)[0]["samples_per_s"]
    fraction = max((r["gemm_fraction"] for r in at(128)), default=None)

    def ratio_to(rates: dict[int, Any]) -> float | None:
        b = rates.get(best["threads_asked"])
        return None if b is None else b["samples_per_s"] / best["samples_per_s"]

    return {
        "circuit": circuit.name,
        "data": args.data if args.data == "synthetic" else circuit.protocol.dataset,
        "samples": st["samples"],
        "repeats": st["repeats"],
        "epoch_samples": epoch_n,
        "machine": platform.processor() or platform.machine(),
        "epoch_seconds_best": epoch_n / best["samples_per_s"],
        "cost_ratio_to_bp": ratio_to(bp),
        "cost_ratio_to_bp_float32": ratio_to(bp32),
        "dtype": dtype,
        "batch_speedup_32": speedup,
        "gemm_fraction_128": fraction,
        "best": {"batch": best["batch"], "threads": best["threads_asked"]},
        "gemm_size": st["gemm_size"],
        "gemm_peak_flops_per_s": {str(t): v for t, v in peaks.items()},
        "bp": {str(t): v for t, v in bp.items()},
        "bp_float32": {str(t): v for t, v in bp32.items()},
        "bp_batch": args.bp_batch,
        "results": rows,
    }


def format_table(result: dict[str, Any]) -> str:
    """Plain-text table: samples/s and GEMM fraction per setting, BP and the peak."""
    lines = [
        f"{result['circuit']} on {result['data']}: training in {result['dtype']}, "
        f"{result['samples']} samples per timing, best of {result['repeats']}",
        f"{'B':>5s} {'threads':>7s} {'samples/s':>10s} {'s/epoch':>8s} {'GFLOP/s':>8s}"
        f" {'of peak':>8s} {'x BP':>6s}",
    ]
    n = result["epoch_samples"]
    for r in result["results"]:
        b = result["bp"].get(str(r["threads_asked"]))
        xbp = f"{b['samples_per_s'] / r['samples_per_s']:.1f}" if b else "-"
        lines.append(
            f"{r['batch']:5d} {r['threads_asked']:7d} {r['samples_per_s']:10.1f} "
            f"{n / r['samples_per_s']:8.1f} {r['gemm_flops_per_s'] / 1e9:8.2f} "
            f"{100 * r['gemm_fraction']:7.1f}% {xbp:>6s}"
        )
    bps = list(result["bp"].items())
    if result["dtype"] != "float32":
        bps += list(result["bp_float32"].items())
    for t, b in bps:
        if b:
            lines.append(
                f"BP {'-'.join(map(str, b['sizes']))} (batch {result['bp_batch']}, "
                f"{b['dtype']}), {t} threads: {b['samples_per_s']:.0f} samples/s"
            )
    for t, v in result["gemm_peak_flops_per_s"].items():
        lines.append(
            f"GEMM {result['gemm_size']}^3 {result['dtype']}, {t} threads: {v / 1e9:.2f} GFLOP/s"
        )

    def fmt(v: float | None, unit: str = "") -> str:
        return "-" if v is None else f"{v:.2f}{unit}"

    lines.append(
        f"epoch {n} samples at the best setting (B {result['best']['batch']}, "
        f"{result['best']['threads']} threads): {result['epoch_seconds_best']:.1f} s; "
        f"cost x BP {fmt(result['cost_ratio_to_bp'])} ({result['dtype']}; "
        f"x BP in float32 {fmt(result['cost_ratio_to_bp_float32'])}); B=32 / B=1 "
        f"{fmt(result['batch_speedup_32'], 'x')}; B=128 GEMM fraction "
        f"{fmt(result['gemm_fraction_128'])}"
    )
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Entry point for ``neurotp bench circuits``; prints the table, writes ``--out``."""
    result = run(args)
    print(format_table(result))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {out}")
    return 0
