"""``neurotp supervised-tp``: Algorithm 5 (Bengio 2014) on a data set, with a fraction of the
labels kept (semi-supervised); :func:`neurotp.train.train_supervised_tp`.

The fully supervised case is also ``neurotp train --algorithm alg5``; this command keeps the
experiment behind the numbers in docs/paper-algorithms.md (its own data order and defaults).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

PROPAGATIONS = ("difference", "plain")


DESCRIPTION = (
    "Algorithm 5 (Bengio 2014, supervised / semi-supervised target propagation) on a data "
    "set; prints per-epoch test accuracy and a JSON summary."
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "supervised-tp",
        help="Algorithm 5 experiment (semi-supervised: --labeled-fraction)",
        description=DESCRIPTION,
    )
    add_arguments(p)
    p.set_defaults(func=handle)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="digits")
    p.add_argument("--hidden", default="32,32", help="widths of h_1..h_{L-1}, comma separated")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--labeled-fraction", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--alpha", type=float, default=1.0)
    p.add_argument("--target-gain", type=float, default=1.0)
    p.add_argument("--propagation", default="difference", choices=PROPAGATIONS)
    p.add_argument("--unlabeled-gain", type=float, default=0.1)
    p.add_argument("--encoder-ae-weight", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--json", default=None, help="write the result (history included) here")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m neurotp.commands.supervised_tp ARGS`` (the same as the subcommand)."""
    p = argparse.ArgumentParser(prog="neurotp supervised-tp", description=DESCRIPTION)
    add_arguments(p)
    return handle(p.parse_args(argv))


def handle(a: argparse.Namespace) -> int:
    import torch

    from neurotp.train import train_supervised_tp

    if a.threads:
        torch.set_num_threads(a.threads)
    try:
        hidden = [int(v) for v in a.hidden.split(",") if v]
        res = train_supervised_tp(
            a.dataset,
            hidden,
            a.epochs,
            a.batch_size,
            a.labeled_fraction,
            a.seed,
            a.device,
            a.n_train,
            verbose=True,
            lr=a.lr,
            alpha=a.alpha,
            target_gain=a.target_gain,
            propagation=a.propagation,
            unlabeled_gain=a.unlabeled_gain,
            encoder_ae_weight=a.encoder_ae_weight,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = {k: v for k, v in res.items() if k != "history"}
    print(json.dumps(summary, default=str))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, default=str, indent=1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
