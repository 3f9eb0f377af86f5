# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A tour of the algorithms (PyTorch backend)
#
# Backprop and difference target propagation, the paper's Algorithm 5 (supervised target
# propagation through a top auto-encoder that also sees the label), Algorithms 2, 3 and 6
# (a stacked denoising auto-encoder trained without backprop between layers, sampled, and used
# to impute missing pixels), and the denoising auto-encoder as a score estimator.
# Everything runs on CUDA when present, else on the CPU.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from neurotp import get_algorithm, load_dataset

SMALL = bool(os.environ.get("NEUROTP_NOTEBOOK_SMALL"))
EPOCHS = 3 if SMALL else 30
torch.set_num_threads(1)
data = load_dataset("digits")

# %% [markdown]
# ## BP, DTP and Algorithm 5 on digits (64-16-16-10)


# %%
def train(name, sizes=(64, 16, 16, 10), epochs=EPOCHS, **hyper):
    alg = get_algorithm(name)(sizes, "tanh", seed=0, **hyper)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    rng = np.random.default_rng(0)
    acc = []
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(x)))
        for i in range(0, len(x), 32):
            idx = order[i : i + 32]
            alg.train_batch(alg.as_tensor(x[idx]), alg.as_tensor(y[idx], torch.int64))
        acc.append(alg.accuracy(data.x_test, data.y_test))
    return alg, acc


curves = {name: train(name, lr=0.01)[1] for name in ("bp", "dtp", "alg5")}
fig, ax = plt.subplots(figsize=(5, 3))
for name, acc in curves.items():
    ax.plot(np.arange(1, EPOCHS + 1), 100 * np.array(acc), marker="o", label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("test accuracy (%)")
ax.legend()
ax.grid(alpha=0.3)
{name: round(100 * acc[-1], 1) for name, acc in curves.items()}

# %% [markdown]
# ## Algorithms 2, 3 and 6: a stacked denoising auto-encoder on digits
#
# The recipe of `figures/fig_samples.py`: the first auto-encoder is also trained to fill in
# a hidden half-image (`input_mask="halves"`, one walk-back step), Algorithm 3's chains start
# from recorded codes `h_1` of training digits, and Algorithm 6 runs one clamped
# encode/decode iteration (more iterations drift back toward the mean).
#
# What to expect, measured at the default size: the imputed lower halves are digit-like
# strokes, but on 8×8 digits they are only modestly better than the mean image (all 540 test
# digits: 0.85× the mean-image error); and the chains mix poorly: after 20 steps the eight
# samples look alike (one 8/3-like mode; from uniform noise they are one blob). The README's
# numbers (0.42× the mean-image error, `figures/samples.png`) are Fashion-MNIST with a
# 784-1024-256 stack (`neurotp figures samples`, ~5 min on one thread), too slow for here.

# %%
from neurotp.algorithms.stacked_ae import StackedDenoisingAE  # noqa: E402

sae = StackedDenoisingAE(
    [64, 256, 64],
    image_shape=(8, 8),
    seed=0,
    input_mask="halves",
    input_mask_prob=1.0,
    walkback=1,
    lr=2e-3,
)
sae.fit(data.x_train, epochs=2 if SMALL else 40, batch_size=50)
rng = np.random.default_rng(0)
starts = data.x_train[rng.choice(len(data.x_train), 8, replace=False)]
samples = sae.sample(n_steps=20, h_init=sae.encode(starts, level=1)).detach().cpu().numpy()

x = data.x_test
observed = np.zeros((len(x), 64), dtype=bool)
observed[:, :32] = True  # the upper half is seen, the lower half is imputed
mean_image = data.x_train.mean(0)
imputed = sae.impute(x, observed, init=mean_image, n_iter=1).detach().cpu().numpy()
mask = ~observed
mse_alg6 = float(np.mean((imputed[mask] - x[mask]) ** 2))
mean_fill = np.broadcast_to(mean_image, x.shape)
mse_mean = float(np.mean((mean_fill[mask] - x[mask]) ** 2))
print(
    f"imputation MSE on the hidden half of {len(x)} test digits: Algorithm 6 {mse_alg6:.4f}, "
    f"mean image {mse_mean:.4f} ({mse_alg6 / mse_mean:.2f}x)"
)

fig, axes = plt.subplots(3, 8, figsize=(8, 3.2))
for i in range(8):
    for row, img in enumerate((samples[i], x[i] * observed[i], imputed[i])):
        axes[row, i].imshow(img.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        axes[row, i].axis("off")
axes[0, 0].set_title("Alg. 3 samples (20 steps)", fontsize=8, loc="left")
axes[1, 0].set_title("observed upper half", fontsize=8, loc="left")
axes[2, 0].set_title("Alg. 6 imputation", fontsize=8, loc="left")
fig.tight_layout()

# %% [markdown]
# ## The denoising auto-encoder estimates the score (Alain & Bengio 2013)
# (r(x) − x)/σ² against ∂log p/∂x of a 2-D Gaussian mixture, where the density is above 1 %
# of its peak.

# %%
from neurotp.algorithms.score import score_check  # noqa: E402

check = score_check(n_steps=300 if SMALL else 2000)
print({k: v for k, v in check.items() if isinstance(v, (int, float))})
