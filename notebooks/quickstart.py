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
# # neurotp quick start: build a circuit, run it, plot it
#
# A circuit is populations of rate units, τ·dr/dt = −r + φ(Σ W·r_pre(t − d) + b), wired by
# projections with delays, with plasticity rules from section 8 of Bengio (2014). Here we
# build the smallest supervised target-propagation circuit in Python, train it on sklearn's
# digits with the Numba engine, and look at one presentation.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from neurotp import Simulation, load_dataset
from neurotp.circuit import circuit_to_yaml, make_drive
from neurotp.circuit.library import tp_circuit

SMALL = bool(os.environ.get("NEUROTP_NOTEBOOK_SMALL"))  # set by the test suite
EPOCHS = 2 if SMALL else 20
N_TRAIN = 300 if SMALL else None

# %% [markdown]
# `tp_circuit((64, 16, 10))` is exactly `circuits/digits_tp.yaml`: forward populations X, H, Y;
# the label L (clamped while training); the top target YT; the short- and long-loop
# reconstructions S = g(Y) and G = g(YT) sharing their weights; and the difference target
# HT = H + G − S. The first lines of its YAML:

# %%
circuit = tp_circuit((64, 16, 10), seed=0, epochs=EPOCHS)
print("\n".join(circuit_to_yaml(circuit).splitlines()[:14]))

# %%
data = load_dataset("digits", n_train=N_TRAIN)
sim = Simulation(circuit, backend="numba", data=data)
history = sim.train(EPOCHS)
for h in history:
    print(f"epoch {h.epoch:2d}: test accuracy {100 * h.test_accuracy:.1f} %")

# %%
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot([h.epoch for h in history], [100 * h.test_accuracy for h in history], marker="o")
ax.set_xlabel("epoch")
ax.set_ylabel("test accuracy (%)")
ax.set_title("digits 64-16-10, local rules only")
ax.grid(alpha=0.3)

# %% [markdown]
# ## One presentation, step by step
# Present one test digit with its label clamped and learning off, recording every unit at
# every step (dt = 1 ms).

# %%
from neurotp.engines import get_engine  # noqa: E402

engine = get_engine("numba")(sim.comp, state=sim.state.copy())
drive = make_drive(sim.comp, data.x_test[:1], data.y_test[:1], np.random.default_rng(0), train=True)
drive.learn = False
rates = engine.run(drive, record_every=1).record
t = np.arange(1, len(rates) + 1) * sim.comp.dt
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
for name in ("H", "S", "G", "HT"):
    axes[0].plot(t, rates[:, sim.comp.pop_slice(name)][:, 0], label=name)
axes[0].set_title("hidden unit 1")
for name in ("Y", "YT", "L"):
    axes[1].plot(t, rates[:, sim.comp.pop_slice(name)][:, data.y_test[0]], label=name)
axes[1].set_title(f"output unit {data.y_test[0]} (the label)")
for ax in axes:
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate")
    ax.legend()
fig.tight_layout()
assert rates.shape == (sim.comp.steps_per_presentation, sim.comp.n_units)
