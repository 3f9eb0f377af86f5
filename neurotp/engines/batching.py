"""What the batched engines share: B copies of a circuit side by side, the state with a copy
axis, and a drive laid out in rounds of B presentations.

``protocol.batch: B`` runs B copies of the circuit at once on B different samples. They share
the weights and biases; each copy has its own rates, ring buffer and traces. At every step
each copy computes its own local update (the rule reads only that copy's rates and traces) and
the **mean** of the updates of the copies that present a sample is added to the shared
weights: each rule's step stays the size a single copy's would be, so the learning rates of a
circuit tuned at B = 1 stay stable at any B (a sum makes the weights move B times as far
within one presentation; at B = 32 fmnist_tp then stayed at chance, ``docs/engines.md``), and an
epoch makes B times fewer, averaged, updates. Batching is a simulation device, not biology:
every copy's update is still the local one, only the averaging across copies is not.

Presentation order: the samples of a drive go round-robin to the copies, sample i to copy
i % B in round i // B. The last round of a drive may be partial: the copies without a sample
present a blank (zero input, no label clamp, zero noise) with their updates left out, and
their readout is discarded; no sample is dropped. :class:`neurotp.simulation.Simulation` makes
every drive of a training epoch a multiple of B samples, so only the last drive of an epoch
can pad. Noise, input corruption and frame jitter come from the same draws as with B = 1
(sample i's rows). Everything of the step is the single copy's: stimulus frames, the label
clamp from ``protocol.label_delay``, compartment couplings, stream mode.

B = 1 is not batched: :func:`neurotp.simulation.Simulation.make_engine` then builds the plain
engine, which gives today's numbers bit for bit.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.protocol import Drive


class Rounds(NamedTuple):
    """A drive in rounds of B presentations (Q = ceil(n / B) rounds).

    ``stim`` (Q, B, frames, n_input), ``labels`` (Q, B, n_label) or None, ``active`` (Q, B):
    the copy has a sample in that round, ``index`` (Q, B): the sample (−1 for a pad), ``noise``
    (Q · steps per presentation, B, n_noisy)."""

    stim: np.ndarray
    labels: np.ndarray | None
    active: np.ndarray
    index: np.ndarray
    noise: np.ndarray


def refuse_recording(record_every: int) -> None:
    """The batched engines do not record step by step: say which engine does."""
    if record_every:
        raise ValueError(
            "record_every: the batched engines do not record; record with a batch-1 "
            "engine (Simulation.single_engine)"
        )


def batch_of(comp: Compiled) -> int:
    """The circuit's ``protocol.batch``."""
    return int(comp.circuit.protocol.batch)


def batched_state(comp: Compiled, batch: int, dtype: type = np.float64) -> State:
    """The initial state of B copies: every copy starts as the single-copy initial state."""
    s = comp.initial_state(dtype)
    return State(
        r=np.repeat(s.r[None], batch, axis=0),
        hist=np.repeat(s.hist[:, None], batch, axis=1),
        tr=np.repeat(s.tr[None], batch, axis=0),
        w=s.w,
        b=s.b,
        t=s.t,
    )


def copy_state(state: State, j: int) -> State:
    """Copy ``j`` of a batched state as a single-copy state (shared weights copied)."""
    return State(
        r=state.r[j].copy(),
        hist=state.hist[:, j].copy(),
        tr=state.tr[j].copy(),
        w=state.w.copy(),
        b=state.b.copy(),
        t=state.t,
    )


def stack_states(states: list[State]) -> State:
    """B single-copy states as one batched state (weights and biases from the first)."""
    return State(
        r=np.stack([s.r for s in states]),
        hist=np.stack([s.hist for s in states], axis=1),
        tr=np.stack([s.tr for s in states]),
        w=states[0].w.copy(),
        b=states[0].b.copy(),
        t=states[0].t,
    )


def rounds(comp: Compiled, drive: Drive, batch: int) -> Rounds:
    """Lay ``drive`` out in rounds of ``batch`` copies (module docstring)."""
    n = drive.n_presentations
    q = -(-n // batch)
    spp = comp.steps_per_presentation
    index = np.full(q * batch, -1, dtype=np.int64)
    index[:n] = np.arange(n)
    index = index.reshape(q, batch)
    active = index >= 0
    frames = drive.frames
    stim = np.zeros((q * batch, frames, comp.input_n))
    stim[:n] = drive.stim.reshape(n, frames, comp.input_n)
    labels = None
    if drive.labels is not None:
        labels = np.zeros((q * batch, drive.labels.shape[1]))
        labels[:n] = drive.labels
        labels = labels.reshape(q, batch, -1)
    n_noisy = drive.noise.shape[1]
    noise = np.zeros((q * batch, spp, n_noisy))
    noise[:n] = drive.noise.reshape(n, spp, n_noisy)
    # (Q, B, spp, n) -> (Q, spp, B, n): the rows a step reads lie together
    noise = noise.reshape(q, batch, spp, n_noisy).transpose(0, 2, 1, 3)
    noise = noise.reshape(q * spp, batch, n_noisy)
    stim = stim.reshape(q, batch, frames, comp.input_n)
    return Rounds(stim, labels, active, index, np.ascontiguousarray(noise))


def unround(comp: Compiled, per_copy: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    """Per-round, per-copy results (Q, B, N) back in sample order (n, N), pads dropped."""
    flat = index.reshape(-1)
    if np.array_equal(flat[:n], np.arange(n)) and bool(np.all(flat[n:] < 0)):
        # the layout :func:`rounds` makes: sample i at flat position i, pads after the last
        return np.asarray(per_copy, dtype=np.float64).reshape(-1, per_copy.shape[-1])[:n]
    out = np.zeros((n, per_copy.shape[-1]))
    live = index >= 0
    out[index[live]] = per_copy[live]
    return out
