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
# # Circuit rules against the baselines
#
# The same task (digits, 64-16-10) learned by the section-8 circuit (Numba engine, local
# rules) and by backprop, feedback alignment, target propagation, difference target
# propagation and Algorithm 5 (PyTorch), all from the circuit's initial forward weights.
# After each circuit epoch, the circuit's weight change is compared with the backprop
# gradient and the DTP update of the same network on a probe batch.
# `neurotp compare` runs the full version (3 seeds, two architectures).

# %%
import os

from IPython.display import Image, Markdown, display

from neurotp.compare import markdown_table, run_compare, write_outputs

SMALL = bool(os.environ.get("NEUROTP_NOTEBOOK_SMALL"))
EPOCHS = 2 if SMALL else 15
SEEDS = (0,) if SMALL else (0, 1)
BASELINES = ("bp", "dtp") if SMALL else ("bp", "fa", "tp", "dtp", "alg5")

# %%
result = run_compare("64-16-10", seeds=SEEDS, epochs=EPOCHS, baselines=BASELINES)
display(Markdown(markdown_table(result)))

# %%
paths = write_outputs([result], "runs/notebook_compare")
display(Image(filename=str(paths[2])))  # learning curves
display(Image(filename=str(paths[3])))  # alignment per layer

# %% [markdown]
# The top layer's circuit update is the output delta rule, so it is (nearly) parallel to
# the backprop gradient of the sigmoid/cross-entropy readout. The hidden layer's update
# comes from the difference target H + g(Y_T) − g(Y): its angle to backprop measures how
# much credit the feedback loop really assigns.

# %%
circuit_row = result["summary"]["circuit"]
assert circuit_row["angle_vs_bp_mean"][-1] < 30.0  # the output layer follows its gradient
