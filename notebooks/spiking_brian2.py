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
# # Spiking circuits with Brian2
#
# The same auto-encoder as a rate circuit (Numba engine) and as a spiking circuit of leaky
# integrate-and-fire units (Brian2 engine, `circuits/autoencoder_spiking.yaml`): spikes travel
# with Brian2's own axonal delays, and the prediction and reconstruction rules read
# exponential traces of pre- and postsynaptic spikes (STDP-like form; see `docs/brian2.md`).
# Needs the optional extra: `pip install 'neurotp[brian2]'`.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from neurotp import Simulation, load_circuit, load_dataset
from neurotp.circuit import make_drive

SMALL = bool(os.environ.get("NEUROTP_NOTEBOOK_SMALL"))
N_TRAIN, N_TEST, EPOCHS = (60, 20, 2) if SMALL else (300, 100, 3)
data = load_dataset("digits", n_train=N_TRAIN, n_test=N_TEST)


def circuit_path(name: str) -> str:
    """circuits/NAME.yaml of this checkout (the notebook may run from notebooks/ or the root)."""
    import neurotp

    root = os.path.dirname(os.path.dirname(neurotp.__file__))
    return os.path.join(root, "circuits", f"{name}.yaml")


# %%
curves = {}
sims = {}
for name, backend in (("autoencoder", "numba"), ("autoencoder_spiking", "brian2")):
    sim = Simulation(load_circuit(circuit_path(name)), backend=backend, data=data)
    sim.train(EPOCHS)
    sims[name] = sim
    curves[name] = [h.test_reconstruction_mse for h in sim.history]
    print(name, [f"{v:.4f}" for v in curves[name]])

fig, ax = plt.subplots(figsize=(5, 3))
for name, curve in curves.items():
    ax.plot(range(len(curve)), curve, marker="o", label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("test reconstruction MSE")
ax.set_yscale("log")
ax.legend()
ax.grid(alpha=0.3)

# %% [markdown]
# ## A raster of one test presentation

# %%
from neurotp.engines import get_engine  # noqa: E402

spk = sims["autoencoder_spiking"]
engine = get_engine("brian2")(spk.comp, state=spk.state.copy())
drive = make_drive(spk.comp, data.x_test[:1], None, np.random.default_rng(0), train=False)
engine.run(drive)
fig, axes = plt.subplots(3, 1, figsize=(7, 5), sharex=True)
for ax, (name, (i_sp, t_sp)) in zip(axes, engine._spiking.last_spikes.items(), strict=False):
    ax.plot(t_sp, i_sp, "|", ms=3)  # spike times are in ms from the block start
    ax.set_ylabel(f"{name}\nunit")
axes[-1].set_xlabel("time (ms)")
fig.tight_layout()
assert curves["autoencoder_spiking"][-1] < curves["autoencoder_spiking"][0]
