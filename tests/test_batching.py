"""The batched layout: samples to copies round-robin, pads, states with a copy axis."""

import numpy as np

from neurotp.circuit import compile_circuit, make_drive
from neurotp.circuit.library import tp_circuit
from neurotp.engines.base import check_state
from neurotp.engines.batching import batched_state, copy_state, rounds, stack_states, unround


def _comp(batch=3):
    c = tp_circuit((6, 4, 3))
    c.populations[1].noise = 0.1
    c.protocol.batch = batch
    return compile_circuit(c)


def test_rounds_round_robin_with_padding():
    comp = _comp()
    x = np.arange(7 * 6, dtype=float).reshape(7, 6)
    d = make_drive(comp, x, np.arange(7) % 3, np.random.default_rng(0), train=True)
    rd = rounds(comp, d, 3)
    assert rd.stim.shape == (3, 3, 1, 6)  # (rounds, copies, frames, inputs)
    assert rd.index.tolist() == [[0, 1, 2], [3, 4, 5], [6, -1, -1]]
    assert rd.active.tolist() == [[True] * 3, [True] * 3, [True, False, False]]
    np.testing.assert_array_equal(rd.stim[1, 2, 0], d.stim[5])
    assert not rd.stim[2, 1:].any()  # pads present a blank
    spp = comp.steps_per_presentation
    # round q, step k, copy j reads sample (q*B + j)'s noise row k
    np.testing.assert_array_equal(rd.noise[1 * spp + 4, 2], d.noise[5 * spp + 4])
    assert not rd.noise[2 * spp :, 1:].any()
    back = unround(comp, rd.stim[:, :, 0], rd.index, 7)
    np.testing.assert_array_equal(back, d.stim)


def test_batched_state_shapes_and_copies():
    comp = _comp(batch=4)
    s = batched_state(comp, 4)
    check_state(comp, s, np.float64, batch=4)
    s.r[2] = 5.0
    one = copy_state(s, 2)
    check_state(comp, one)
    assert np.all(one.r == 5.0)
    back = stack_states([copy_state(s, j) for j in range(4)])
    for key in ("r", "hist", "tr", "w", "b"):
        np.testing.assert_array_equal(getattr(back, key), getattr(s, key))


def test_rounds_keep_the_frames_of_each_sample():
    c = tp_circuit((6, 4, 3))
    c.protocol.frames = 4
    comp = compile_circuit(c)
    x = np.arange(5 * 6, dtype=float).reshape(5, 6)
    d = make_drive(comp, x, None, np.random.default_rng(0), train=False)
    rd = rounds(comp, d, 2)
    assert rd.stim.shape == (3, 2, 4, 6)
    for f in range(4):  # sample 3 = round 1, copy 1
        np.testing.assert_array_equal(rd.stim[1, 1, f], d.stim[3 * 4 + f])


def test_the_batched_engines_refuse_a_step_recording_naming_the_engine_that_records():
    import pytest

    from neurotp.engines.batching import refuse_recording

    refuse_recording(0)
    with pytest.raises(ValueError, match="record_every: .*Simulation.single_engine"):
        refuse_recording(5)
