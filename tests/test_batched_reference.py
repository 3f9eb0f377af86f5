"""The batched reference engine: B copies with plasticity off are B single runs; with
plasticity on the copies' updates are summed into the shared weights."""

import numpy as np
import pytest

from neurotp.circuit import compile_circuit, make_drive
from neurotp.circuit.library import tp_circuit
from neurotp.circuit.protocol import Drive
from neurotp.engines.base import DivergenceError
from neurotp.engines.batched_reference import BatchedReferenceEngine
from neurotp.engines.batching import copy_state, stack_states
from neurotp.engines.reference import ReferenceEngine


def small(batch: int, noise: float = 0.1):
    c = tp_circuit((6, 4, 3))
    c.populations[1].noise = noise
    c.protocol.batch = batch
    return c


def sub_drive(comp, d: Drive, idx) -> Drive:
    spp = comp.steps_per_presentation
    rows = np.concatenate([np.arange(i * spp, (i + 1) * spp) for i in idx])
    return Drive(d.stim[idx], d.labels[idx], d.clamp, d.learn, d.noise[rows])


def warm_states(comp, n: int):
    """n different single-copy states: the circuit after a few different samples."""
    out = []
    for j in range(n):
        e = ReferenceEngine(comp)
        x = np.random.default_rng(j).uniform(0, 1, (2, comp.input_n))
        e.run(make_drive(comp, x, np.array([j % 3, 1]), np.random.default_rng(j), train=True))
        out.append(e.state.copy())
    return out


def test_copies_without_plasticity_are_single_runs():
    B, n = 3, 8  # a partial last round: copies 2 pads there
    comp = compile_circuit(small(B))
    starts = warm_states(comp, B)
    for s in starts[1:]:  # the copies share weights
        s.w[:], s.b[:] = starts[0].w, starts[0].b
    x = np.random.default_rng(5).uniform(0, 1, (n, comp.input_n))
    d = make_drive(comp, x, np.arange(n) % 3, np.random.default_rng(9), train=True)
    d.learn = False
    eng = BatchedReferenceEngine(comp, state=stack_states([s.copy() for s in starts]))
    means = eng.run(d).means
    for j in range(B):
        idx = np.arange(j, n, B)
        single = ReferenceEngine(comp, state=starts[j].copy())
        ref = single.run(sub_drive(comp, d, idx)).means
        np.testing.assert_allclose(means[idx], ref, rtol=0, atol=1e-12)
        if j < n % B:  # a copy without a pad ends where the single run ends
            np.testing.assert_allclose(copy_state(eng.state, j).r, single.state.r, atol=1e-12)
    np.testing.assert_array_equal(eng.state.w, starts[0].w)


def test_update_is_the_mean_of_the_copies_updates():
    B = 3
    comp = compile_circuit(small(B))
    starts = warm_states(comp, B)
    for s in starts[1:]:
        s.w[:], s.b[:] = starts[0].w, starts[0].b
    rng = np.random.default_rng(4)
    stim = rng.uniform(0, 1, (B, comp.input_n))
    labels = np.eye(3)[[0, 2, 1]]
    noise = rng.standard_normal((B, len(comp.noise_idx)))
    every = np.ones(len(comp.rule_names), dtype=bool)
    dw, db = [], []
    for j in range(B):
        e = ReferenceEngine(comp, state=starts[j].copy())
        e._step(stim[j], labels[j], True, noise[j], every)
        dw.append(e.state.w - starts[j].w)
        db.append(e.state.b - starts[j].b)
    eng = BatchedReferenceEngine(comp, state=stack_states([s.copy() for s in starts]))
    eng._step(stim, labels, np.ones(B, bool), noise, every, np.ones(B, bool))
    assert np.abs(np.mean(dw, axis=0)).max() > 1e-6
    np.testing.assert_allclose(eng.state.w - starts[0].w, np.mean(dw, axis=0), atol=1e-14)
    np.testing.assert_allclose(eng.state.b - starts[0].b, np.mean(db, axis=0), atol=1e-14)


def test_copies_on_one_sample_learn_as_one():
    # two copies on the same sample from the same state stay equal; the mean of their
    # updates is the single copy's update, step after step
    c = small(2, noise=0.0)
    comp = compile_circuit(c)
    x = np.random.default_rng(1).uniform(0, 1, (1, comp.input_n))
    d = make_drive(comp, np.repeat(x, 2, 0), np.array([2, 2]), np.random.default_rng(0), train=True)
    d.stim[1] = d.stim[0]  # the same corrupted input
    eng = BatchedReferenceEngine(comp)
    eng.run(d)
    single = ReferenceEngine(comp)
    single.run(Drive(d.stim[:1], d.labels[:1], True, True, d.noise[: comp.steps_per_presentation]))
    assert not np.allclose(single.state.w, comp.initial_state().w)  # it learned
    np.testing.assert_allclose(eng.state.w, single.state.w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(eng.state.b, single.state.b, rtol=0, atol=1e-12)


def test_pads_do_not_learn():
    # one sample in a batch of 4: the three pads add nothing, so it is the single run
    c = small(4, noise=0.0)
    comp = compile_circuit(c)
    comp1 = compile_circuit(small(1, noise=0.0))
    x = np.random.default_rng(3).uniform(0, 1, (1, comp.input_n))
    d = make_drive(comp, x, np.array([1]), np.random.default_rng(0), train=True)
    eng = BatchedReferenceEngine(comp)
    m = eng.run(d).means
    single = ReferenceEngine(comp1)
    m1 = single.run(d).means
    np.testing.assert_allclose(eng.state.w, single.state.w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(m, m1, rtol=0, atol=1e-12)


def test_state_checked_and_recording_refused():
    comp = compile_circuit(small(2))
    with pytest.raises(ValueError, match="shape"):
        BatchedReferenceEngine(comp, state=comp.initial_state())
    d = make_drive(comp, np.zeros((2, 6)), None, np.random.default_rng(0), train=False)
    with pytest.raises(ValueError, match="record_every"):
        BatchedReferenceEngine(comp).run(d, record_every=1)


def test_divergence_names_population():
    c = small(2, noise=0.0)
    c.populations[1].activation = "linear"
    c.projections[0].init.scale = 1e308
    comp = compile_circuit(c)
    d = make_drive(comp, np.ones((2, 6)), None, np.random.default_rng(0), train=False)
    with pytest.raises(DivergenceError, match="'H'"):
        BatchedReferenceEngine(comp).run(d)


def test_temporal_copies_without_plasticity_are_single_runs():
    # compartments, label_delay and stimulus frames (random_circuit(temporal=True)) per copy
    from neurotp.circuit.library import random_circuit

    B, n = 2, 5
    c = random_circuit(1, temporal=True)
    c.protocol.batch = B
    comp = compile_circuit(c)
    assert comp.frames > 1 and comp.label_steps > 0 and len(comp.cpl_dst) > 0
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (n, comp.input_n))
    d = make_drive(comp, x, rng.integers(0, comp.label_n, n), np.random.default_rng(4), train=True)
    d.learn = False
    means = BatchedReferenceEngine(comp).run(d).means
    spp, F = comp.steps_per_presentation, comp.frames
    for j in range(B):
        idx = np.arange(j, n, B)
        rows = np.concatenate([np.arange(i * spp, (i + 1) * spp) for i in idx])
        frames = np.concatenate([np.arange(i * F, (i + 1) * F) for i in idx])
        sub = Drive(d.stim[frames], d.labels[idx], True, False, d.noise[rows], frames=F)
        ref = ReferenceEngine(comp).run(sub).means
        np.testing.assert_allclose(means[idx], ref, rtol=0, atol=1e-12)
