"""The figure of a sweep: the metric (mean ± std over seeds) against each swept parameter, or a
heatmap of the mean when exactly two parameters are swept."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

FIGURE = "sweep.png"


def _label(metric: str) -> str:
    return f"{metric} (%)" if metric.endswith("accuracy") else metric


def _scale(metric: str) -> float:
    return 100.0 if metric.endswith("accuracy") else 1.0


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _ordered(values: list[Any]) -> list[Any]:
    unique: list[Any] = []
    for v in values:
        if v not in unique:
            unique.append(v)
    return sorted(unique) if _numeric(unique) else unique


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def plot_sweep(
    rows: list[dict[str, Any]],
    params: list[str],
    metric: str,
    path: str | os.PathLike,
    title: str = "",
) -> Path:
    """Draw the figure of a sweep's rows (failed rows are left out) into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r.get("status") == "ok" and not _missing(r.get(metric))]
    k = _scale(metric)
    heatmap = len(params) == 2 and ok and all(not _missing(r.get(p)) for r in ok for p in params)
    if not ok:
        fig, ax = plt.subplots(figsize=(5.0, 3.0))
        ax.text(0.5, 0.5, f"no successful point has {metric}", ha="center", va="center")
        ax.set_axis_off()
    elif heatmap:
        fig, ax = plt.subplots(figsize=(6.0, 4.5))
        a, b = params
        xs = _ordered([r[a] for r in ok if not _missing(r.get(a))])
        ys = _ordered([r[b] for r in ok if not _missing(r.get(b))])
        mean = np.full((len(ys), len(xs)), np.nan)
        std = np.full_like(mean, np.nan)
        for i, yv in enumerate(ys):
            for j, xv in enumerate(xs):
                vals = [k * float(r[metric]) for r in ok if r.get(a) == xv and r.get(b) == yv]
                if vals:
                    mean[i, j] = np.mean(vals)
                    std[i, j] = np.std(vals, ddof=1) if len(vals) > 1 else np.nan
        im = ax.imshow(mean, origin="lower", aspect="auto", cmap="viridis")
        fig.colorbar(im, ax=ax, label=f"{_label(metric)}, mean over seeds")
        for i in range(len(ys)):
            for j in range(len(xs)):
                if not np.isnan(mean[i, j]):
                    text = f"{mean[i, j]:.3g}"
                    if not np.isnan(std[i, j]):
                        text += f"\n± {std[i, j]:.2g}"
                    ax.text(j, i, text, ha="center", va="center", color="w", fontsize=8)
        ax.set_xticks(range(len(xs)), [str(v) for v in xs])
        ax.set_yticks(range(len(ys)), [str(v) for v in ys])
        ax.set(xlabel=a, ylabel=b)
    else:
        axes_params = params or ["(circuit as given)"]
        fig, axes = plt.subplots(
            1, len(axes_params), figsize=(4.2 * len(axes_params), 3.6), squeeze=False
        )
        for ax, p in zip(axes[0], axes_params, strict=True):
            if params:
                values = _ordered([r[p] for r in ok if not _missing(r.get(p))])
            else:
                values = ["all"]
            numeric = _numeric(values)
            xs, means, stds = [], [], []
            for i, v in enumerate(values):
                vals = [k * float(r[metric]) for r in ok if not params or r.get(p) == v]
                if not vals:
                    continue
                xs.append(v if numeric else i)
                means.append(np.mean(vals))
                stds.append(np.std(vals, ddof=1) if len(vals) > 1 else 0.0)
            ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3)
            if numeric and len(xs) > 1 and min(xs) > 0 and max(xs) / min(xs) >= 100:
                ax.set_xscale("log")
            if not numeric:
                ax.set_xticks(range(len(values)), [str(v) for v in values])
            ax.set(xlabel=p, ylabel=f"{_label(metric)}, mean ± std")
            ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
