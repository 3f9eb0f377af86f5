"""Numba engine against the reference engine (ground truth) and basic contracts."""

import numpy as np
import pytest

from neurotp.circuit import compile_circuit, make_drive
from neurotp.circuit.library import bench_circuit, random_circuit
from neurotp.engines import DivergenceError
from neurotp.engines.numba_engine import NumbaEngine, block_plan, fusable_projections
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


# ---- delay blocks (block_plan) ----------------------------------------------


def _scaled_delays(c, factor):
    for p in c.projections:
        p.delay *= factor
    for t in c.traces:
        t.delay *= factor
    return c


def test_block_plan_gives_each_projection_its_delay_and_skips_what_it_cannot_block():
    comp = compile_circuit(random_circuit(0))
    ks, pre_tr = block_plan(comp, "delay")
    got = {n: int(k) for n, k in zip(comp.proj_names, ks, strict=True) if k}
    # untied, not Oja, unbounded, at most one rule, delay >= 2 steps (dt 0.5 ms); K = delay:
    # XH (prediction, 1 ms), YL (1 ms), HZ (1 ms); not HY (bounded), TS/YS (tied), GH (Oja),
    # the 0.5 ms ones
    assert got == {"XH": 2, "YL": 2, "HZ": 2}
    assert pre_tr[comp.proj_names.index("XH")] == comp.trace_names.index("X_bar")
    assert not block_plan(comp, block_steps=1)[0].any()
    with pytest.raises(ValueError, match="block_steps"):
        block_plan(comp, block_steps=0)
    comp4 = compile_circuit(_scaled_delays(random_circuit(0), 4.0))
    plan4 = block_plan(comp4, "delay")[0]
    got4 = {n: int(k) for n, k in zip(comp4.proj_names, plan4, strict=True) if k}
    assert got4 == {"XH": 8, "YT": 4, "LT": 4, "YL": 8, "HG": 4, "HZ": 8, "ZQ": 4}
    forced = block_plan(comp4, block_steps=6)[0]
    assert {n for n, k in zip(comp4.proj_names, forced, strict=True) if k == 6} == {
        "XH",
        "YL",
        "HZ",
    }
    assert block_plan(compile_circuit(bench_circuit(n=8)), "delay")[0].tolist() == [2, 3]
    assert not block_plan(comp, None)[0].any()
    with pytest.raises(ValueError, match="block_steps"):
        block_plan(comp, block_steps="fast")
    # no eligible projection learns (digits_tp: 1-step delays on the plastic ones): no blocks
    from neurotp.circuit import load_circuit

    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    digits = compile_circuit(load_circuit(root / "circuits/digits_tp.yaml"))
    assert not block_plan(digits, "delay")[0].any()


@pytest.mark.parametrize("factor", [1.0, 4.0])
def test_delay_blocks_equal_reference_and_step_loop(factor):
    comp = compile_circuit(_scaled_delays(random_circuit(1), factor))
    drive = one_second_drive(comp)
    ref, blk, step = ReferenceEngine(comp), NumbaEngine(comp), NumbaEngine(comp, block_steps=1)
    assert blk.block_k.max() >= 2 and not step.block_k.any()
    for e in (ref, blk, step):
        e.run(drive)
    for key in ("r", "hist", "tr", "w", "b"):
        assert np.max(np.abs(getattr(ref.state, key) - getattr(blk.state, key))) <= 1e-9, key
    xh = comp.proj_matrix(blk.state.w, "XH") - comp.proj_matrix(comp.initial_state().w, "XH")
    assert np.abs(xh).max() > 1e-4  # the blocked prediction rule really learned


def test_delay_blocks_across_run_calls_and_presentations():
    # 3-step blocks, 50 steps per presentation: blocks straddle presentations and run() calls
    c = _scaled_delays(random_circuit(0, present=20.0), 3.0)
    c.protocol.gap = 5.0
    comp = compile_circuit(c)
    assert comp.steps_per_presentation % 3 != 0
    drive = one_second_drive(comp)
    whole, parts = NumbaEngine(comp, block_steps=3), NumbaEngine(comp, block_steps=3)
    assert set(whole.block_k[whole.block_k > 0].tolist()) == {3}
    whole.run(drive)
    n = drive.n_presentations
    spp = comp.steps_per_presentation
    for sl in (slice(0, n // 3), slice(n // 3, n)):
        parts.run(
            type(drive)(
                stim=drive.stim[sl],
                labels=None if drive.labels is None else drive.labels[sl],
                noise=drive.noise[sl.start * spp : sl.stop * spp],
                clamp=drive.clamp,
                learn=drive.learn,
            )
        )
    for key in ("r", "tr", "w", "b"):
        assert np.max(np.abs(getattr(whole.state, key) - getattr(parts.state, key))) <= 1e-12
    ref = ReferenceEngine(comp)  # and the 3-step sweeps (four rows at a time) are exact
    ref.run(drive)
    for key in ("r", "tr", "w", "b"):
        assert np.max(np.abs(getattr(ref.state, key) - getattr(whole.state, key))) <= 1e-9, key


@pytest.mark.parametrize("n", [8, 10])
@pytest.mark.parametrize("block_steps", ["delay", 2])
def test_bench_circuit_blocks_equal_reference(n, block_steps):
    # the benchmark's circuit: 2-step blocks with a pre trace (XF), 3-step (or 2-step) blocks
    # without (FR); n = 10 leaves two rows to the one-row path after the four-row sweeps
    comp = compile_circuit(bench_circuit(n=n))
    drive = one_second_drive(comp)
    ref, blk = ReferenceEngine(comp), NumbaEngine(comp, block_steps=block_steps)
    assert blk.block_k.tolist() == ([2, 3] if block_steps == "delay" else [2, 2])
    ref.run(drive)
    blk.run(drive)
    for key in ("r", "tr", "w", "b"):
        assert np.max(np.abs(getattr(ref.state, key) - getattr(blk.state, key))) <= 1e-9, key
    moved = comp.proj_matrix(blk.state.w, "FR") - comp.proj_matrix(comp.initial_state().w, "FR")
    assert np.abs(moved).max() > 1e-6


def test_float32_delay_blocks_close_to_float64():
    comp = compile_circuit(bench_circuit(n=64))
    drive = one_second_drive(comp)
    e64, e32 = NumbaEngine(comp), NumbaEngine(comp, dtype=np.float32)
    e64.run(drive)
    e32.run(drive)
    # default: delay blocks in both dtypes (docs/engines.md)
    assert e64.block_k.tolist() == e32.block_k.tolist() == [2, 3]
    assert e32.state.w.dtype == np.float32
    assert np.max(np.abs(e64.state.w - e32.state.w)) < 1e-4
