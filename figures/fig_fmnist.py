"""Learning curves of the Fashion-MNIST circuits: validation accuracy per epoch, test at the end.

Trains (or reads) ``circuits/fmnist_tp.yaml`` (784-64-10), its frozen-hidden control
``fmnist_tp_frozen.yaml``, ``fmnist_tp_deep.yaml`` (784-64-64-10), ``fmnist_temporal.yaml``
(section 8 in time, 784-64-10) and its control ``fmnist_temporal_frozen.yaml`` over seeds, each as
``neurotp run circuits/<circuit>.yaml --seed S --out RUNS/<circuit>_s<S>`` would, and draws the
validation accuracy after every epoch (mean ± std over seeds, each seed thin) with the final
test accuracy as a marker at the last epoch. The run folders are the cache: a run whose
``metrics.json`` is there is not trained again (``--force`` trains it again).

By default a subset (``--n-train 6000 --epochs 3``, said in the title), so that
``neurotp figures all`` stays short; ``--full`` is the circuits' own protocol (60 000 samples,
10 epochs: about 4–16 min a run on this 2-core machine), and ``--runs DIR`` reads (and fills)
the run folders of a full-size study:

    python figures/fig_fmnist.py [--full] [--seeds 0 1 2] [--circuits fmnist_tp ...]
        [--runs DIR] [--threads 1] [--force] [--no-train] [--out figures/fmnist.png]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CIRCUITS = (
    "fmnist_tp",
    "fmnist_tp_frozen",
    "fmnist_tp_deep",
    "fmnist_temporal",
    "fmnist_temporal_frozen",
)
SUBSET = {"n_train": 6000, "epochs": 3}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--circuits", nargs="+", default=list(CIRCUITS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--full", action="store_true", help="the circuits' own protocol")
    p.add_argument("--n-train", type=int, default=None, help=f"default {SUBSET['n_train']}")
    p.add_argument("--epochs", type=int, default=None, help=f"default {SUBSET['epochs']}")
    p.add_argument("--runs", default=None, help="run folders RUNS/<circuit>_s<seed>")
    p.add_argument("--threads", type=int, default=None, help="neurotp run --threads")
    p.add_argument("--set", action="append", default=[], help="neurotp run --set, every run")
    p.add_argument("--force", action="store_true", help="train again even if a run is there")
    p.add_argument(
        "--no-train", action="store_true", help="draw only the runs already in --runs, train none"
    )
    p.add_argument("--out", default=str(HERE / "fmnist.png"))
    a = p.parse_args(argv)
    if not a.full:
        a.n_train = a.n_train or SUBSET["n_train"]
        a.epochs = a.epochs or SUBSET["epochs"]
    if a.runs is None:
        tag = "full" if a.full and a.n_train is None and a.epochs is None else "subset"
        a.runs = str(HERE / "_cache" / "fmnist" / f"{tag}_{a.n_train}_{a.epochs}")
    return a


def argv_of(a: argparse.Namespace, circuit: str, seed: int, folder: Path) -> list[str]:
    """The ``neurotp run`` command line of one run."""
    out = ["run", str(ROOT / "circuits" / f"{circuit}.yaml"), "--seed", str(seed)]
    out += ["--out", str(folder), "--no-progress", "--overwrite"]
    if a.epochs:
        out += ["--epochs", str(a.epochs)]
    if a.n_train:
        out += ["--set", f"protocol.n_train={a.n_train}"]
    if a.threads:
        out += ["--threads", str(a.threads)]
    for s in a.set:
        out += ["--set", s]
    return out


def compute(a: argparse.Namespace) -> dict[str, list[dict]]:
    """circuit -> one ``metrics.json`` per seed, training the runs not there yet."""
    from neurotp.cli import main as cli_main

    out: dict[str, list[dict]] = {}
    for circuit in a.circuits:
        for seed in a.seeds:
            folder = Path(a.runs) / f"{circuit}_s{seed}"
            metrics = folder / "metrics.json"
            if a.no_train and not metrics.exists():
                print(f"{circuit} seed {seed}: not in {a.runs}, left out (--no-train)")
                continue
            if a.force or not metrics.exists():
                if folder.exists():
                    shutil.rmtree(folder)
                rc = cli_main(argv_of(a, circuit, seed, folder))
                if rc:
                    raise RuntimeError(f"{circuit} seed {seed}: neurotp run exited {rc}")
            out.setdefault(circuit, []).append(json.loads(metrics.read_text()))
    return out


def summary(runs: dict[str, list[dict]]) -> dict[str, dict[str, tuple[float, float]]]:
    """circuit -> {"test": (mean %, std %), "val": (mean %, std %)} of the last epoch."""
    out = {}
    for circuit, ms in runs.items():
        test = [100 * m["final"]["test_accuracy"] for m in ms]
        val = [100 * (m["final"].get("val_accuracy") or np.nan) for m in ms]  # nan: no split
        out[circuit] = {
            "test": (float(np.mean(test)), float(np.std(test))),
            "val": (float(np.mean(val)), float(np.std(val))),
        }
    return out


def plot(runs: dict[str, list[dict]], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = summary(runs)
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for k, (circuit, ms) in enumerate(runs.items()):
        color = f"C{k}"
        curves = [[100 * (h["val_accuracy"] or np.nan) for h in m["history"][1:]] for m in ms]
        n = min(len(c) for c in curves)
        c = np.array([x[:n] for x in curves])
        epochs = np.arange(1, n + 1)
        for row in c:
            ax.plot(epochs, row, color=color, lw=0.6, alpha=0.4)
        m, sd = s[circuit]["test"]
        ax.errorbar(
            epochs,
            c.mean(0),
            yerr=c.std(0),
            color=color,
            marker="o",
            ms=3,
            capsize=2,
            label=f"{circuit} ({len(ms)} seed(s)): validation; test {m:.2f} ± {sd:.2f} % (◆)",
        )
        ax.errorbar(n + 0.15, m, yerr=sd, color=color, marker="D", ms=6, capsize=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%), mean ± std over seeds")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> Path:
    a = parse(argv)
    runs = compute(a)
    size = (
        "full training split"
        if a.n_train is None
        else f"subset: {a.n_train} training samples (a tenth of them validation)"
    )
    epochs = f"{a.epochs} epochs" if a.epochs else "the circuits' epochs"
    title = f"Fashion-MNIST circuits ({size}, {epochs}; ◆ test accuracy after the last epoch)"
    plot(runs, a.out, title)
    for circuit, d in summary(runs).items():
        (vm, vs), (tm, ts) = d["val"], d["test"]
        print(f"{circuit}: validation {vm:.2f} ± {vs:.2f} %, test {tm:.2f} ± {ts:.2f} %")
    print(f"saved {a.out}")
    return Path(a.out)


if __name__ == "__main__":
    main()
