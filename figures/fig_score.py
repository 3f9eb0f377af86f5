"""Figure: a denoising auto-encoder's ``r(x) - x`` against the analytic score of a 2-D density.

Alain & Bengio (2013), used by Bengio (2014, section 2.2.4) to justify reconstructions as
targets: for a denoising auto-encoder trained with Gaussian corruption of variance
``sigma^2``, ``(r(x) - x) / sigma^2`` estimates ``d log p(x) / dx``. We train
:class:`neurotp.algorithms.score.DenoisingAutoEncoder2D` on a Gaussian mixture
(:mod:`neurotp.data.toy`) and draw both vector fields on a grid, over the density's contours.
The title reports the mean cosine between the two fields where ``p >= 1 %`` of its peak.

Run: ``python figures/fig_score.py`` (about 10 s on one CPU thread) -> ``figures/score.png``;
the computed arrays are cached in ``figures/_cache/score.npz``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def compute(
    mixture: str = "ring",
    sigma: float = 0.2,
    n_steps: int = 2000,
    grid: int = 41,
    seed: int = 0,
    device: str = "auto",
) -> dict[str, object]:
    """Train the auto-encoder and return :func:`neurotp.algorithms.score.score_check`'s dict."""
    from neurotp.algorithms.score import score_check

    return score_check(mixture, sigma=sigma, n_steps=n_steps, grid=grid, seed=seed, device=device)


def plot(res: dict[str, object], out: Path) -> Path:
    """Draw the two fields (unit arrows: directions are what the cosine compares)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs, ys = np.asarray(res["xs"]), np.asarray(res["ys"])
    est, true = np.asarray(res["estimate"]), np.asarray(res["true_score"])
    dens, mask = np.asarray(res["density"]), np.asarray(res["mask"], dtype=bool)
    step = max(1, round(xs.shape[0] / 17))
    sub = np.zeros(xs.shape, dtype=bool)
    sub[::step, ::step] = True
    keep = sub.ravel() & mask
    px, py = xs.ravel()[keep], ys.ravel()[keep]

    def unit(v: np.ndarray) -> np.ndarray:
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    u_true, u_est = unit(true[keep]), unit(est[keep])
    fig, ax = plt.subplots(figsize=(6.4, 6.0))
    ax.contourf(xs, ys, dens.reshape(xs.shape), levels=12, cmap="Greys", alpha=0.45)
    ax.contour(
        xs,
        ys,
        dens.reshape(xs.shape),
        levels=[0.01 * dens.max()],
        colors="k",
        linewidths=0.8,
        linestyles="--",
    )
    ax.quiver(
        px,
        py,
        u_true[:, 0],
        u_true[:, 1],
        color="tab:blue",
        angles="xy",
        scale=40,
        width=0.004,
        label=r"analytic score $\partial \log p / \partial x$",
    )
    ax.quiver(
        px,
        py,
        u_est[:, 0],
        u_est[:, 1],
        color="tab:red",
        angles="xy",
        scale=40,
        width=0.0025,
        label=r"DAE $(r(x)-x)/\sigma^2$",
    )
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(
        f"Denoising AE vs analytic score ({res['mixture']} mixture, $\\sigma$={res['sigma']})\n"
        f"mean cosine where p >= 1% of peak: {float(res['cosine']):.3f} "
        f"({int(res['n_points'])} grid points; dashed: 1% contour)",
        fontsize=9,
    )
    ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def save_cache(res: dict[str, object], path: Path) -> None:
    """Arrays and scalars to ``.npz`` (no pickle)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.asarray(v) for k, v in res.items() if k != "mixture"}
    np.savez(path, mixture=np.asarray(str(res["mixture"])), **arrays)


def load_cache(path: Path) -> dict[str, object]:
    with np.load(path, allow_pickle=False) as z:
        res: dict[str, object] = {k: z[k] for k in z.files}
    res["mixture"] = str(res["mixture"])
    for k in ("cosine", "cosine_smoothed", "sigma", "final_loss"):
        res[k] = float(res[k])
    res["n_points"] = int(res["n_points"])
    return res


def main(
    argv: list[str] | None = None,
    *,
    out: str | Path | None = None,
    cache: str | Path | None = None,
) -> dict[str, object]:
    """Compute (or load from the cache with ``--from-cache``), plot, and return the result."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mixture", default="ring")
    p.add_argument("--sigma", type=float, default=0.2)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--grid", type=int, default=41)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--from-cache", action="store_true", help="only re-plot the cached arrays")
    a = p.parse_args([] if argv is None else argv)
    out = Path(out) if out is not None else HERE / "score.png"
    cache = Path(cache) if cache is not None else HERE / "_cache" / "score.npz"
    if a.from_cache:
        res = load_cache(cache)
    else:
        import torch

        torch.set_num_threads(1)
        res = compute(a.mixture, a.sigma, a.steps, a.grid, a.seed, a.device)
        save_cache(res, cache)
    plot(res, out)
    summary = {k: res[k] for k in ("mixture", "sigma", "cosine", "cosine_smoothed", "n_points")}
    print(json.dumps({**summary, "figure": str(out)}))
    return res


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
