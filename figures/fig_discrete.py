"""Discrete (sign) hidden units: DTP against BP with the straight-through estimator.

784-500-500-10 on Fashion-MNIST, the second layer fed sign(h_1) (Lee et al. 2015, sec. 3.3),
with the hyper-parameters of the frozen configs configs/fmnist_sign_{dtp,bp_ste}.yaml. The
default size is a subset (10 000 train / 2 000 test, 5 epochs) that takes a few CPU minutes;
the full-data numbers are in docs/algorithms.md. Computation is cached in figures/_cache/.

    python figures/fig_discrete.py [--n-train 10000] [--n-test 2000] [--epochs 5] [--force]
"""

from __future__ import annotations

import argparse
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONFIGS = {
    "DTP (sign layer)": "fmnist_sign_dtp.yaml",
    "BP + straight-through": "fmnist_sign_bp_ste.yaml",
}


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-train", type=int, default=10000)
    p.add_argument("--n-test", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--force", action="store_true")
    p.add_argument("--out", default=str(HERE / "discrete.png"))
    return p.parse_args(argv)


def compute(a) -> dict:
    from neurotp.train import load_config, train

    out = {"settings": [a.n_train, a.n_test, a.epochs], "curves": {}}
    for label, name in CONFIGS.items():
        cfg = {
            **load_config(ROOT / "configs" / name),
            "n_train": a.n_train,
            "n_test": a.n_test,
            "epochs": a.epochs,
            "device": "cpu",
            "progress": False,
            "log_epochs": False,
            "out": None,
        }
        r = train(cfg)
        out["curves"][label] = [e["test_accuracy"] for e in r["epochs"]]
    return out


def plot(d: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    import numpy as np

    n_train, n_test, epochs = d["settings"]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for label, acc in d["curves"].items():
        ax.plot(np.arange(1, len(acc) + 1), 100 * np.array(acc), marker="o", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(
        f"Fashion-MNIST {n_train}/{n_test}, 784-500-500-10, layer 2 sees sign(h1)", fontsize=9
    )
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv: list[str] | None = None) -> Path:
    a = parse(argv)
    texts = [(ROOT / "configs" / n).read_text() for n in CONFIGS.values()]
    from neurotp.commands.figures import cached_json

    key = [a.n_train, a.n_test, a.epochs, texts]
    d = cached_json("discrete", key, lambda: compute(a), a.force)
    plot(d, a.out)
    finals = {k: round(100 * v[-1], 2) for k, v in d["curves"].items()}
    print(f"saved {a.out}; final test accuracy: {finals}")
    return Path(a.out)


if __name__ == "__main__":
    main()
