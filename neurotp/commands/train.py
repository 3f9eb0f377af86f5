"""``neurotp train``: train BP / FA / TP / DTP / Algorithm 5 on digits or (Fashion-)MNIST."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _kv(text: str) -> tuple[str, Any]:
    import yaml

    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--set expects KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    parsed = yaml.safe_load(value)
    if isinstance(parsed, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
        try:
            parsed = float(parsed)
        except ValueError:
            pass
    return key.strip(), parsed


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train one algorithm on one data set",
        description="Train a supervised algorithm. Values given on the command line override "
        "those of --config; everything else falls back to neurotp.train.DEFAULTS.",
    )
    p.add_argument("--config", help="YAML config (keys as in neurotp.train.DEFAULTS)")
    p.add_argument("--algorithm", choices=["bp", "fa", "tp", "dtp", "alg5"])
    p.add_argument("--dataset", choices=["digits", "fashion-mnist", "mnist"])
    p.add_argument("--data-dir", dest="data_dir", help="folder holding the IDX files")
    p.add_argument("--hidden", help="hidden widths: WIDTHxDEPTH (256x5) or a list (500,500)")
    p.add_argument("--activation", choices=["tanh", "sigmoid", "relu", "linear"])
    p.add_argument(
        "--sign-layers",
        dest="sign_layers",
        type=int,
        nargs="+",
        metavar="L",
        help="hidden layers whose output is passed on as sign(h_L)",
    )
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", dest="batch_size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument(
        "--set",
        dest="hyper",
        type=_kv,
        action="append",
        metavar="KEY=VALUE",
        help="algorithm hyper-parameter, e.g. --set eta=0.5 --set noise=0.1",
    )
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    from neurotp.train import THREADS_HELP

    p.add_argument("--threads", type=int, help=THREADS_HELP)
    p.add_argument("--n-train", dest="n_train", type=int)
    p.add_argument("--n-test", dest="n_test", type=int)
    p.add_argument(
        "--out",
        help="output folder for metrics.json, config.yaml, learning_curve.png (default "
        "runs/<config file name>, or runs/<algorithm> without --config)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        default=None,
        help="replace the files of a non-empty output folder",
    )
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None)
    p.set_defaults(func=handle)


def default_out(config_path: str | None, algorithm: str | None) -> Path:
    """``runs/<config file stem>``, or ``runs/<algorithm>`` (default bp) without a config."""
    from neurotp.train import DEFAULTS

    name = Path(config_path).stem if config_path else str(algorithm or DEFAULTS["algorithm"])
    return Path("runs") / name


def handle(args: argparse.Namespace) -> int:
    from neurotp.data.datasets import DataNotFoundError
    from neurotp.train import DEFAULTS, load_config, train

    try:
        config: dict[str, Any] = load_config(args.config) if args.config else {}
        for key in DEFAULTS:
            value = getattr(args, key, None)
            if key == "hyper":
                if value:
                    config["hyper"] = {**(config.get("hyper") or {}), **dict(value)}
            elif value is not None:
                config[key] = value
        if not config.get("out"):
            config["out"] = str(default_out(args.config, config.get("algorithm")))
        result = train(config)
    except (ValueError, RuntimeError, DataNotFoundError, FloatingPointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    last = result["epochs"][-1]
    total = sum(e["seconds"] for e in result["epochs"])
    print(
        f"{result['algorithm']}: test accuracy {100 * last['test_accuracy']:.2f} % after "
        f"{last['epoch']} epochs (best {100 * result['best_test_accuracy']:.2f} %), "
        f"{total:.1f} s training, {total / len(result['epochs']):.2f} s/epoch"
    )
    out = result["config"]["out"]
    print(f"wrote {out}/metrics.json, config.yaml, learning_curve.png")
    return 0
