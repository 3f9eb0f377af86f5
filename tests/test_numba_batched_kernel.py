"""The batched kernel: worker threads and held currents give the numbers of one thread and
of new GEMMs, bit for bit; a divergence anywhere stops every worker at the same step."""

import numpy as np
import pytest
from test_numba_batched import drive_of, rich, temporal

from neurotp.circuit import compile_circuit, make_drive
from neurotp.circuit.library import tp_circuit
from neurotp.engines.numba.batched import BatchedNumbaEngine


@pytest.mark.parametrize(
    ("make", "batch", "threads"), [("rich", 8, 2), ("rich", 12, 3), ("temporal", 8, 2)]
)
def test_worker_threads_give_the_numbers_of_one_bit_for_bit(make, batch, threads):
    # every lowering, bounds (the worker's own buffer), pads (a partial last round), two
    # drives and an evaluation, 2 and 3 workers; the temporal features
    comp = compile_circuit(rich(batch) if make == "rich" else temporal(batch))
    one = BatchedNumbaEngine(comp, threads=1)
    many = BatchedNumbaEngine(comp, threads=threads)
    for seed, train in ((0, True), (10, True), (20, False)):
        d = drive_of(comp, 2 * batch + 3, seed, train=train)
        np.testing.assert_array_equal(many.run(d).means, one.run(d).means)
    for key in ("r", "hist", "tr", "w", "b"):
        np.testing.assert_array_equal(getattr(many.state, key), getattr(one.state, key))
    assert many.product_flops == one.product_flops
    assert not np.array_equal(one.state.w, comp.initial_state().w)


@pytest.mark.parametrize("make", ["tp", "temporal"])
def test_held_currents_give_the_numbers_of_new_gemms(make):
    # holding the input current between steps (batched_plan) is the same arithmetic: bit for
    # bit, over windows, frames, a gap, pads (7 samples at B = 3), a bias rule and evaluation
    if make == "tp":
        c = tp_circuit((7, 5, 3))
        c.protocol.batch, c.protocol.gap = 3, 5.0
    else:
        c = temporal(3)
    comp = compile_circuit(c)
    held, fresh = BatchedNumbaEngine(comp, threads=1), BatchedNumbaEngine(comp, threads=1)
    fresh.hold = False
    for seed, train in ((3, True), (4, True), (5, False)):
        d = drive_of(comp, 7, seed, train=train)
        np.testing.assert_array_equal(held.run(d).means, fresh.run(d).means)
    for key in ("r", "hist", "tr", "w", "b"):
        np.testing.assert_array_equal(getattr(held.state, key), getattr(fresh.state, key))
    assert not np.array_equal(held.state.w, comp.initial_state().w)
    assert held.product_flops < fresh.product_flops


def _stop(comp, d, threads):
    """(step, unit) a drive's divergence is reported at, on ``threads`` workers."""
    from neurotp.engines.base import DivergenceError

    eng = BatchedNumbaEngine(comp, threads=threads)
    seen = []
    eng._divergence = lambda t, unit: seen.append((t, unit)) or DivergenceError(t, "x")
    with pytest.raises(DivergenceError):
        eng.run(d)
    assert eng.state.t == seen[0][0]
    return seen[0]


@pytest.mark.parametrize(
    ("train", "bad"),
    [
        # (sample, input unit) made infinite; B = 8: workers of 2 hold copies 0-3 and 4-7, of 3
        # none, 0-3 and 4-7 (shares start at multiples of 4); sample i is copy i % 8 in round
        # i // 8
        (True, [(3 + 8, 2)]),  # the first worker's copies only
        (True, [(5, 4), (1 + 8, 2)]),  # the second worker's copy first, a round earlier
        (True, [(6, 1), (2, 5)]),  # the same step: the lowest copy's unit wins
        (False, [(6 + 8, 3), (1 + 16, 0)]),  # evaluation: no barrier at all
    ],
)
def test_a_divergence_stops_at_the_step_and_unit_one_thread_finds(train, bad):
    # workers meet only at the rule barriers: the one that finds a non-finite rate returns
    # and stops the others; the earliest step, then the lowest copy, is reported
    comp = compile_circuit(rich(8))
    d = drive_of(comp, 24, 0, train=train)
    for i, u in bad:
        d.stim[i, u] = np.inf
    first = _stop(comp, d, 1)
    assert first[1] == comp.input_off + min(bad, key=lambda iu: (iu[0] // 8, iu[0] % 8))[1]
    for n in (2, 3):
        assert _stop(comp, d, n) == first


def test_a_hidden_divergence_mid_presentation_stops_at_the_same_step():
    # H overflows in one copy of the second worker only, at a step where no rule is open
    c = tp_circuit((7, 5, 3))
    c.protocol.batch = 8
    c.populations[1].activation = "linear"
    comp = compile_circuit(c)
    x = np.random.default_rng(0).uniform(0, 1, (16, 7))
    x[13] = 1e308  # round 1, copy 5
    d = make_drive(comp, x, np.arange(16) % 3, np.random.default_rng(1), train=True)
    first = _stop(comp, d, 1)
    assert comp.pop_names[int(comp.unit_pop[first[1]])] == "H"
    assert first[0] % 40 < 30  # a closed step: the rules are open at 30-39
    assert _stop(comp, d, 2) == first
