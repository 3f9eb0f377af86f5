"""``neurotp compare``: circuit rules vs BP, FA, TP, DTP and Algorithm 5 from the same init."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="circuit rules against the baselines on digits")
    p.add_argument(
        "--arch",
        action="append",
        default=None,
        help="architecture, repeatable (default: 64-16-10 and 64-16-16-10)",
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument(
        "--baselines",
        nargs="*",
        default=["bp", "fa", "tp", "dtp", "alg5"],
        help="any of bp, fa, tp, dtp, alg5 (default: all)",
    )
    p.add_argument("--batch-size", dest="batch_size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.01, help="baselines' Adam learning rate")
    p.add_argument("--out", default="runs/compare")
    p.add_argument("--force", action="store_true", help="recompute even if OUT/_cache has it")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from neurotp.compare import cached_compare, check_settings, markdown_table, write_outputs

    archs = args.arch or ["64-16-10", "64-16-16-10"]
    # every user error before the first circuit trains (raised as ValueError: one error line)
    check_settings(archs, args.seeds, args.epochs, args.baselines, args.batch_size, args.lr)
    results = []
    for arch in archs:
        r = cached_compare(
            arch,
            Path(args.out) / "_cache",
            force=args.force,
            seeds=tuple(args.seeds),
            epochs=args.epochs,
            baselines=tuple(args.baselines),
            batch_size=args.batch_size,
            lr=args.lr,
            progress=True,
        )
        print(markdown_table(r), flush=True)
        results.append(r)
    for p in write_outputs(results, args.out):
        print(f"wrote {p}")
    return 0
