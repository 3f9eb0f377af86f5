"""The batched kernel: worker threads and held currents give the numbers of one thread and
of new GEMMs, bit for bit; a divergence anywhere stops every worker at the same step."""

import numpy as np
import pytest
from test_numba_batched import drive_of, rich, temporal

from neurotp.circuit import compile_circuit
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


def test_a_divergence_in_the_second_workers_copies_stops_both():
    from neurotp.engines.base import DivergenceError

    comp = compile_circuit(rich(4))
    d = drive_of(comp, 8, 0)
    d.stim[3, 2] = np.inf  # sample 3: copy 3, the second worker's share
    errors = []
    for n in (1, 2):
        with pytest.raises(DivergenceError) as err:
            BatchedNumbaEngine(comp, threads=n).run(d)
        errors.append(str(err.value))
    assert errors[0] == errors[1] and "X" in errors[0]
