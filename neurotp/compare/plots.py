"""Figures of a ``neurotp compare`` result: learning curves and update alignment per layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurotp.compare.summary import label


def plot_learning_curves(result: dict[str, Any], path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, rs in result["runs"].items():
        xs = np.array([p[0] for p in rs[0]["curve"]])
        ys = 100 * np.array([[p[1] for p in r["curve"]] for r in rs])
        m, sd = ys.mean(0), ys.std(0)
        style = "--" if "frozen" in name else "-"
        ax.plot(xs, m, style, label=label(name), lw=1.6)
        ax.fill_between(xs, m - sd, m + sd, alpha=0.15)
    ax.set_xlabel("training samples seen")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(max(0, ax.get_ylim()[0]), 100)
    ax.set_title(f"digits {result['arch']}: mean ± std over {len(result['seeds'])} seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def plot_alignment(result: dict[str, Any], path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # the circuit's lines are "layer l"; other runs with angles (temporal circuits) are dashed,
    # in the same colour per layer, labelled by run
    runs = [(n, rs) for n, rs in result["runs"].items() if rs and rs[0].get("alignment")]
    runs.sort(key=lambda item: item[0] != "circuit")
    n_layers = len(result["sizes"]) - 1
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, key, title in zip(
        axes,
        ("vs_bp", "vs_dtp"),
        ("circuit update vs BP gradient", "circuit update vs DTP update"),
        strict=True,
    ):
        for k, (name, rs) in enumerate(runs):
            for l in range(n_layers):
                ep = np.array([a["epoch"] for a in rs[0]["alignment"]])
                ang = np.array([[a[key][l] for a in r["alignment"]] for r in rs])
                m, sd = np.nanmean(ang, 0), np.nanstd(ang, 0)
                text = f"layer {l + 1}" if name == "circuit" else f"{label(name)}, layer {l + 1}"
                style = "-" if k == 0 else ("--", ":", "-.")[(k - 1) % 3]
                ax.plot(ep, m, style, color=f"C{l}", marker="o", ms=3, label=text)
                ax.fill_between(ep, m - sd, m + sd, color=f"C{l}", alpha=0.15)
        ax.axhline(90, color="0.5", lw=0.8, ls=":")
        ax.set_xlabel("epoch")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("angle (degrees)")
    axes[0].legend(fontsize=8)
    fig.suptitle(
        f"digits {result['arch']}: update alignment per layer (probe batch of "
        f"{result['n_probe']}), mean ± std over {len(result['seeds'])} seeds",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
