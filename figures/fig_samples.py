"""Figures: Algorithm 3 samples and Algorithm 6 imputations from a stack trained by Algorithm 2.

A two-level stack of denoising auto-encoders (784-1024-256, sigmoid) is trained on the
Fashion-MNIST training images by :class:`neurotp.algorithms.stacked_ae.StackedDenoisingAE`
(Algorithm 2: short and long loops, no gradient across levels). The first auto-encoder is
trained with one of the four half-images hidden at random (``--input-mask halves``: the
halves as modalities, section 4; ``blocks`` = random rectangles) and filled with the mean
image, with ``--walkback`` walk-back steps (section 7.5).

* ``figures/samples.png`` -- Algorithm 3: chains ``h_1 <- g_2(corrupt(f_2(h_1)))`` started
  from the recorded ``h_1`` of training images, decoded by ``g_1`` after 0, 1, 2, 5, 10, 20, 50
  and 100 steps (one chain per row).
* ``figures/imputation.png`` -- Algorithm 6 on *test* images whose lower half is hidden:
  originals, the masked input (mean-image fill), the imputation after ``n_iter`` clamped
  noise-free encode/decode iterations, and after 20 iterations.

The lower-half mean squared error (over the hidden pixels of all 10 000 test images) of the
imputation and of mean-image filling is printed, stored in ``figures/_cache/samples.npz``
and written in the figure title. Run ``python figures/fig_samples.py`` (several minutes on one
CPU thread); ``--from-cache`` re-plots the cached arrays only.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CHAIN_STEPS = (0, 1, 2, 5, 10, 20, 50, 100)
ITER_GRID = (1, 2, 3, 5, 10, 20, 50)


def compute(
    epochs: int = 4,
    sizes: tuple[int, ...] = (784, 1024, 256),
    n_iter: int = 2,
    seed: int = 0,
    device: str = "auto",
    n_train: int | None = None,
    n_test: int | None = None,
    dataset: str = "fashion-mnist",
    verbose: bool = True,
    walkback: int = 1,
    lr: float = 2e-3,
    input_mask: str = "halves",
    level: int | None = None,
) -> dict[str, np.ndarray]:
    """Train the stack and compute samples, imputations and their errors (all as arrays)."""
    import torch

    from neurotp.algorithms.stacked_ae import StackedDenoisingAE
    from neurotp.data.datasets import load_dataset

    ds = load_dataset(dataset, n_train=n_train, n_test=n_test, seed=seed)
    rows, cols = ds.image_shape
    model = StackedDenoisingAE(
        list(sizes),
        "sigmoid",
        input_mask=input_mask,
        input_mask_prob=1.0,
        walkback=walkback,
        lr=lr,
        noise=0.1,
        top_noise=0.3,
        image_shape=(rows, cols),
        device=device,
        seed=seed,
    )
    start = time.perf_counter()
    history = model.fit(ds.x_train, epochs=epochs, batch_size=100, verbose=verbose)
    train_seconds = time.perf_counter() - start
    # Algorithm 6 on the test set: the lower half is missing.
    observed = np.zeros(rows * cols, dtype=bool)
    observed[: (rows // 2) * cols] = True
    missing = ~observed
    mean = ds.x_train.mean(axis=0)
    x_test = ds.x_test
    mse_mean = float(((mean[missing] - x_test[:, missing]) ** 2).mean())
    mse_iters = []
    for k in ITER_GRID:
        imp = model.impute(x_test, observed, init=mean, n_iter=k, level=level).cpu().numpy()
        mse_iters.append(float(((imp[:, missing] - x_test[:, missing]) ** 2).mean()))
    imp = model.impute(x_test, observed, init=mean, n_iter=n_iter, level=level).cpu().numpy()
    mse_alg6 = float(((imp[:, missing] - x_test[:, missing]) ** 2).mean())
    imp20 = model.impute(x_test[:10], observed, init=mean, n_iter=20, level=level).cpu().numpy()
    masked = np.where(observed, x_test[:10], mean)
    # Algorithm 3: chains at the top level, started from recorded h_{L-1} of training images.
    rng = np.random.default_rng(seed)
    starts = ds.x_train[rng.choice(len(ds.x_train), 8, replace=False)]
    h0 = model.encode(starts, level=model.n_layers - 1)
    chain = model.sample(n_steps=max(CHAIN_STEPS), h_init=h0, return_chain=True)
    chain_x = np.stack([chain[k].cpu().numpy() for k in CHAIN_STEPS], axis=1)  # (8, T, D)
    from_noise = model.sample(n_steps=100, n=8).cpu().numpy()
    state = {f"state/{k}": v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    del torch
    return {
        "dataset": np.asarray(dataset),
        "sizes": np.asarray(sizes),
        "epochs": np.asarray(epochs),
        "n_iter": np.asarray(n_iter),
        "walkback": np.asarray(walkback),
        "input_mask": np.asarray(input_mask),
        "level": np.asarray(model.n_layers if level is None else level),
        "lr": np.asarray(lr),
        "train_seconds": np.asarray(train_seconds),
        "train_recon": np.asarray([h["recon"] for h in history]),
        "mse_mean_fill": np.asarray(mse_mean),
        "mse_alg6": np.asarray(mse_alg6),
        "iter_grid": np.asarray(ITER_GRID),
        "mse_iters": np.asarray(mse_iters),
        "originals": x_test[:10],
        "masked": masked,
        "imputed": imp[:10],
        "imputed20": imp20,
        "chain_steps": np.asarray(CHAIN_STEPS),
        "chains": chain_x,
        "from_noise": from_noise,
        "image_shape": np.asarray((rows, cols)),
        "n_test": np.asarray(len(x_test)),
        **state,
    }


def plot(res: dict[str, np.ndarray], out_dir: Path) -> tuple[Path, Path]:
    """Write ``samples.png`` and ``imputation.png`` from the computed arrays."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shape = tuple(int(v) for v in res["image_shape"])
    out_dir.mkdir(parents=True, exist_ok=True)
    # Samples.
    chains = res["chains"]
    steps = [int(s) for s in res["chain_steps"]]
    n_rows, n_cols = chains.shape[0], chains.shape[1] + 1
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.1 * n_cols, 1.15 * n_rows + 0.6))
    for i in range(n_rows):
        for j in range(n_cols):
            ax = axes[i, j]
            img = chains[i, j] if j < n_cols - 1 else res["from_noise"][i]
            ax.imshow(img.reshape(shape), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(
                    f"K={steps[j]}" if j < n_cols - 1 else "noise start\nK=100", fontsize=8
                )
    fig.suptitle(
        "Algorithm 3 samples: top-level chain $h_1 \\leftarrow g_2(corrupt(f_2(h_1)))$, then "
        "$x = g_1(h_1)$\nrows: chains from recorded $h_1$ of training images (K = steps); "
        "last column: chain from uniform noise",
        fontsize=8,
    )
    fig.tight_layout()
    p_samples = out_dir / "samples.png"
    fig.savefig(p_samples, dpi=110)
    plt.close(fig)
    # Imputation.
    rows = [
        ("original", res["originals"]),
        ("masked (mean fill)", res["masked"]),
        (f"Alg. 6, {int(res['n_iter'])} iter.", res["imputed"]),
        ("Alg. 6, 20 iter.", res["imputed20"]),
    ]
    n = res["originals"].shape[0]
    fig, axes = plt.subplots(len(rows), n, figsize=(1.1 * n + 1.2, 1.2 * len(rows) + 0.7))
    for i, (label, imgs) in enumerate(rows):
        for j in range(n):
            ax = axes[i, j]
            ax.imshow(imgs[j].reshape(shape), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(label, fontsize=7)
    grid = ", ".join(
        f"{int(k)}: {v:.4f}" for k, v in zip(res["iter_grid"], res["mse_iters"], strict=True)
    )
    fig.suptitle(
        f"Algorithm 6 on {int(res['n_test'])} test images, lower half missing. MSE on the missing "
        f"pixels: mean-image fill {float(res['mse_mean_fill']):.4f}, Alg. 6 "
        f"({int(res['n_iter'])} iter.) {float(res['mse_alg6']):.4f} "
        f"(ratio {float(res['mse_alg6']) / float(res['mse_mean_fill']):.2f})\n"
        f"MSE by number of iterations: {grid}",
        fontsize=7,
    )
    fig.tight_layout()
    p_imp = out_dir / "imputation.png"
    fig.savefig(p_imp, dpi=110)
    plt.close(fig)
    return p_samples, p_imp


def summary(res: dict[str, np.ndarray]) -> dict[str, object]:
    mse_mean, mse6 = float(res["mse_mean_fill"]), float(res["mse_alg6"])
    return {
        "dataset": str(res["dataset"]),
        "sizes": [int(v) for v in res["sizes"]],
        "epochs": int(res["epochs"]),
        "walkback": int(res["walkback"]) if "walkback" in res else None,
        "input_mask": str(res["input_mask"]) if "input_mask" in res else None,
        "level": int(res["level"]) if "level" in res else None,
        "train_seconds": round(float(res["train_seconds"]), 1),
        "train_recon_last_epoch": round(float(res["train_recon"][-1]), 5),
        "n_test": int(res["n_test"]),
        "mse_mean_fill": round(mse_mean, 5),
        "n_iter": int(res["n_iter"]),
        "mse_alg6": round(mse6, 5),
        "ratio": round(mse6 / mse_mean, 3),
        "mse_by_iterations": {
            int(k): round(float(v), 5)
            for k, v in zip(res["iter_grid"], res["mse_iters"], strict=True)
        },
    }


def main(
    argv: list[str] | None = None,
    *,
    out_dir: str | Path | None = None,
    cache: str | Path | None = None,
) -> dict[str, np.ndarray]:
    """Compute (or load with ``--from-cache``), plot, print a JSON summary, return arrays."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--sizes", default="784,1024,256")
    p.add_argument("--n-iter", type=int, default=2)
    p.add_argument("--walkback", type=int, default=1)
    p.add_argument("--input-mask", default="halves", help="none, pixels, blocks or halves")
    p.add_argument("--level", type=int, default=None, help="Alg. 6 auto-encoder depth (L)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--n-test", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--from-cache", action="store_true", help="only re-plot the cached arrays")
    a = p.parse_args([] if argv is None else argv)
    out_dir = Path(out_dir) if out_dir is not None else HERE
    cache = Path(cache) if cache is not None else HERE / "_cache" / "samples.npz"
    if a.from_cache:
        with np.load(cache, allow_pickle=False) as z:
            res = {k: z[k] for k in z.files}
    else:
        import torch

        torch.set_num_threads(a.threads)
        sizes = tuple(int(v) for v in a.sizes.split(","))
        res = compute(a.epochs, sizes, a.n_iter, a.seed, a.device, a.n_train, a.n_test, a.dataset)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **res)
    plot(res, out_dir)
    print(json.dumps(summary(res)))
    return res


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
