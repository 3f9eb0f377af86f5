"""Run outputs: ``metrics.json``, ``recording.npz`` (no pickle), the resolved circuit YAML,
and PNG figures of learning curves and rates."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from neurotp.circuit import circuit_to_yaml
from neurotp.circuit.compiled import Compiled


def write_metrics(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(payload, indent=2, default=float) + "\n", encoding="utf-8")


def write_circuit(path: str | os.PathLike, comp: Compiled) -> None:
    Path(path).write_text(circuit_to_yaml(comp.circuit), encoding="utf-8")


def write_recording(
    path: str | os.PathLike,
    comp: Compiled,
    rates: np.ndarray,
    weight_snapshots: list[np.ndarray],
    snapshot_epochs: list[int],
) -> None:
    """Rates of every unit at every step of the recorded presentations, plus weight snapshots."""
    arrays: dict[str, np.ndarray] = {
        "time_ms": np.arange(len(rates)) * comp.dt,
        "rates": rates,
        "population_names": np.array(comp.pop_names),
        "population_offsets": comp.pop_off,
        "population_sizes": comp.pop_size,
        "dt_ms": np.array(comp.dt),
        "steps_per_presentation": np.array(comp.steps_per_presentation),
    }
    if weight_snapshots:
        arrays["weights"] = np.stack(weight_snapshots)
        arrays["weight_epochs"] = np.array(snapshot_epochs)
    np.savez_compressed(path, **arrays)


def plot_learning_curve(path: str | os.PathLike, history: list[dict[str, Any]], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    acc = [h["test_accuracy"] for h in history]
    mse = [h["test_reconstruction_mse"] for h in history]
    panels = [
        (a, lab)
        for a, lab in ((acc, "test accuracy (%)"), (mse, "test reconstruction MSE"))
        if any(v is not None for v in a)
    ]
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(5 * max(1, len(panels)), 3.6))
    axes = np.atleast_1d(axes)
    for ax, (vals, label) in zip(axes, panels, strict=False):
        v = np.array([np.nan if x is None else x for x in vals], dtype=float)
        if "accuracy" in label:
            v = 100 * v
        ax.plot(epochs, v, marker="o", ms=3)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_rates(
    path: str | os.PathLike, comp: Compiled, rates: np.ndarray, title: str, max_units: int = 4
) -> None:
    """Rates of the first units of each population over the recorded presentations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_pop = len(comp.pop_names)
    t = np.arange(len(rates)) * comp.dt
    fig, axes = plt.subplots(n_pop, 1, figsize=(8, 1.3 * n_pop + 0.8), sharex=True)
    axes = np.atleast_1d(axes)
    spp = comp.steps_per_presentation
    for ax, name, off, size in zip(axes, comp.pop_names, comp.pop_off, comp.pop_size, strict=True):
        for u in range(min(max_units, int(size))):
            ax.plot(t, rates[:, off + u], lw=1)
        ax.set_ylabel(f"{name}\nrate", rotation=0, ha="right", va="center", fontsize=8)
        for k in range(0, len(rates) + 1, spp):
            ax.axvline(k * comp.dt, color="0.7", lw=0.6, ls="--")
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("time (ms)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
