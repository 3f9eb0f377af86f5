"""The Numba engine (neurotp.engines.numba.engine) against the reference engine (ground
truth), and its contracts: dtypes, determinism, divergence, eta read at every drive."""

import numpy as np
import pytest
from helpers import max_state_difference, one_second_drive, split_drive

from neurotp.circuit import compile_circuit
from neurotp.circuit.library import random_circuit
from neurotp.engines import DivergenceError
from neurotp.engines.numba import NumbaEngine
from neurotp.engines.reference import ReferenceEngine

ALL_KINDS = {"prediction", "reconstruction", "delta", "oja", "recirculation", "general"}


@pytest.mark.parametrize("seed", [0, 1])
def test_numba_equals_reference_after_one_second_every_rule(seed):
    comp = compile_circuit(random_circuit(seed, general=True))
    assert {r.kind for r in comp.circuit.rules} == ALL_KINDS
    drive = one_second_drive(comp)
    ref, nb = ReferenceEngine(comp), NumbaEngine(comp)
    a, b = ref.run(drive), nb.run(drive)
    assert ref.state.t * comp.dt >= 1000.0
    diff = max_state_difference(ref.state, nb.state)
    assert max(diff.values()) <= 1e-9, diff
    # every rule really changed its weights (the comparison is not trivially equal)
    init = comp.initial_state()
    for name in {r.projection for r in comp.circuit.rules}:
        moved = comp.proj_matrix(nb.state.w, name) - comp.proj_matrix(init.w, name)
        assert np.abs(moved).max() > 1e-4, name
    assert np.max(np.abs(a.means - b.means)) <= 1e-9


def test_general_rules_start_outside_their_bounds_and_are_clipped():
    comp = compile_circuit(random_circuit(0, general=True))
    w0 = comp.proj_matrix(comp.initial_state().w, "SZ")
    assert np.abs(w0).max() > 0.25  # gen_SZ's bounds are ±0.25
    nb = NumbaEngine(comp)
    nb.run(one_second_drive(comp))
    assert np.abs(comp.proj_matrix(nb.state.w, "SZ")).max() <= 0.25


def test_each_rule_alone_matches_reference():
    base = random_circuit(0, general=True)
    for rule in base.rules:
        c = random_circuit(0, general=True)
        c.rules = [r for r in c.rules if r.name == rule.name]
        comp = compile_circuit(c)
        drive = one_second_drive(comp)
        ref, nb = ReferenceEngine(comp), NumbaEngine(comp)
        ref.run(drive)
        nb.run(drive)
        assert max(max_state_difference(ref.state, nb.state).values()) <= 1e-9, rule.name


@pytest.mark.parametrize("block_steps", ["delay", 1])
def test_learning_switched_off_between_drives_matches_reference(block_steps):
    comp = compile_circuit(random_circuit(1, general=True))
    parts = split_drive(comp, one_second_drive(comp), 3, learn=(True, False, True))
    ref, nb = ReferenceEngine(comp), NumbaEngine(comp, block_steps=block_steps)
    assert nb.block_k.any() == (block_steps == "delay")
    after_first = None
    for i, d in enumerate(parts):
        ref.run(d)
        nb.run(d)
        diff = max_state_difference(ref.state, nb.state)
        assert max(diff.values()) <= 1e-9, (i, diff)
        if i == 0:
            after_first = nb.state.w.copy()
        if i == 1:  # the drive without learning left the weights alone
            assert np.array_equal(nb.state.w, after_first)


def test_eta_is_read_at_every_drive():
    # Simulation rescales comp.rules.eta in place between epochs (lr_decay)
    comp = compile_circuit(random_circuit(0, general=True))
    parts = split_drive(comp, one_second_drive(comp), 2)
    ref, nb = ReferenceEngine(comp), NumbaEngine(comp)
    base = comp.rules.eta.copy()
    comp.rules.eta[:] = base * 0.0  # first drive: no learning at all
    ref.run(parts[0])
    nb.run(parts[0])
    assert max(max_state_difference(ref.state, nb.state).values()) <= 1e-9
    w0 = comp.initial_state().w
    for r in comp.circuit.rules:  # only clipping to bounds moved weights
        before = comp.proj_matrix(w0, r.projection)
        inside = r.bounds is None or bool(np.all(np.clip(before, *r.bounds) == before))
        assert np.array_equal(comp.proj_matrix(nb.state.w, r.projection), before) == inside
        assert inside or r.name == "gen_SZ"
    comp.rules.eta[:] = base * 0.5
    ref.run(parts[1])
    nb.run(parts[1])
    assert max(max_state_difference(ref.state, nb.state).values()) <= 1e-9
    assert not np.array_equal(nb.state.w, comp.initial_state().w)


def test_same_seed_same_numbers():
    comp = compile_circuit(random_circuit(4, general=True))
    out = []
    for _ in range(2):
        eng = NumbaEngine(comp)
        eng.run(one_second_drive(comp, seed=9))
        out.append(eng.state.w.copy())
    assert np.array_equal(out[0], out[1])


def test_float32_close_to_float64():
    comp = compile_circuit(random_circuit(0, general=True))
    drive = one_second_drive(comp)
    e64, e32 = NumbaEngine(comp), NumbaEngine(comp, dtype=np.float32)
    e64.run(drive)
    e32.run(drive)
    assert e32.state.w.dtype == np.float32
    assert np.max(np.abs(e64.state.w - e32.state.w)) < 1e-3


def test_recording_every_other_step_of_chosen_units():
    comp = compile_circuit(random_circuit(0))
    drive = one_second_drive(comp)
    units = np.array([3, 0, 7])
    ref, nb = ReferenceEngine(comp), NumbaEngine(comp)
    a = ref.run(drive, record_every=2, record_units=units)
    b = nb.run(drive, record_every=2, record_units=units)
    n_steps = drive.n_presentations * comp.steps_per_presentation
    assert b.record.shape == ((n_steps + 1) // 2, 3)
    assert np.max(np.abs(a.record - b.record)) <= 1e-9
    assert nb.run(drive).record is None


def test_divergence_names_time_and_population():
    c = random_circuit(0)
    c.populations[6].activation = "linear"  # G: linear with strong recurrent drive
    for p in c.projections:
        if p.name in ("HG", "GH"):
            p.init.scale = 40.0
    c.populations[1].activation = "linear"
    comp = compile_circuit(c)
    drive = one_second_drive(comp)
    for engine in (ReferenceEngine(comp), NumbaEngine(comp)):
        pattern = r"population '(H|G)' became NaN/inf at t="
        with pytest.raises(DivergenceError, match=pattern) as err:
            engine.run(drive)
        assert err.value.time_ms > 0


def test_rejects_other_dtypes_and_spiking():
    comp = compile_circuit(random_circuit(0))
    with pytest.raises(ValueError, match="allowed: float64, float32"):
        NumbaEngine(comp, dtype=np.int32)
    with pytest.raises(ValueError, match="allowed: float64"):
        ReferenceEngine(comp, dtype=np.float32)
    c = random_circuit(0)
    c.populations[1].model = "lif"
    with pytest.raises(ValueError, match="runs on backend 'brian2' only"):
        NumbaEngine(compile_circuit(c))


@pytest.mark.parametrize("block_steps", [1, "delay"])
def test_a_preset_added_only_to_the_rule_table_runs_on_numba(block_steps):
    """temporal_prediction, (p − p̄)·x̄, was added as one PRESETS entry: Numba runs it as the
    reference does (x̄ on both pre sides: the delay-block pattern (x̄, x̄) when blocked)."""
    from neurotp.circuit import Rule

    c = random_circuit(4, present=20.0)
    for p in c.projections:  # long enough delays for a delay block of 2 on XH
        if p.name == "XH":
            p.delay = 2.0
    for t in c.traces:
        if t.name == "X_bar":
            t.delay = 2.0
    c.rules.append(
        Rule("tp_XH", "temporal_prediction", "XH", lr=0.02, pre_trace="X_bar", post_trace="H_bar")
    )
    comp = compile_circuit(c)
    drive = one_second_drive(comp)
    ref, nb = ReferenceEngine(comp), NumbaEngine(comp, block_steps=block_steps)
    ref.run(drive)
    nb.run(drive)
    assert max(max_state_difference(ref.state, nb.state).values()) <= 1e-9
    moved = comp.proj_matrix(ref.state.w, "XH") - comp.proj_matrix(comp.initial_state().w, "XH")
    assert np.abs(moved).max() > 1e-3
