"""Run outputs: the run folder (never two runs' files mixed), ``metrics.json``,
``recording.npz`` (no pickle; ``docs/outputs.md``), the resolved circuit YAML, and PNG figures of
learning curves and rates."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from neurotp.circuit import circuit_to_yaml
from neurotp.circuit.compiled import Compiled


def write_metrics(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(payload, indent=2, default=float) + "\n", encoding="utf-8")


def write_circuit(path: str | os.PathLike, comp: Compiled) -> None:
    Path(path).write_text(circuit_to_yaml(comp.circuit), encoding="utf-8")


# every file a run writes into its folder (and the temp file of an interrupted checkpoint)
RUN_FILES = (
    "metrics.json",
    "recording.npz",
    "circuit.yaml",
    "learning_curve.png",
    "rates.png",
    "checkpoint.npz",
    "checkpoint.npz.tmp",
)


def prepare_run_dir(out: Path, *, resume: bool, overwrite: bool) -> None:
    """Make ``out`` ready for a run, never mixing the files of two runs.

    A fresh run needs an absent or empty folder; ``overwrite`` first removes the files of the
    run there (:data:`RUN_FILES`; other files are left alone). ``resume`` needs the folder's
    checkpoint (whether it belongs to this run is checked when it is loaded).
    """
    if resume and overwrite:
        raise ValueError("--resume and --overwrite: choose one (continue the run, or replace it)")
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "--out: not a folder", str(out))
    if resume:
        ck = out / "checkpoint.npz"
        if not ck.is_file():
            raise FileNotFoundError(
                errno.ENOENT,
                "no checkpoint to resume from (drop --resume to start afresh)",
                str(ck),
            )
        return
    present = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if present and not overwrite:
        shown = ", ".join(present[:4]) + (", ..." if len(present) > 4 else "")
        kind = "another run" if set(present) & set(RUN_FILES) else "files"
        raise FileExistsError(
            errno.EEXIST,
            f"the folder holds {kind} ({shown}); pass --overwrite to replace it, "
            "--resume to continue it, or choose another --out",
            str(out),
        )
    for name in present:
        if name in RUN_FILES:
            (out / name).unlink()
    out.mkdir(parents=True, exist_ok=True)


def default_run_dir(name: object) -> Path:
    """``runs/<name>`` for a circuit name that is one plain folder name (no ``/``, ``..``)."""
    if not isinstance(name, str):
        raise ValueError(f"name: {name!r} is not a string; give the circuit a name, or --out DIR")
    if not SAFE_NAME.fullmatch(name) or name in (".", ".."):
        raise ValueError(
            f"name: {name!r} cannot be a folder under runs/ (letters, digits, '.', '_', '-' "
            "only, not starting with '.'); rename the circuit or give --out DIR"
        )
    return Path("runs") / name


SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


def code_population(comp: Compiled) -> str | None:
    """The code of an auto-encoder circuit: its narrowest population other than the input,
    label and reconstruction ones (None without ``protocol.reconstruction``)."""
    p = comp.circuit.protocol
    if p.reconstruction is None:
        return None
    inner = [
        q for q in comp.circuit.populations if q.role == "hidden" and q.name != p.reconstruction
    ]
    return min(inner, key=lambda q: q.size).name if inner else None


def write_recording(
    path: str | os.PathLike,
    comp: Compiled,
    rates: np.ndarray,
    weight_snapshots: list[np.ndarray],
    snapshot_epochs: list[int],
    *,
    sample_indices: np.ndarray,
    labels: np.ndarray | None,
    predicted: np.ndarray | None,
    labels_clamped: bool,
) -> None:
    """Rates of every unit at every step of the recorded test presentations, weight snapshots,
    and the tables needed to read them without neurotp (see ``docs/outputs.md``)."""
    arrays: dict[str, np.ndarray] = {
        "circuit_name": np.array(comp.circuit.name),
        "time_ms": np.arange(len(rates)) * comp.dt,
        "rates": rates,
        "dt_ms": np.array(comp.dt),
        "steps_per_presentation": np.array(comp.steps_per_presentation),
        "present_steps": np.array(comp.present_steps),
        "readout_window_steps": np.array(comp.readout_win, dtype=np.int64),
        "population_names": np.array(comp.pop_names),
        "population_offsets": comp.pop_off,
        "population_sizes": comp.pop_size,
        "sample_split": np.array("test"),
        "sample_indices": np.asarray(sample_indices, dtype=np.int64),
        "labels_clamped": np.array(labels_clamped),
        "projection_names": np.array(comp.proj_names),
        "projection_pre": np.array([p.pre for p in comp.circuit.projections]),
        "projection_post": np.array([p.post for p in comp.circuit.projections]),
        "projection_weight_offsets": comp.proj_w_off,
        "projection_shapes": np.stack([comp.proj_post_n, comp.proj_pre_n], axis=1),
        "projection_tied_to": np.array([p.tie or "" for p in comp.circuit.projections]),
        "n_weights": np.array(comp.n_weights),
    }
    if labels is not None:
        arrays["labels"] = np.asarray(labels, dtype=np.int64)
    if predicted is not None:
        arrays["predicted"] = np.asarray(predicted, dtype=np.int64)
    if weight_snapshots:
        arrays["weights"] = np.stack(weight_snapshots)
        arrays["weight_epochs"] = np.array(snapshot_epochs, dtype=np.int64)
    np.savez_compressed(path, **arrays)


def plot_learning_curve(path: str | os.PathLike, history: list[dict[str, Any]], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    # one panel per metric; the validation curve (protocol.validation > 0) beside the test
    # points (then only after the last epoch)
    panels = []
    for metric, label in (
        ("accuracy", "accuracy (%)"),
        ("reconstruction_mse", "reconstruction MSE"),
    ):
        curves = {split: [h.get(f"{split}_{metric}") for h in history] for split in ("val", "test")}
        curves = {k: v for k, v in curves.items() if any(x is not None for x in v)}
        if curves:
            panels.append((curves, label))
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(5 * max(1, len(panels)), 3.6))
    axes = np.atleast_1d(axes)
    names = {"val": "validation", "test": "test"}
    for ax, (curves, label) in zip(axes, panels, strict=False):
        for split, vals in curves.items():
            v = np.array([np.nan if x is None else x for x in vals], dtype=float)
            if "accuracy" in label:
                v = 100 * v
            ax.plot(epochs, v, marker="o", ms=3, label=names[split])
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if len(curves) > 1:
            ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_rates(
    path: str | os.PathLike,
    comp: Compiled,
    rates: np.ndarray,
    title: str,
    labels: np.ndarray | None = None,
    predicted: np.ndarray | None = None,
) -> None:
    """Every unit of every population over the recorded presentations, one image per
    population (units x time); on the readout and label populations the labelled unit of each
    presentation is circled (o) and the predicted one crossed (x)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = comp.circuit.protocol
    n_pop = len(comp.pop_names)
    spp = comp.steps_per_presentation
    t_end = len(rates) * comp.dt
    heights = [max(1.0, min(3.0, int(s) / 16)) for s in comp.pop_size]
    fig, axes = plt.subplots(
        n_pop,
        1,
        figsize=(8, 0.9 * sum(heights) + 1.2),
        sharex=True,
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for ax, name, off, size in zip(
        axes[:, 0], comp.pop_names, comp.pop_off, comp.pop_size, strict=True
    ):
        block = rates[:, off : off + size].T
        im = ax.imshow(
            block,
            aspect="auto",
            interpolation="nearest",
            origin="lower",
            extent=(0, t_end, -0.5, size - 0.5),
            cmap="viridis",
        )
        fig.colorbar(im, ax=ax, pad=0.01, fraction=0.03).ax.tick_params(labelsize=6)
        ax.set_ylabel(f"{name}\n({size})", rotation=0, ha="right", va="center", fontsize=8)
        for k in range(spp, len(rates), spp):
            ax.axvline(k * comp.dt, color="w", lw=0.8, ls="--")
        if name in (p.readout, p.label):
            mid = (np.arange(len(rates) // spp) + 0.5) * spp * comp.dt
            if labels is not None:
                ax.scatter(
                    mid, labels[: len(mid)], s=60, facecolors="none", edgecolors="r", label="label"
                )
            if predicted is not None and name == p.readout:
                ax.scatter(mid, predicted[: len(mid)], s=40, marker="x", c="w", label="predicted")
            ax.legend(fontsize=6, loc="upper right", framealpha=0.5)
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel("time (ms)")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
