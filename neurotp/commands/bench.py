"""``neurotp bench engines|algorithms``: speed benchmarks, printed as ratios measured in one run."""

from __future__ import annotations

import argparse
import errno
import importlib
from pathlib import Path

SUITES = {
    "engines": (
        "neurotp.bench.engines",
        "reference, numba (and brian2) steps/s on a 2x1000 circuit",
    ),
    "algorithms": ("neurotp.bench.algorithms", "one epoch of each algorithm, relative to BP"),
    "circuits": (
        "neurotp.bench.circuits",
        "fmnist_tp training samples/s at batch 1-128 and 1-2 threads, beside BP and a GEMM peak",
    ),
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="speed benchmarks (engines, algorithms, circuits)")
    suites = p.add_subparsers(dest="suite", metavar="SUITE", required=True)
    for name, (module, help_text) in SUITES.items():
        sp = suites.add_parser(name, help=help_text)
        # add_arguments is cheap (argparse only); the module's heavy imports happen in main
        importlib.import_module(module).add_arguments(sp)
        sp.set_defaults(func=_runner(module))


def check_out_file(out: str | None) -> None:
    """``--out`` must be a file path whose folder can be made: checked before the benchmark
    runs (minutes), not when its results are written."""
    if not out:
        return
    path = Path(out)
    if path.is_dir():
        raise IsADirectoryError(
            errno.EISDIR, f"--out: is a folder; give a file, e.g. {path / 'bench.json'}", out
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "--out: not a folder", str(parent))
            break


def _runner(module: str):
    def run(args: argparse.Namespace) -> int:
        check_out_file(getattr(args, "out", None))
        return importlib.import_module(module).main(args)

    return run
