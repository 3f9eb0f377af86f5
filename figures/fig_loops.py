"""The two loops that teach the first hidden layer of digits_temporal_deep, and their ablation.

circuits/digits_temporal_deep.yaml (64-16-16-10) sends the label's arrival to H1's compartment
by a short loop (H2.apical -> H1.apical, 1 ms) and a long loop (Y.apical -> H1.apical, 6 ms),
each its own learned decoder. Left: each loop's current into H1.apical over one test
presentation (the label clamped as in training from 20 ms; learning off), RMS over H1's units.
Middle: the same averaged over the test presentations (neurotp.metrics.loops). Right: test
accuracy with both loops, the short only, the long only, neither, and H1's plasticity off
(mean ± std over seeds; hyper-parameters chosen on the validation split). The loop numbers
(neurotp.metrics.loops.loop_summary) for every seed of the full circuit are printed and cached.

    python figures/fig_loops.py [--seeds 0 1 2] [--runs DIR] [--force]

``--runs DIR`` reads trained runs from DIR/<circuit>_s<seed> (``neurotp run circuits/X.yaml
--seed S --out DIR/X_sS``) instead of training them here (15 runs, 1-2 min each).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VARIANTS = {
    "both loops": "digits_temporal_deep",
    "short only": "digits_temporal_deep_short",
    "long only": "digits_temporal_deep_long",
    "neither": "digits_temporal_deep_nofeedback",
    "H1 frozen": "digits_temporal_deep_frozen",
}
N_SIGNAL = 300  # test presentations the loop signals are measured on


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--runs", default=None, help="read trained runs from DIR/<circuit>_s<seed>")
    p.add_argument("--force", action="store_true")
    p.add_argument("--out", default=str(HERE / "loops.png"))
    return p.parse_args(argv)


def trained(name: str, seed: int, runs: str | None):
    """A Simulation of circuits/<name>.yaml at ``seed``, trained here or read from ``runs``."""
    from neurotp.circuit import load_circuit
    from neurotp.simulation import Simulation

    sim = Simulation(load_circuit(ROOT / "circuits" / f"{name}.yaml", [f"seed={seed}"]))
    if runs is None:
        sim.train()
    else:
        sim.load_checkpoint(Path(runs) / f"{name}_s{seed}" / "checkpoint.npz")
    return sim


def compute(seeds: list[int], runs: str | None) -> dict:
    from neurotp.metrics.loops import loop_summary, record_loops

    out: dict = {"seeds": seeds, "accuracy": {}, "val_accuracy": {}, "summaries": []}
    for label, name in VARIANTS.items():
        acc, val = [], []
        for seed in seeds:
            sim = trained(name, seed, runs)
            final = sim.history[-1]
            acc.append(final.test_accuracy)
            val.append(final.val_accuracy)
            if label != "both loops":
                continue
            d = sim.data
            sig = record_loops(
                sim.comp,
                sim.state,
                d.x_test[:N_SIGNAL],
                d.y_test[:N_SIGNAL],
                "H1.apical",
                backend="numba",
            )
            out["summaries"].append(loop_summary(sig))
            if seed == seeds[0]:
                k0 = sig.label_step
                base = sig.currents[:, :, k0 - 5 : k0].mean(axis=2, keepdims=True)
                dev = np.sqrt(((sig.currents - base) ** 2).mean(axis=3))  # (loops, pres, steps)
                # the presentation with the largest signal after the label (0 has no
                # previous sample), and its three H1 units that change most
                i = 1 + int(np.argmax(dev[:, 1:, k0:].sum(axis=(0, 2))))
                change = np.abs(sig.currents[:, i, k0:] - base[:, i]).sum(axis=(0, 1))
                units = np.argsort(change)[::-1][:3]
                out["signals"] = {
                    "names": sig.names,
                    "time_ms": sig.time_ms.tolist(),
                    "label_ms": k0 * sig.dt,
                    "one": sig.currents[:, i][:, :, units].tolist(),  # (loops, steps, 3)
                    "one_index": i,
                    "one_units": units.tolist(),
                    "one_label": int(d.y_test[i]),
                    "mean": dev.mean(axis=1).tolist(),
                }
        out["accuracy"][label] = acc
        out["val_accuracy"][label] = val
    return out


def plot(d: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = d["signals"]
    t = np.array(s["time_ms"])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), gridspec_kw={"width_ratios": [1, 1, 0.9]})
    colors = {"G_short": "tab:blue", "G_long": "tab:orange"}
    pretty = {"G_short": "short loop (H2.apical, 1 ms)", "G_long": "long loop (Y.apical, 6 ms)"}
    one = np.array(s["one"])  # (loops, steps, units)
    for j, name in enumerate(s["names"]):
        for q, u in enumerate(s["one_units"]):
            axes[0].plot(
                t,
                one[j, :, q],
                color=colors.get(name),
                ls=("-", "--", ":")[q],
                label=f"{pretty.get(name, name)}, unit {u}",
            )
    axes[0].set_ylabel("current into H1.apical (3 units)")
    axes[0].set_title(
        f"test presentation {s['one_index']} (digit {s['one_label']}), largest signal",
        fontsize=10,
    )
    for name, curve in zip(s["names"], s["mean"], strict=True):
        axes[1].plot(t, curve, color=colors.get(name), label=pretty.get(name, name))
    axes[1].set_ylabel("RMS change of the current (vs 15-20 ms)")
    axes[1].set_title(f"mean over {N_SIGNAL} test presentations", fontsize=10)
    for ax in axes[:2]:
        ax.axvline(s["label_ms"], color="k", ls="--", lw=0.8)
        ax.text(
            s["label_ms"] - 0.5, ax.get_ylim()[0], "label ", fontsize=8, ha="right", va="bottom"
        )
        ax.set_xlabel("time from onset (ms)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6, loc="lower left")
    axes[1].legend(fontsize=8, loc="upper left")
    labels = list(d["accuracy"])
    acc = 100 * np.array([d["accuracy"][k] for k in labels])
    m, sd = acc.mean(1), acc.std(1)
    axes[2].bar(range(len(labels)), m, yerr=sd, capsize=4, color="tab:green", alpha=0.7)
    for i, (mi, si) in enumerate(zip(m, sd, strict=True)):
        axes[2].text(i, mi + si + 0.3, f"{mi:.1f}", ha="center", fontsize=8)
    axes[2].set_xticks(range(len(labels)), labels, fontsize=8)
    axes[2].set_ylim(max(0, m.min() - 10), 100)
    axes[2].set_ylabel("test accuracy (%)")
    axes[2].set_title(f"ablation (mean ± std, {len(d['seeds'])} seeds)", fontsize=10)
    axes[2].grid(alpha=0.3, axis="y")
    fig.suptitle("digits_temporal_deep: the two loops into H1", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv: list[str] | None = None) -> Path:
    a = parse(argv)
    # the key covers the settings and the circuit files, so an edited circuit is recomputed
    texts = [(ROOT / "circuits" / f"{n}.yaml").read_text() for n in VARIANTS.values()]
    from neurotp.commands.figures import cached_json

    d = cached_json("loops", [a.seeds, texts], lambda: compute(a.seeds, a.runs), a.force)
    plot(d, a.out)
    means = {k: round(100 * float(np.mean(v)), 2) for k, v in d["accuracy"].items()}
    print(f"saved {a.out}; mean test accuracy: {means}")
    for seed, s in zip(d["seeds"], d["summaries"], strict=True):
        print(f"seed {seed}: {json.dumps(s)}")
    return Path(a.out)


if __name__ == "__main__":
    main()
