"""``neurotp compare``: circuit rules vs BP, FA, TP, DTP and Algorithm 5 from the same init,
and the section-8-in-time circuits (``--temporal``) beside them."""

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
    p.add_argument(
        "--temporal",
        nargs="*",
        default=None,
        metavar="CIRCUIT",
        help="section-8-in-time circuit files, each a row in its architecture's table "
        "(default: circuits/digits_temporal.yaml of the source checkout, if there; "
        "--temporal with no file: none)",
    )
    p.add_argument("--out", default="runs/compare")
    p.add_argument("--force", action="store_true", help="recompute even if OUT/_cache has it")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from neurotp.compare import (
        DEFAULT_TEMPORAL,
        cached_compare,
        check_settings,
        load_temporal,
        markdown_table,
        parse_arch,
        temporal_sizes,
        write_outputs,
    )

    archs = args.arch or ["64-16-10", "64-16-16-10"]
    # every user error before the first circuit trains (raised as ValueError: one error line)
    check_settings(archs, args.seeds, args.epochs, args.baselines, args.batch_size, args.lr)
    if args.temporal is None:
        args.temporal = [str(DEFAULT_TEMPORAL)] if DEFAULT_TEMPORAL.is_file() else []
    temporal = list(zip(args.temporal, load_temporal(args.temporal), strict=True))
    for path, c in temporal:
        if temporal_sizes(c) not in [parse_arch(a) for a in archs]:
            got = "-".join(map(str, temporal_sizes(c)))
            raise ValueError(
                f"--temporal: {path} is {got}, which no --arch gives; allowed: "
                f"circuits of {', '.join(archs)}"
            )
    results = []
    for arch in archs:
        mine = tuple(p for p, c in temporal if temporal_sizes(c) == parse_arch(arch))
        r = cached_compare(
            arch,
            Path(args.out) / "_cache",
            force=args.force,
            seeds=tuple(args.seeds),
            epochs=args.epochs,
            baselines=tuple(args.baselines),
            batch_size=args.batch_size,
            lr=args.lr,
            temporal=mine,
            progress=True,
        )
        print(markdown_table(r), flush=True)
        results.append(r)
    for p in write_outputs(results, args.out):
        print(f"wrote {p}")
    return 0
