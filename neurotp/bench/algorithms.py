"""``neurotp bench algorithms``: seconds per training epoch of BP, FA, TP, DTP (and
Algorithm 5 when importable) on the same network, data and device, in one process.

Protocol: every algorithm first runs a warm-up pass (``--warmup-batches``); then
``--repeats`` rounds, each timing one full epoch of every algorithm. Within a round the
epochs are interleaved in chunks of ``--chunk`` batches (round-robin over the algorithms,
each chunk timed; an epoch's time is the sum of its chunks), so a slow spell on a shared
machine hits all of them alike; ``--chunk 0`` times whole epochs one after another.
The table reports the best and the median wall-clock epoch, and each algorithm's ratio
to BP computed from the best (minimum) times. It also reports the process CPU time of the
best epoch (``time.process_time``): on a machine shared with other jobs, wall time
includes time the process waited for a core and CPU time does not. The JSON keeps every
measurement.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

DEFAULT_ALGORITHMS = ("bp", "fa", "tp", "dtp", "alg5")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``neurotp bench algorithms`` (the lead's ``commands/bench.py`` calls this)."""
    parser.add_argument(
        "--algorithms",
        nargs="+",
        default=list(DEFAULT_ALGORITHMS),
        metavar="NAME",
        help="algorithms to time (alg5 skipped if missing); NAME@LABEL adds a "
        "variant, e.g. dtp@full with --hyper dtp@full:inv_fraction=1",
    )
    parser.add_argument(
        "--hyper",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE",
        help="hyper-parameter for one entry of --algorithms (repeatable)",
    )
    parser.add_argument(
        "--dataset",
        default="synthetic",
        choices=["synthetic", "digits", "fashion-mnist", "mnist"],
        help="synthetic = uniform inputs and random labels of --input size",
    )
    parser.add_argument(
        "--n-samples",
        dest="n_samples",
        type=int,
        default=10000,
        help="examples per epoch (a subset for real data)",
    )
    parser.add_argument(
        "--input", dest="n_input", type=int, default=784, help="input size for synthetic data"
    )
    parser.add_argument("--classes", dest="n_classes", type=int, default=10)
    parser.add_argument("--hidden", default="256x5", help="WIDTHxDEPTH or a list (500,500)")
    parser.add_argument("--activation", default="tanh")
    parser.add_argument("--batch-size", dest="batch_size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per algorithm")
    parser.add_argument("--warmup-batches", dest="warmup_batches", type=int, default=20)
    parser.add_argument(
        "--chunk",
        type=int,
        default=5,
        help="interleave the algorithms every CHUNK batches (0: whole epochs)",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1; 0 = leave torch's default)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the results as JSON here")


def parse_hyper(items: list[str], names: list[str]) -> dict[str, dict[str, Any]]:
    """``["dtp@full:inv_fraction=1"]`` -> ``{"dtp@full": {"inv_fraction": 1.0}}``."""
    import yaml

    out: dict[str, dict[str, Any]] = {}
    for item in items:
        head, sep, value = item.partition("=")
        name, colon, key = head.partition(":")
        if not (sep and colon and key):
            raise ValueError(f"--hyper: expected NAME:KEY=VALUE, got {item!r}")
        if name not in names:
            raise ValueError(f"--hyper: {name!r} is not in --algorithms ({', '.join(names)})")
        parsed = yaml.safe_load(value)
        if isinstance(parsed, str):
            try:
                parsed = float(parsed)
            except ValueError:
                pass
        out.setdefault(name, {})[key] = parsed
    return out


def _load(args: argparse.Namespace):
    import torch

    from neurotp.algorithms.layers import resolve_device

    device = resolve_device(args.device)
    if args.dataset == "synthetic":
        g = torch.Generator().manual_seed(args.seed)
        x = torch.rand(args.n_samples, args.n_input, generator=g)
        y = torch.randint(0, args.n_classes, (args.n_samples,), generator=g)
        n_classes = args.n_classes
    else:
        from neurotp.data import load_dataset

        d = load_dataset(args.dataset)
        n = min(args.n_samples, len(d.x_train))
        x, y = torch.from_numpy(d.x_train[:n]), torch.from_numpy(d.y_train[:n])
        n_classes = d.n_classes
    return x.to(device), y.to(device), n_classes, device


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Time the algorithms; returns the result dict that :func:`main` prints and saves."""
    import torch

    from neurotp.algorithms.registry import get_algorithm
    from neurotp.train import parse_hidden

    if args.threads:
        torch.set_num_threads(args.threads)
    x, y, n_classes, device = _load(args)
    sizes = [x.shape[1], *parse_hidden(args.hidden), n_classes]
    hyper = parse_hyper(args.hyper, args.algorithms)
    algs: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name in args.algorithms:
        try:
            cls = get_algorithm(name.split("@")[0])
        except ImportError as exc:
            skipped[name] = f"not importable: {exc}"
            continue
        algs[name] = cls(
            sizes, args.activation, device=device, seed=args.seed, **hyper.get(name, {})
        )
    gens = {name: torch.Generator().manual_seed(args.seed) for name in algs}
    for alg in algs.values():  # warm-up
        for i in range(min(args.warmup_batches, -(-len(x) // args.batch_size))):
            alg.train_batch(
                x[i * args.batch_size : (i + 1) * args.batch_size],
                y[i * args.batch_size : (i + 1) * args.batch_size],
            )
    times: dict[str, list[float]] = {name: [] for name in algs}
    cpu: dict[str, list[float]] = {name: [] for name in algs}
    n_batches = -(-len(x) // args.batch_size)
    chunk = args.chunk if args.chunk > 0 else n_batches
    for _ in range(args.repeats):
        # Same data order as run_epoch: one shuffle per epoch, then contiguous batches.
        epochs = {}
        for name in algs:
            perm = torch.randperm(len(x), generator=gens[name]).to(x.device)
            epochs[name] = (perm, 0.0, 0.0)
        for start in range(0, n_batches, chunk):
            for name, alg in algs.items():
                perm, wall, proc = epochs[name]
                _sync(device)
                t0, c0 = time.perf_counter(), time.process_time()
                if start == 0:
                    perm = (x[perm], y[perm])
                xs, ys = perm
                for b in range(start, min(start + chunk, n_batches)):
                    sl = slice(b * args.batch_size, (b + 1) * args.batch_size)
                    alg.train_batch(xs[sl], ys[sl])
                _sync(device)
                epochs[name] = (
                    perm,
                    wall + time.perf_counter() - t0,
                    proc + time.process_time() - c0,
                )
        for name in algs:
            times[name].append(epochs[name][1])
            cpu[name].append(epochs[name][2])
    rows = []
    bp_best = min(times["bp"]) if times.get("bp") else None
    bp_cpu = min(cpu["bp"]) if cpu.get("bp") else None
    for name, ts in times.items():
        best = min(ts)
        rows.append(
            {
                "algorithm": name,
                "best_s": best,
                "median_s": statistics.median(ts),
                "ratio_to_bp": best / bp_best if bp_best else None,
                "best_cpu_s": min(cpu[name]),
                "cpu_ratio_to_bp": min(cpu[name]) / bp_cpu if bp_cpu else None,
                "times_s": ts,
                "cpu_times_s": cpu[name],
            }
        )
    return {
        "sizes": sizes,
        "activation": args.activation,
        "dataset": args.dataset,
        "n_samples": int(len(x)),
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "chunk": chunk,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "hyper": hyper,
        "results": rows,
        "skipped": skipped,
    }


def format_table(result: dict[str, Any]) -> str:
    """Plain-text table of seconds per epoch and the ratio to BP."""
    head = (
        f"{'-'.join(map(str, result['sizes']))} {result['activation']}, "
        f"{result['n_samples']} {result['dataset']} examples/epoch, batch "
        f"{result['batch_size']}, device {result['device']}, threads {result['threads']}, "
        f"best/median of {result['repeats']}, interleaved every {result['chunk']} batches"
    )
    lines = [
        head,
        f"{'algorithm':10s} {'best s/epoch':>13s} {'median':>9s} {'x BP':>7s}"
        f" {'CPU s':>9s} {'CPU x BP':>9s}",
    ]

    def fmt(v: float | None) -> str:
        return f"{v:.2f}" if v is not None else "-"

    for r in result["results"]:
        lines.append(
            f"{r['algorithm']:10s} {r['best_s']:13.3f} {r['median_s']:9.3f} "
            f"{fmt(r['ratio_to_bp']):>7s} {r['best_cpu_s']:9.3f} "
            f"{fmt(r['cpu_ratio_to_bp']):>9s}"
        )
    for name, why in result["skipped"].items():
        lines.append(f"{name:10s} skipped ({why})")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Entry point for ``neurotp bench algorithms``; prints the table, writes ``--out``."""
    if args.repeats < 1 or args.batch_size < 1 or args.n_samples < 1:
        raise ValueError("repeats, batch_size and n_samples must be >= 1")
    result = run(args)
    print(format_table(result))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    p = argparse.ArgumentParser(prog="python -m neurotp.bench.algorithms")
    add_arguments(p)
    raise SystemExit(main(p.parse_args()))
