"""Learning with one, two and three loop delays (the paper's "multiple Δ").

circuits/multi_delay.yaml assembles the hidden units' difference target through three target
populations whose feedback arrives 1, 4 and 8 ms later than the short loop; the prediction
rule sums their contributions. Variants keep the first k loops (weights 1/k): k = 1 is the
digits_tp wiring with a longer presentation. Test accuracy per epoch, mean ± std over seeds.

    python figures/fig_multi_delay.py [--epochs 30] [--seeds 0 1] [--force]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--force", action="store_true")
    p.add_argument("--out", default=str(HERE / "multi_delay.png"))
    return p.parse_args(argv)


def with_loops(k: int, seed: int):
    """multi_delay.yaml keeping loops 1..k, each target weighted 1/k."""
    from neurotp.circuit import load_circuit, validate

    c = load_circuit(ROOT / "circuits" / "multi_delay.yaml", [f"seed={seed}"])
    drop = {f"HT{j}" for j in range(k + 1, 4)}
    c.populations = [p for p in c.populations if p.name not in drop]
    c.projections = [p for p in c.projections if p.post not in drop]
    for r in c.rules:
        if r.targets and r.targets[0].population.startswith("HT"):
            r.targets = [t for t in r.targets if t.population not in drop]
            for t in r.targets:
                t.weight = 1.0 / k
    return validate(c)


def compute(epochs: int, seeds: list[int]) -> dict:
    from neurotp.simulation import Simulation

    out: dict = {"epochs": epochs, "seeds": seeds, "curves": {}}
    for k in (1, 2, 3):
        curves = []
        for seed in seeds:
            sim = Simulation(with_loops(k, seed))
            sim.train(epochs)
            curves.append([h.test_accuracy for h in sim.history])
        out["curves"][str(k)] = curves
    return out


def plot(d: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    delays = {"1": "1 ms", "2": "1 and 4 ms", "3": "1, 4 and 8 ms"}
    for k, curves in d["curves"].items():
        a = 100 * np.array(curves)
        ep = np.arange(a.shape[1])
        m, sd = a.mean(0), a.std(0)
        ax.plot(ep, m, marker="o", ms=2.5, label=f"{k} loop(s): extra delays {delays[k]}")
        ax.fill_between(ep, m - sd, m + sd, alpha=0.15)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(50, 100)
    ax.set_title(
        f"digits 64-16-10, hidden targets through 1–3 loops (mean ± std, {len(d['seeds'])} seeds)",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv: list[str] | None = None) -> Path:
    a = parse(argv)
    # the key covers the settings and the circuit file, so an edited circuit is recomputed
    circuit_text = (ROOT / "circuits" / "multi_delay.yaml").read_text()
    from neurotp.commands.figures import cached_json

    key = [a.epochs, a.seeds, circuit_text]
    d = cached_json("multi_delay", key, lambda: compute(a.epochs, a.seeds), a.force)
    plot(d, a.out)
    finals = {k: float(np.mean([c[-1] for c in v])) for k, v in d["curves"].items()}
    print(f"saved {a.out}; final test accuracy by number of loops: {finals}")
    return Path(a.out)


if __name__ == "__main__":
    main()
