"""``neurotp sweep SPEC.yaml`` (or ``neurotp sweep CIRCUIT --grid F=V1,V2 --seeds 0-4``): a grid
of ``neurotp run`` (or ``neurotp train``) points over seeds, on Dask; ``docs/sweeps.md``."""

from __future__ import annotations

import argparse
import sys

from neurotp.engines.registry import BACKENDS, backend_help

#: exit status when N points failed: FAILED_BASE + min(N, 25)
FAILED_BASE = 100


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="run a circuit or train config over a grid of parameters and seeds (Dask)",
        description="Run every point of a grid (and/or a list of points) for every seed, each "
        "as the same `neurotp run` (or `neurotp train`), on a Dask LocalCluster or an "
        "existing cluster. Results: OUT/results.csv and .parquet (a row per point and seed), "
        "OUT/summary.csv (mean ± std over seeds), OUT/sweep.png. A rerun runs only the points "
        f"missing from the table. Exit status: 0, or {FAILED_BASE} + the number of failed "
        "points (at most 25), or 2 on a usage error.",
    )
    p.add_argument("target", help="a sweep spec (YAML), a circuit file or a train config")
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="FIELD=V1,V2,...",
        help="a grid axis (repeatable; the grid is their product), e.g. "
        "--grid rules.prediction_XH.lr=0.01,0.02",
    )
    p.add_argument("--seeds", default=None, help="seeds: 0-4, 0,3,7 or one seed (default 0)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="an override of every point, as `neurotp run --set`",
    )
    p.add_argument("--epochs", type=int, default=None, help="epochs of every point")
    p.add_argument("--backend", default=None, choices=BACKENDS, help=backend_help())
    p.add_argument("--dtype", default=None, choices=["float64", "float32"])
    p.add_argument(
        "--block-steps",
        dest="block_steps",
        type=lambda v: v if v == "delay" else int(v),
        default=None,
        help="as `neurotp run --block-steps` (Numba backend)",
    )
    p.add_argument("--spiking", default=None, choices=["lif", "poisson"])
    p.add_argument(
        "--brian2-target",
        dest="brian2_target",
        default=None,
        choices=["numpy", "cython", "cpp_standalone"],
    )
    p.add_argument("--out", default=None, help="output folder (default runs/sweeps/<name>)")
    p.add_argument("--metric", default=None, help="metric of the summary and figure")
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:8786",
        help="an existing Dask scheduler (default: Dask's scheduler-address config, else a "
        "LocalCluster)",
    )
    p.add_argument(
        "--workers", type=int, default=None, help="LocalCluster worker processes (default: cores)"
    )
    p.add_argument(
        "--sequential", action="store_true", help="no Dask: run the points here, one by one"
    )
    p.add_argument("--retry-failed", action="store_true", help="run failed points again")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    try:
        from neurotp.sweep import SweepError, SweepSpecError, build_spec, run_sweep
    except ImportError as exc:
        print(
            f"error: neurotp sweep needs the 'sweep' extra ({exc}): pip install 'neurotp[sweep]'",
            file=sys.stderr,
        )
        return 2
    if args.workers is not None and args.workers < 1:
        print(f"error: --workers: must be >= 1, got {args.workers}", file=sys.stderr)
        return 2
    try:
        spec = build_spec(
            args.target,
            grid=args.grid,
            sets=args.overrides,
            seeds=args.seeds,
            out=args.out,
            metric=args.metric,
            options={
                k: getattr(args, k)
                for k in ("epochs", "backend", "dtype", "block_steps", "spiking", "brian2_target")
            },
        )
        outcome = run_sweep(
            spec,
            scheduler=args.scheduler,
            workers=args.workers,
            sequential=args.sequential,
            retry_failed=args.retry_failed,
            progress=not args.no_progress,
        )
    except (SweepSpecError, SweepError, OSError) as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in outcome.files:
        print(f"wrote {path}")
    if outcome.failed:
        print(
            f"{outcome.failed} of {outcome.total} point runs failed (errors in the table's "
            f"'error' column); --retry-failed runs them again",
            file=sys.stderr,
        )
        return FAILED_BASE + min(outcome.failed, 25)
    return 0
