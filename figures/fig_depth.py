"""Test accuracy against depth (2, 4, 8, 12 hidden tanh layers) for BP and DTP.

    python figures/fig_depth.py              # compute (or reuse the cache) and plot
    python figures/fig_depth.py --force      # recompute
    python figures/fig_depth.py --plot-only  # plot from the cache only

The numbers are computed with :func:`neurotp.train.train` and cached as JSON under
``figures/_cache/`` (one file per settings; the file name carries a hash of them), apart
from plotting. The algorithms' hyper-parameters come from the frozen Fashion-MNIST configs
``configs/fmnist_5x256_{bp,dtp}.yaml`` (only the depth, width, data size and epochs change).
Default size: a Fashion-MNIST subset (10 000 train / 2 000 test, width 128, 10 epochs),
which takes a few minutes of one CPU core.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / "_cache"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--n-train", type=int, default=10000)
    p.add_argument("--n-test", type=int, default=2000)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--depths", type=int, nargs="+", default=[2, 4, 8, 12])
    p.add_argument("--algorithms", nargs="+", default=["bp", "dtp"])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--force", action="store_true", help="recompute even if cached")
    p.add_argument("--plot-only", action="store_true", help="only plot an existing cache")
    p.add_argument("--out", default=str(HERE / "depth.png"))
    return p.parse_args(argv)


def settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        k: getattr(args, k)
        for k in (
            "dataset",
            "n_train",
            "n_test",
            "width",
            "depths",
            "algorithms",
            "epochs",
            "seeds",
        )
    }


def cache_path(s: dict[str, Any]) -> Path:
    key = hashlib.sha256(json.dumps(s, sort_keys=True).encode()).hexdigest()[:12]
    return CACHE / f"depth_{s['dataset']}_{key}.json"


def base_config(algorithm: str) -> dict[str, Any]:
    from neurotp.train import load_config

    path = ROOT / "configs" / f"fmnist_5x256_{algorithm}.yaml"
    return load_config(path) if path.exists() else {"algorithm": algorithm}


def compute(args: argparse.Namespace) -> dict[str, Any]:
    """Train every (algorithm, depth, seed); returns the cache record."""
    from neurotp.train import train

    s = settings(args)
    runs = []
    for alg in args.algorithms:
        base = base_config(alg)
        for depth in args.depths:
            for seed in args.seeds:
                cfg = {
                    **base,
                    "algorithm": alg,
                    "dataset": args.dataset,
                    "n_train": args.n_train,
                    "n_test": args.n_test,
                    "hidden": f"{args.width}x{depth}",
                    "epochs": args.epochs,
                    "seed": seed,
                    "device": "cpu",
                    "threads": args.threads,
                    "progress": False,
                    "log_epochs": False,
                    "out": None,
                }
                r = train(cfg)
                runs.append(
                    {
                        "algorithm": alg,
                        "depth": depth,
                        "seed": seed,
                        "test_accuracy": r["final_test_accuracy"],
                        "train_loss": r["epochs"][-1]["train_loss"],
                        "seconds": sum(e["seconds"] for e in r["epochs"]),
                        "hyper": r["config"]["hyper"],
                    }
                )
                print(
                    f"{alg:4s} depth {depth:2d} seed {seed}: "
                    f"{100 * r['final_test_accuracy']:.2f} %",
                    file=sys.stderr,
                    flush=True,
                )
    return {"settings": s, "runs": runs}


def plot(record: dict[str, Any], out: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    s = record["settings"]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for alg in s["algorithms"]:
        depths, means, stds = [], [], []
        for depth in s["depths"]:
            accs = [
                100 * r["test_accuracy"]
                for r in record["runs"]
                if r["algorithm"] == alg and r["depth"] == depth
            ]
            if accs:
                depths.append(depth)
                means.append(float(np.mean(accs)))
                stds.append(float(np.std(accs)))
        ax.errorbar(
            depths,
            means,
            yerr=stds if len(s["seeds"]) > 1 else None,
            marker="o",
            capsize=3,
            label=alg.upper(),
        )
    ax.set_xticks(s["depths"])
    ax.set_xlabel("hidden tanh layers")
    ax.set_ylabel("test accuracy (%)")
    n_seeds = len(s["seeds"])
    ax.set_title(
        f"{s['dataset']} subset {s['n_train']}/{s['n_test']}, width {s['width']}, "
        f"{s['epochs']} epochs, {n_seeds} seed{'s' if n_seeds > 1 else ''}",
        fontsize=9,
    )
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    path = cache_path(settings(args))
    if path.exists() and not args.force:
        record = json.loads(path.read_text())
    elif args.plot_only:
        print(f"no cache at {path}; run without --plot-only first", file=sys.stderr)
        return 1
    else:
        record = compute(args)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2) + "\n")
    out = plot(record, args.out)
    for r in record["runs"]:
        print(
            f"{r['algorithm']:4s} depth {r['depth']:2d} seed {r['seed']}: "
            f"{100 * r['test_accuracy']:.2f} %"
        )
    print(f"wrote {out} (numbers cached in {path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
