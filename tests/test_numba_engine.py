"""Numba engine against the reference engine (ground truth) and basic contracts."""

import numpy as np
import pytest

from neurotp.circuit import compile_circuit, make_drive
from neurotp.circuit.library import random_circuit
from neurotp.engines import DivergenceError
from neurotp.engines.numba_engine import NumbaEngine, fusable_projections
from neurotp.engines.reference import ReferenceEngine


def one_second_drive(comp, seed=2):
    c = comp.circuit
    n_pres = int(np.ceil(1000.0 / (c.protocol.present + c.protocol.gap)))
    rng = np.random.default_rng(seed)
    x = rng.random((n_pres, comp.input_n))
    y = rng.integers(0, max(comp.label_n, 1), n_pres)
    return make_drive(comp, x, y, np.random.default_rng(seed + 1), train=True)


@pytest.mark.parametrize("seed", [0, 1])
def test_numba_equals_reference_after_one_second_every_rule(seed):
    comp = compile_circuit(random_circuit(seed))
    kinds = {r.kind for r in comp.circuit.rules}
    assert kinds == {"prediction", "reconstruction", "delta", "oja", "recirculation"}
    drive = one_second_drive(comp)
    ref, nb = ReferenceEngine(comp), NumbaEngine(comp)
    a, b = ref.run(drive), nb.run(drive)
    assert ref.state.t * comp.dt >= 1000.0
    init = comp.initial_state()
    for key in ("r", "hist", "tr", "w", "b"):
        x, y = getattr(ref.state, key), getattr(nb.state, key)
        assert np.max(np.abs(x - y)) <= 1e-9, key
    # every rule really changed its weights (the comparison is not trivially equal)
    for name in comp.proj_names:
        if name in {r.projection for r in comp.circuit.rules}:
            moved = comp.proj_matrix(nb.state.w, name) - comp.proj_matrix(init.w, name)
            assert np.abs(moved).max() > 1e-4, name
    assert np.max(np.abs(a.means - b.means)) <= 1e-9


def test_each_rule_alone_matches_reference():
    base = random_circuit(0)
    for rule in base.rules:
        c = random_circuit(0)
        c.rules = [r for r in c.rules if r.name == rule.name]
        comp = compile_circuit(c)
        drive = one_second_drive(comp)
        ref, nb = ReferenceEngine(comp), NumbaEngine(comp)
        ref.run(drive)
        nb.run(drive)
        assert np.max(np.abs(ref.state.w - nb.state.w)) <= 1e-9, rule.kind


def test_fusion_excludes_tied_and_oja():
    comp = compile_circuit(random_circuit(0))
    fused = dict(zip(comp.proj_names, fusable_projections(comp), strict=True))
    assert not fused["TS"] and not fused["YS"]  # tied
    assert not fused["GH"]  # Oja
    assert fused["XH"] and fused["HY"]


def test_same_seed_same_numbers():
    comp = compile_circuit(random_circuit(4))
    out = []
    for _ in range(2):
        eng = NumbaEngine(comp)
        eng.run(one_second_drive(comp, seed=9))
        out.append(eng.state.w.copy())
    assert np.array_equal(out[0], out[1])


def test_float32_close_to_float64():
    comp = compile_circuit(random_circuit(0))
    drive = one_second_drive(comp)
    e64, e32 = NumbaEngine(comp), NumbaEngine(comp, dtype=np.float32)
    e64.run(drive)
    e32.run(drive)
    assert e32.state.w.dtype == np.float32
    assert np.max(np.abs(e64.state.w - e32.state.w)) < 1e-3


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


def test_reference_rejects_float32_and_spiking():
    comp = compile_circuit(random_circuit(0))
    with pytest.raises(ValueError, match="allowed: float64"):
        ReferenceEngine(comp, dtype=np.float32)
    c = random_circuit(0)
    c.populations[1].model = "lif"
    with pytest.raises(ValueError, match="runs on backend 'brian2' only"):
        NumbaEngine(compile_circuit(c))
