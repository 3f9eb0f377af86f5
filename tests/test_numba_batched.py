"""The batched Numba engine against the batched reference and against single-copy runs."""

import numpy as np
import pytest

from neurotp.circuit import FormTerm, Rule, RuleForm, Trace, compile_circuit, make_drive
from neurotp.circuit.library import tp_circuit
from neurotp.engines.batched_reference import BatchedReferenceEngine
from neurotp.engines.batching import copy_state, stack_states
from neurotp.engines.numba import NumbaEngine, batched
from neurotp.engines.numba.batched import BatchedNumbaEngine
from neurotp.engines.numba.batched_plan import presentation_flops


def rich(batch: int):
    """The TP circuit plus rules of every lowering: a = x, b = x̄ (swap); two traces; bounds."""
    c = tp_circuit((7, 5, 3))
    c.populations[1].noise = 0.05
    c.protocol.batch = batch
    c.traces.append(Trace("X_bar2", "X", tau=3.0, delay=1.0))
    c.rules += [
        Rule(
            "swap",
            "general",
            "XH",
            lr=0.01,
            window=(20.0, 40.0),
            bias=True,
            form=RuleForm([FormTerm("rate:HT", 0.5)], "pre", 1.0, "post", "trace:X_bar"),
        ),
        Rule(
            "two_traces",
            "general",
            "XH",
            lr=0.005,
            bounds=(-0.6, 0.6),
            form=RuleForm([FormTerm("trace:H_bar")], "trace:X_bar2", 0.7, "post", "trace:X_bar"),
        ),
    ]
    return c


def drive_of(comp, n, seed, train=True):
    x = np.random.default_rng(seed).uniform(0, 1, (n, comp.input_n))
    return make_drive(comp, x, np.arange(n) % 3, np.random.default_rng(seed + 1), train=train)


@pytest.mark.parametrize("batch", [2, 5])
def test_numba_equals_batched_reference_with_plasticity(batch):
    comp = compile_circuit(rich(batch))
    ref, nb = BatchedReferenceEngine(comp), BatchedNumbaEngine(comp, threads=1)
    for seed in (0, 10):  # two drives: the state carries over; 11 = a partial last round
        d = drive_of(comp, 11, seed)
        m_ref, m_nb = ref.run(d).means, nb.run(d).means
        np.testing.assert_allclose(m_nb, m_ref, rtol=0, atol=1e-9)
    assert not np.allclose(ref.state.w, comp.initial_state().w)
    for key in ("r", "hist", "tr", "w", "b"):
        np.testing.assert_allclose(
            getattr(nb.state, key), getattr(ref.state, key), rtol=0, atol=1e-9, err_msg=key
        )
    assert nb.state.t == ref.state.t
    assert np.all(np.abs(comp.proj_matrix(nb.state.w, "XH")) <= 0.6 + 1e-12)  # bounds held


def test_copies_without_plasticity_equal_single_numba_runs():
    B, n = 3, 7
    comp = compile_circuit(rich(B))
    d = drive_of(comp, n, 3, train=True)
    d.learn = False
    eng = BatchedNumbaEngine(comp, threads=1)
    means = eng.run(d).means
    spp = comp.steps_per_presentation
    for j in range(B):
        idx = np.arange(j, n, B)
        rows = np.concatenate([np.arange(i * spp, (i + 1) * spp) for i in idx])
        sub = type(d)(d.stim[idx], d.labels[idx], d.clamp, False, d.noise[rows])
        single = NumbaEngine(comp)
        np.testing.assert_allclose(means[idx], single.run(sub).means, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(eng.state.w, comp.initial_state().w)


def test_default_threads_respects_omp_num_threads(monkeypatch):
    import os

    cores = len(os.sched_getaffinity(0))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert batched.default_threads() == cores
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # what Dask sets in its workers
    assert batched.default_threads() == 1
    assert BatchedNumbaEngine(compile_circuit(rich(4))).threads == 1
    monkeypatch.setenv("OMP_NUM_THREADS", str(cores + 5))
    assert batched.default_threads() == cores
    monkeypatch.setenv("OMP_NUM_THREADS", "lots")  # not a number: ignored
    assert batched.default_threads() == cores


def test_threads_and_float32():
    comp = compile_circuit(rich(4))
    d = drive_of(comp, 8, 4)
    f32 = BatchedNumbaEngine(comp, dtype=np.float32, threads=1)
    m32 = f32.run(d).means
    assert f32.state.w.dtype == np.float32
    m64 = BatchedReferenceEngine(comp).run(d).means
    np.testing.assert_allclose(m32, m64, rtol=0, atol=1e-3)


def test_resumes_from_its_own_state():
    comp = compile_circuit(rich(3))
    a = BatchedNumbaEngine(comp, threads=1)
    d1, d2 = drive_of(comp, 6, 1), drive_of(comp, 6, 2)
    a.run(d1)
    b = BatchedNumbaEngine(comp, threads=1, state=a.state.copy())
    np.testing.assert_array_equal(a.run(d2).means, b.run(d2).means)
    np.testing.assert_array_equal(a.state.w, b.state.w)
    single = stack_states([copy_state(a.state, j) for j in range(3)])
    np.testing.assert_array_equal(single.r, a.state.r)


def test_refusals():
    comp = compile_circuit(rich(2))
    with pytest.raises(ValueError, match="block_steps"):
        BatchedNumbaEngine(comp, block_steps="delay")
    with pytest.raises(ValueError, match="threads"):
        BatchedNumbaEngine(comp, threads=0)
    with pytest.raises(ValueError, match="float64, float32"):
        BatchedNumbaEngine(comp, dtype=np.float16)
    c = rich(2)
    c.rules = [Rule("o", "oja", "XH", lr=0.01)]
    with pytest.raises(ValueError, match=r"rules \(o\).kind: oja"):
        BatchedNumbaEngine(compile_circuit(c))
    with pytest.raises(ValueError, match="record_every"):
        BatchedNumbaEngine(comp).run(drive_of(comp, 2, 0), record_every=1)


def test_diagonal_currents_equal_the_gemm_path(monkeypatch):
    comp = compile_circuit(rich(3))
    d = drive_of(comp, 7, 3)
    fast = BatchedNumbaEngine(comp, threads=1)
    m_fast = fast.run(d).means
    monkeypatch.setattr(
        batched, "diagonal_projections", lambda c, w, learn: np.zeros(len(c.proj_names), bool)
    )
    dense = BatchedNumbaEngine(comp, threads=1)
    np.testing.assert_allclose(dense.run(d).means, m_fast, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dense.state.w, fast.state.w, rtol=0, atol=1e-12)


def test_the_engine_counts_the_products_it_does():
    B, n = 4, 8
    c = tp_circuit((7, 5, 3))
    c.protocol.batch = B
    comp = compile_circuit(c)
    d = drive_of(comp, n, 0)
    eng = BatchedNumbaEngine(comp, threads=1)
    eng.hold = False
    eng.run(d)
    diagonal = batched.diagonal_projections(comp, comp.initial_state().w, True)
    assert eng.product_flops == pytest.approx(presentation_flops(comp, B, diagonal) * n / B)
    held = BatchedNumbaEngine(comp, threads=1)
    held.run(d)
    # XH (7 x 5) is held at all but 11 of the 40 steps of each presentation: 0 and 1 (new
    # weights, then new inputs), 31-39 (its rule, open at 30-39, changed the weights)
    saved = 2 * B * 7 * 5 * (40 - 11) * (n // B)
    assert held.product_flops == pytest.approx(eng.product_flops - saved)


def test_divergence_time_and_population_as_the_reference():
    from neurotp.engines.base import DivergenceError

    c = tp_circuit((7, 5, 3))
    c.protocol.batch = 2
    c.populations[1].activation = "linear"  # X → H overflows: H's rate becomes infinite
    c.projections[0].init.scale = 1e308
    comp = compile_circuit(c)
    d = make_drive(comp, np.full((3, 7), 1e10), None, np.random.default_rng(0), train=False)
    errors = []
    engines = [BatchedReferenceEngine(comp)] + [BatchedNumbaEngine(comp, threads=n) for n in (1, 2)]
    for engine in engines:
        with pytest.raises(DivergenceError) as err:
            engine.run(d)
        errors.append((err.value.time_ms, err.value.population))
    assert errors[0] == errors[1] == errors[2]
    assert errors[0][1] == "H"


def test_a_non_finite_stimulus_is_a_divergence_of_the_input():
    from neurotp.engines.base import DivergenceError

    comp = compile_circuit(rich(2))
    d = drive_of(comp, 4, 0)
    d.stim[2, 3] = np.inf
    with pytest.raises(DivergenceError) as err:
        BatchedNumbaEngine(comp, threads=1).run(d)
    assert "X" in str(err.value)


def temporal(batch: int, seed: int = 0):
    """random_circuit with compartments, label_delay, two frames and general rules; without
    its Oja rule (not batched on Numba)."""
    from neurotp.circuit.library import random_circuit

    c = random_circuit(seed, general=True, temporal=True)
    c.rules = [r for r in c.rules if r.kind != "oja"]
    c.protocol.batch = batch
    return c


def test_temporal_features_numba_equals_batched_reference():
    c = temporal(3)
    assert c.protocol.frames > 1 and c.protocol.label_delay > 0
    assert any(p.apical is not None for p in c.populations)
    comp = compile_circuit(c)
    ref, nb = BatchedReferenceEngine(comp), BatchedNumbaEngine(comp, threads=1)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (8, comp.input_n))
    y = rng.integers(0, comp.label_n, 8)
    train = make_drive(comp, x, y, np.random.default_rng(1), train=True)
    test = make_drive(comp, x[:4], y[:4], np.random.default_rng(2), train=False)
    for d in (train, test):
        np.testing.assert_allclose(nb.run(d).means, ref.run(d).means, rtol=0, atol=1e-9)
    for key in ("r", "hist", "tr", "w", "b"):
        np.testing.assert_allclose(
            getattr(nb.state, key), getattr(ref.state, key), rtol=0, atol=1e-9, err_msg=key
        )
    assert not np.allclose(ref.state.w, comp.initial_state().w)


def test_threaded_kernels_load_from_the_cache_in_a_new_process(tmp_path):
    # numba #8578: a parallel kernel called from a cached one segfaulted once loaded from the
    # cache; the batched kernels thread in BLAS only. Two fresh processes, 2 threads each: the
    # second loads every kernel from the cache the first (or this session) wrote.
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import numpy as np\n"
        "from neurotp.circuit import compile_circuit, make_drive\n"
        "from neurotp.circuit.library import tp_circuit\n"
        "from neurotp.engines.numba.batched import BatchedNumbaEngine\n"
        "c = tp_circuit((7, 5, 3)); c.protocol.batch = 4\n"
        "comp = compile_circuit(c)\n"
        "x = np.random.default_rng(0).uniform(0, 1, (8, 7))\n"
        "d = make_drive(comp, x, np.arange(8) % 3, np.random.default_rng(1), train=True)\n"
        "print(repr(BatchedNumbaEngine(comp, threads=2).run(d).means.sum()))\n"
    )
    root = Path(__file__).resolve().parents[1]
    outs = [
        subprocess.run(
            [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=600
        )
        for _ in range(2)
    ]
    for out in outs:
        assert out.returncode == 0, out.stderr[-2000:]
    assert outs[0].stdout == outs[1].stdout and outs[0].stdout.strip()
