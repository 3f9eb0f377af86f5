"""Delay blocks (neurotp.engines.numba.blocks): which projections block_plan blocks, and
blocked runs equal to the reference and to the step loop, for every pre-signal pattern."""

from pathlib import Path

import numpy as np
import pytest
from helpers import max_state_difference, one_second_drive, scaled_delays, split_drive

from neurotp.circuit import compile_circuit, load_circuit
from neurotp.circuit.library import bench_circuit, random_circuit
from neurotp.circuit.spec import FormTerm, Rule, RuleForm, Trace
from neurotp.engines.numba import NumbaEngine, block_plan
from neurotp.engines.reference import ReferenceEngine

ROOT = Path(__file__).resolve().parents[1]


def _blocked(comp, ks):
    return {n: int(k) for n, k in zip(comp.proj_names, ks, strict=True) if k}


def test_block_plan_gives_each_projection_its_delay_and_skips_what_it_cannot_block():
    comp = compile_circuit(random_circuit(0))
    ks, pre_tr = block_plan(comp, "delay")
    # untied, not Oja, unbounded, at most one rule, delay >= 2 steps (dt 0.5 ms); K = delay:
    # XH (prediction, 1 ms), YL (1 ms), HZ (1 ms); not HY (bounded), TS/YS (tied), GH (Oja),
    # the 0.5 ms ones
    assert _blocked(comp, ks) == {"XH": 2, "YL": 2, "HZ": 2}
    assert pre_tr[comp.proj_names.index("XH")] == comp.trace_names.index("X_bar")
    assert not block_plan(comp, block_steps=1)[0].any()
    with pytest.raises(ValueError, match="block_steps"):
        block_plan(comp, block_steps=0)
    comp4 = compile_circuit(scaled_delays(random_circuit(0), 4.0))
    got4 = _blocked(comp4, block_plan(comp4, "delay")[0])
    assert got4 == {"XH": 8, "YT": 4, "LT": 4, "YL": 8, "HG": 4, "HZ": 8, "ZQ": 4}
    forced = block_plan(comp4, block_steps=6)[0]
    assert set(_blocked(comp4, forced)) == {"XH", "YL", "HZ"}
    assert block_plan(compile_circuit(bench_circuit(n=8)), "delay")[0].tolist() == [2, 3]
    assert not block_plan(comp, None)[0].any()
    with pytest.raises(ValueError, match="block_steps"):
        block_plan(comp, block_steps="fast")
    # no eligible projection learns (digits_tp: 1-step delays on the plastic ones): no blocks
    digits = compile_circuit(load_circuit(ROOT / "circuits/digits_tp.yaml"))
    assert not block_plan(digits, "delay")[0].any()


def test_block_plan_takes_general_rules_with_one_pre_trace_and_unbounded():
    comp = compile_circuit(random_circuit(0, general=True))
    ks, pre_tr = block_plan(comp, "delay")
    # gen_HQ (a = x̄, b = x, post-side trace and rate) is blocked; gen_SZ is bounded
    assert _blocked(comp, ks) == {"XH": 2, "YL": 2, "HZ": 2, "HQ": 2}
    assert pre_tr[comp.proj_names.index("HQ")] == comp.trace_names.index("H_bar_1")


def _bench_with(form: RuleForm | None, n: int = 10):
    """bench_circuit with FR's rule replaced by a general rule of ``form`` (two pre traces of
    F at FR's delay to choose from)."""
    c = bench_circuit(n=n)
    c.traces += [Trace("F_d", "F", tau=4.0, delay=3.0), Trace("F_d2", "F", tau=2.0, delay=3.0)]
    if form is not None:
        c.rules[1] = Rule("gen_FR", "general", "FR", lr=3e-3, bias=True, form=form)
    return compile_circuit(c)


PATTERNS = {
    "x, xbar": ("pre", "trace:F_d", True),
    "xbar, xbar": ("trace:F_d", "trace:F_d", True),
    "x, x": ("pre", "pre", True),
    "xbar, x": ("trace:F_d", "pre", True),
    "two traces": ("trace:F_d", "trace:F_d2", False),
}


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_general_rule_blocks_equal_reference_for_every_pre_signal_pattern(pattern):
    a, b, blocked = PATTERNS[pattern]
    form = RuleForm(
        plus=[FormTerm("trace:F_bar", 1.0), FormTerm("rate:R", -0.2)],
        plus_pre=a,
        minus_coef=0.7,
        minus_post="post",
        minus_pre=b,
    )
    comp = _bench_with(form)
    drive = one_second_drive(comp)
    ref, blk, step = ReferenceEngine(comp), NumbaEngine(comp), NumbaEngine(comp, block_steps=1)
    assert (blk.block_k[comp.proj_names.index("FR")] == 3) == blocked
    for e in (ref, blk, step):
        e.run(drive)
    for e in (blk, step):
        diff = max_state_difference(ref.state, e.state)
        assert max(diff.values()) <= 1e-9, diff
    moved = comp.proj_matrix(blk.state.w, "FR") - comp.proj_matrix(comp.initial_state().w, "FR")
    assert np.abs(moved).max() > 1e-4


@pytest.mark.parametrize("factor", [1.0, 4.0])
def test_delay_blocks_equal_reference_and_step_loop(factor):
    comp = compile_circuit(scaled_delays(random_circuit(1, general=True), factor))
    drive = one_second_drive(comp)
    ref, blk, step = ReferenceEngine(comp), NumbaEngine(comp), NumbaEngine(comp, block_steps=1)
    assert blk.block_k.max() >= 2 and not step.block_k.any()
    for e in (ref, blk, step):
        e.run(drive)
    for e in (blk, step):
        diff = max_state_difference(ref.state, e.state)
        assert max(diff.values()) <= 1e-9, diff
    for name in ("XH", "HQ"):  # the blocked prediction and general rules really learned
        moved = comp.proj_matrix(blk.state.w, name) - comp.proj_matrix(comp.initial_state().w, name)
        assert np.abs(moved).max() > 1e-4, name


def test_delay_blocks_across_drives_and_presentations():
    # 3-step blocks, 50 steps per presentation: blocks straddle presentations and drives
    c = scaled_delays(random_circuit(0, present=20.0, general=True), 3.0)
    c.protocol.gap = 5.0
    comp = compile_circuit(c)
    assert comp.steps_per_presentation % 3 != 0
    drive = one_second_drive(comp)
    whole, parts = NumbaEngine(comp, block_steps=3), NumbaEngine(comp, block_steps=3)
    assert set(whole.block_k[whole.block_k > 0].tolist()) == {3}
    whole.run(drive)
    for d in split_drive(comp, drive, 2):
        parts.run(d)
    diff = max_state_difference(whole.state, parts.state, ("r", "tr", "w", "b"))
    assert max(diff.values()) <= 1e-12, diff
    ref = ReferenceEngine(comp)  # and the 3-step sweeps (four rows at a time) are exact
    ref.run(drive)
    diff = max_state_difference(ref.state, whole.state, ("r", "tr", "w", "b"))
    assert max(diff.values()) <= 1e-9, diff


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
    diff = max_state_difference(ref.state, blk.state, ("r", "tr", "w", "b"))
    assert max(diff.values()) <= 1e-9, diff
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
