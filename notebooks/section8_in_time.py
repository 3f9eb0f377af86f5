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
# # Section 8 in time: one presentation of `digits_temporal`, step by step
#
# Section 8 of Bengio (2014) asks a unit's feedforward synapses to make it what it *becomes a
# bit later*, once the network has pushed it through its loops, and names the learning signal
# "later minus earlier". `circuits/digits_temporal.yaml` does this with no target
# populations: each unit has a second compartment (`H.apical`, `Y.apical`) that the loops feed
# back into and that nudges the unit's soma, and the forward rules read that compartment.
#
# Here we train it briefly, then present one training digit with learning on and record every
# unit at every step (dt = 1 ms). Everything plotted is read from the engine's recording and
# state: the rates and compartments are the recording; the traces (which the engine keeps but
# does not record) are filtered from the recorded rates by the trace equation and checked
# against the engine's own traces at the end; the weight change summed from the rule's terms is
# checked against the engine's.

# %%
import dataclasses
import os

import matplotlib.pyplot as plt
import numpy as np

from neurotp import Simulation, load_dataset
from neurotp.circuit import load_circuit, make_drive
from neurotp.circuit.rules import parse_signal, rule_form
from neurotp.circuit.spec import compartment_of
from neurotp.compare import DEFAULT_TEMPORAL
from neurotp.engines import get_engine

SMALL = bool(os.environ.get("NEUROTP_NOTEBOOK_SMALL"))  # set by the test suite
EPOCHS = 2 if SMALL else 10
N_TRAIN = 300 if SMALL else None

# %% [markdown]
# The circuit's own description (the comment at the top of its YAML file):

# %%
print("\n".join(ln for ln in DEFAULT_TEMPORAL.read_text().splitlines() if ln.startswith("#")))
circuit = load_circuit(DEFAULT_TEMPORAL)
circuit.protocol.validation = 0.0  # a short illustration: train on the training split, score test
p = circuit.protocol
print(f"\npresentation {p.present:g} ms, gap {p.gap:g} ms, label from {p.label_delay:g} ms")

# %%
data = load_dataset("digits", n_train=N_TRAIN)
sim = Simulation(circuit, backend="numba", data=data)
history = sim.train(EPOCHS)
for h in history:
    print(f"epoch {h.epoch:2d}: test accuracy {100 * h.test_accuracy:.1f} %")

# %% [markdown]
# ## One presentation, recorded
# A training digit, presented as in training (the label clamped from `label_delay` on, learning
# on), on a copy of the trained state; and the same digit, from the same state, with the label
# never clamped, to see what the label's return through the loops changes.

# %%
comp = sim.comp
dt = comp.dt
before = sim.state.copy()
x1, y1 = data.x_train[:1], data.y_train[:1]
drive = make_drive(comp, x1, y1, np.random.default_rng(0), train=True)
engine = get_engine("numba")(comp, state=before.copy())
rec = engine.run(drive, record_every=1).record  # (steps, units): the rates after each step
after = engine.state
free = get_engine("numba")(comp, state=before.copy())
rec_free = free.run(dataclasses.replace(drive, clamp=False), record_every=1).record
spp, n_present, k_label = comp.steps_per_presentation, comp.present_steps, comp.label_steps
assert rec.shape == (spp, comp.n_units)

# %% [markdown]
# Every projection, nudge and rule at step k reads the rates at the *start* of the step (the
# recording holds them after it), with this step's input frame and label clamp; past rates
# (delays) come from the ring buffer the state held before. The traces follow
# x̄ += dt/τ·(r(t − delay) − x̄) from the state's traces; the last one must be the engine's.

# %%
L = comp.hist_len
lab = comp.pop_slice(p.label)
inp = comp.pop_slice(p.input)
start = np.vstack([before.r, rec[:-1]])
for k in range(spp):
    start[k, inp] = drive.frame(0, k, n_present) if k < n_present else 0.0
    if drive.clamp and k_label <= k < n_present:
        start[k, lab] = drive.labels[0]
past = np.array([before.hist[(before.t - j) % L] for j in range(L - 1, 0, -1)])
rates = np.vstack([past, start])  # rates[L - 1 + k] is r at the start of step k


def at(k, d=0):
    """Rates at the start of step k, d steps back."""
    return rates[L - 1 + k - d]


tr = np.empty((spp + 1, comp.n_trace_units))
tr[0] = before.tr
for k in range(spp):
    tr[k + 1] = tr[k]
    for i in range(len(comp.trace_names)):
        o, n, src = int(comp.tr_off[i]), int(comp.tr_n[i]), int(comp.tr_src_off[i])
        x_src = at(k, int(comp.tr_delay[i]))[src : src + n]
        tr[k + 1, o : o + n] += comp.tr_alpha[i] * (x_src - tr[k, o : o + n])
np.testing.assert_allclose(tr[-1], after.tr, rtol=0, atol=1e-10)


def trace(name, k):
    i = comp.trace_names.index(name)
    return tr[k, int(comp.tr_off[i]) : int(comp.tr_off[i] + comp.tr_n[i])]


t = np.arange(spp) * dt  # the start of each step (ms after onset)
onset = k_label * dt

# %% [markdown]
# ## The label arrives
# Before `label_delay` the label units run free on their inputs; then they are clamped to the
# one-hot label. The output's compartment reports the change this brings to the top of the
# network; its nudge moves the output rates.

# %%
out = circuit.protocol.readout
ys, ya = comp.pop_slice(out), comp.pop_slice(compartment_of(out))
r0, r1 = comp.readout_win
guess = int(np.argmax(rec_free[r0:r1, ys].mean(0)))  # the readout, as the engine scores it
fig, axes = plt.subplots(1, 3, figsize=(12, 3), sharex=True)
units = [int(y1[0])] + ([guess] if guess != y1[0] else [])
for u, style in zip(units, ("-", "--"), strict=False):
    axes[0].plot(t, start[:, lab][:, u], style, label=f"{p.label}[{u}]")
    axes[1].plot(t, start[:, ys][:, u], style, label=f"{out}[{u}], label clamped")
    axes[1].plot(
        t,
        np.vstack([before.r, rec_free[:-1]])[:, ys][:, u],
        style,
        alpha=0.4,
        label=f"{out}[{u}], label free",
    )
    axes[2].plot(t, start[:, ya][:, u], style, label=f"{out}.apical[{u}]")
for ax, title in zip(axes, ("label units", "output rates", "output compartment"), strict=True):
    ax.axvline(onset, color="0.5", ls=":")
    ax.set_title(title)
    ax.set_xlabel("time (ms)")
    ax.legend(fontsize=7)
fig.tight_layout()
print(f"label {y1[0]}; the free network's answer {guess}")

# %% [markdown]
# ## The hidden unit before and after the loops return
# The hidden population's compartment a is fed back from above; it nudges the soma by
# gain·(a − ā) (ā its `rest` trace), or gain·a when it has none, so that at rest, before the
# label, the nudge is (close to) zero and the unit is what its feedforward input makes it. We
# follow the hidden unit whose rate the label's return moves most (a saturated unit, |h| ≈ 1,
# hardly moves however large its nudge).

# %%
hid = next(pr.post for pr in circuit.projections if pr.pre == p.input)
spec = circuit.population(hid)
hs, ha = comp.pop_slice(hid), comp.pop_slice(compartment_of(hid))
a = start[:, ha]
a_bar = np.array([trace(spec.apical.rest, k) for k in range(spp)]) if spec.apical.rest else 0.0
nudge = spec.apical.gain * (a - a_bar)
h_free = np.vstack([before.r, rec_free[:-1]])[:, hs]
j = int(np.argmax(np.abs(start[k_label:n_present, hs] - h_free[k_label:n_present]).max(0)))
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharex=True)
axes[0].plot(t, start[:, hs][:, j], label=f"{hid}[{j}], label clamped")
axes[0].plot(t, h_free[:, j], "--", label=f"{hid}[{j}], label never clamped")
axes[0].set_title("hidden rate")
axes[1].plot(t, a[:, j], label="compartment a")
if spec.apical.rest:
    axes[1].plot(t, a_bar[:, j], label=f"rest trace ā ({spec.apical.rest})")
axes[1].plot(t, nudge[:, j], label="nudge of the soma")
axes[1].set_title(f"{hid}.apical[{j}]")
for ax in axes:
    ax.axvline(onset, color="0.5", ls=":")
    ax.set_xlabel("time (ms)")
    ax.legend(fontsize=7)
fig.tight_layout()
moved = np.abs(start[:n_present, hs] - h_free[:n_present]).max(1)
assert moved[:k_label].max() == 0.0  # the two runs are the same until the label arrives
first = k_label + int(np.argmax(moved[k_label:] > 1e-9))
quiet = np.abs(nudge[:k_label]).max(1)
loud = np.nonzero(quiet >= 1e-9)[0]
settled = int(loud[-1]) + 1 if len(loud) else 0  # from this step on, no nudge till the label
print(
    f"the label, clamped at {onset:g} ms, first moves a hidden rate at {first * dt:g} ms "
    f"(the loop's delays); largest change {moved.max():.3f}"
)
if settled < k_label:
    print(
        f"largest |nudge| before the label: {quiet.max():.3f}, in the first {settled * dt:g} ms "
        "(the previous sample's last return, still in the loop), none from then to the label; "
        f"after the label: {np.abs(nudge[k_label:]).max():.3f}"
    )
else:
    print(f"the nudge does not settle before the label: up to {quiet[-5:].max():.3f} at its end")

# %% [markdown]
# ## The rule's terms over time
# The forward rule into the hidden layer in its general form,
# ΔW = η·(Σₖ cₖ·Sₖ ⊗ A − c_B·B ⊗ b): each post-side term, the pre-side factor of one synapse
# (the input pixel of the largest weight change), and their product summed over the
# presentation, step by step.

# %%
(k_rule,) = [i for i, r in enumerate(circuit.rules) if circuit.projection(r.projection).post == hid]
rule = circuit.rules[k_rule]
form = rule_form(rule)
proj = circuit.projection(rule.projection)
d_proj = int(comp.proj_delay[comp.proj_names.index(proj.name)])


def signal(text, side, k):
    """A rule signal at step k, as the engine reads it (see neurotp/circuit/rules.py)."""
    s = parse_signal(text, side, rule.name)
    if s.kind == "pre":
        return at(k, d_proj)[comp.pop_slice(proj.pre)]
    if s.kind == "trace":
        return trace(s.name, k)
    group = {"post": proj.post, "apical": compartment_of(proj.post)}.get(s.kind, s.name)
    return at(k)[comp.pop_slice(group)]


is_open = comp.rules_active(np.arange(spp))[:, k_rule] & (np.arange(spp) < n_present)
plus = np.array([[c.coef * signal(c.post, "post", k) for c in form.plus] for k in range(spp)])
minus = np.array([form.minus_coef * signal(form.minus_post, "post", k) for k in range(spp)])
A = np.array([signal(form.plus_pre, "pre", k) for k in range(spp)])
B = np.array([signal(form.minus_pre, "pre", k) for k in range(spp)])
eta = comp.rule_eta[k_rule]
dW_steps = (
    eta
    * (np.einsum("kp,ka->kpa", plus.sum(1), A) - np.einsum("kp,kb->kpb", minus, B))
    * is_open[:, None, None]
)
dW = comp.proj_matrix(after.w, proj.name) - comp.proj_matrix(before.w, proj.name)
np.testing.assert_allclose(dW_steps.sum(0), dW, rtol=1e-8, atol=1e-12)
i_pix = int(np.argmax(np.abs(dW[j])))
fig, axes = plt.subplots(1, 3, figsize=(13, 3.2), sharex=True)
for q, c in enumerate(form.plus):
    axes[0].plot(t, plus[:, q, j], label=f"{c.coef:g}·{c.post}")
if form.minus_coef:
    axes[0].plot(t, -minus[:, j], label=f"−{form.minus_coef:g}·{form.minus_post}")
axes[0].set_title(f"post side, {hid}[{j}]")
axes[1].plot(t, A[:, i_pix], label=f"A = {form.plus_pre}")
if form.minus_coef:
    axes[1].plot(t, B[:, i_pix], "--", label=f"b = {form.minus_pre}")
axes[1].set_title(f"pre side, pixel {i_pix}")
axes[2].plot(t, np.cumsum(dW_steps[:, j, i_pix]), label="Σ so far")
axes[2].axhline(dW[j, i_pix], color="0.5", ls=":", label="engine's ΔW")
axes[2].set_title(f"ΔW[{j}, {i_pix}] of {proj.name}")
for ax in axes:
    ax.axvline(onset, color="0.5", ls=":")
    ax.set_xlabel("time (ms)")
    ax.legend(fontsize=7)
fig.tight_layout()
print(f"rule {rule.name}: η = {eta:.3g}; ΔW summed from its terms = the engine's (checked)")
print(
    f"share of |ΔW[{j}]| made after the label arrives: "
    f"{np.abs(dW_steps[k_label:, j]).sum() / np.abs(dW_steps[:, j]).sum():.2f}"
)

# %% [markdown]
# ## The weight change
# Unit j's incoming weight change over this one presentation, as an image beside the digit.

# %%
side = int(round(np.sqrt(comp.input_n)))
fig, axes = plt.subplots(1, 2, figsize=(6, 3))
axes[0].imshow(x1[0].reshape(side, side), cmap="gray_r")
axes[0].set_title(f"input (label {y1[0]})")
m = np.abs(dW[j]).max()
im = axes[1].imshow(dW[j].reshape(side, side), cmap="RdBu_r", vmin=-m, vmax=m)
axes[1].set_title(f"ΔW of {hid}[{j}]")
fig.colorbar(im, ax=axes[1], fraction=0.046)
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()

# %% [markdown]
# ## "Later minus earlier", on screen
# In this circuit the label population runs free as a copy of the output until the label
# arrives, so the output's compartment, the label's rate now minus the output's rate one loop
# earlier, is zero while the network is left to itself: the top loop returns what the output
# already was. The hidden compartment, fed from it, is zero too, so the nudge is zero and the
# forward rule's post-side term is zero: nothing is learned from the loops, however long the
# digit is shown (the small drift before the label in the last plot is the rule's weak
# anti-Hebbian term, −c·post, when the rule has one). Two exceptions are on screen: the first
# few ms after onset, when the loop still carries the end of the previous sample (the samples
# follow each other without a reset), and the label's arrival.
#
# When the label is clamped, what comes back down differs from what the unit sent up a moment
# earlier. That difference is the compartment; it nudges the unit toward what it becomes after
# the loops return (the clamped and the free hidden rate part a few ms after the label, the
# loop's delays later), and the rule pairs it with the recent input (the pre-side trace x̄).
# The weight change is the unit's later value minus its earlier one, times what it was seeing
# (most of it made after the label arrives, as printed above): section 8's prediction rule
# read at one unit in time, with no target population and no stored past but traces. As the
# output approaches the label the difference shrinks, and so does the learning.
#
# A circuit whose compartment does not cancel by itself at rest gives it a `rest` trace ā and
# nudges by gain·(a − ā), the compartment now minus its own recent past: the same "later minus
# earlier", taken at the compartment (the plots above draw ā and that nudge for such circuits).
