"""The Brian2 engine (neurotp/engines/brian2/engine.py): the backend registry, errors, runs
that continue, divergence, the compiled targets, the spiking parameters.

Rate mode vs Numba and the reference on every circuit file is in tests/test_cross_engine.py.
"""

from __future__ import annotations

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2", reason="pip install 'neurotp[brian2]'")

from neurotp.circuit import compile_circuit, make_drive  # noqa: E402
from neurotp.circuit.library import random_circuit  # noqa: E402
from neurotp.circuit.spec import Circuit, Population, Projection, Protocol, WeightInit  # noqa: E402
from neurotp.engines import DivergenceError, get_engine  # noqa: E402
from neurotp.engines.brian2 import TARGETS, Brian2Engine  # noqa: E402
from neurotp.engines.numba import NumbaEngine  # noqa: E402
from neurotp.engines.reference import ReferenceEngine  # noqa: E402

pytestmark = pytest.mark.brian2
KEYS = ("r", "hist", "tr", "w", "b")


def _train_drive(comp, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return make_drive(
        comp,
        rng.random((n, comp.input_n)),
        rng.integers(0, comp.label_n, n),
        np.random.default_rng(seed + 1),
        train=True,
    )


def test_get_engine_returns_the_brian2_engine():
    assert get_engine("brian2") is Brian2Engine
    assert Brian2Engine.supports_spiking
    assert TARGETS == ("numpy", "cython", "cpp_standalone")


def test_bad_target_and_dtype_name_the_field():
    comp = compile_circuit(random_circuit())
    with pytest.raises(
        ValueError, match=r"target: .*'fortran'.*allowed: numpy, cython, cpp_standalone"
    ):
        Brian2Engine(comp, target="fortran")
    with pytest.raises(ValueError, match=r"dtype: float32 .*allowed: float64"):
        Brian2Engine(comp, dtype=np.float32)


def test_two_runs_equal_one_run_and_the_reference():
    """The delay line, traces, weights carry over between run() calls."""
    comp = compile_circuit(random_circuit(1, present=20.0, general=True))
    drive = _train_drive(comp, 4, seed=3)
    spp = comp.steps_per_presentation

    def part(a, b):
        return type(drive)(
            drive.stim[a:b],
            drive.labels[a:b],
            drive.clamp,
            drive.learn,
            drive.noise[a * spp : b * spp],
        )

    b2e = Brian2Engine(comp)
    m1 = b2e.run(part(0, 1)).means
    m2 = b2e.run(part(1, 4)).means
    ref = ReferenceEngine(comp)
    mr = ref.run(drive).means
    np.testing.assert_allclose(np.vstack([m1, m2]), mr, atol=1e-9, rtol=0)
    for key in KEYS:
        np.testing.assert_allclose(getattr(b2e.state, key), getattr(ref.state, key), atol=1e-9)
    assert b2e.state.t == ref.state.t == 4 * spp


def test_a_replaced_state_is_the_one_that_runs():
    """Simulation.load_checkpoint assigns engine.state: the next run starts from it."""
    comp = compile_circuit(random_circuit(0, present=20.0))
    drive = _train_drive(comp, 1)
    start = comp.initial_state()
    start.w *= 0.5
    start.b += 0.2
    eng = Brian2Engine(comp)
    eng.run(drive)
    eng.state = start.copy()
    eng.run(drive)
    ref = ReferenceEngine(comp, state=start.copy())
    ref.run(drive)
    for key in KEYS:
        np.testing.assert_allclose(getattr(eng.state, key), getattr(ref.state, key), atol=1e-9)


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_divergence_names_population_and_time():
    pops = [
        Population("X", 2, "linear", role="input"),
        Population("Boom", 2, "linear", tau=1.0),
    ]
    projs = [
        Projection("XB", "X", "Boom", delay=1.0, init=WeightInit("identity", 1.0)),
        Projection("BB", "Boom", "Boom", delay=1.0, init=WeightInit("identity", 1e200)),
    ]
    c = Circuit("boom", pops, projs, protocol=Protocol(dt=1.0, present=20.0, input="X"))
    comp = compile_circuit(c)
    drive = make_drive(comp, np.ones((1, 2)), None, np.random.default_rng(0), train=False)
    with pytest.raises(DivergenceError, match=r"population 'Boom' became NaN/inf at t=(\d+) ms"):
        Brian2Engine(comp).run(drive)
    for other in (NumbaEngine(comp), ReferenceEngine(comp)):
        with pytest.raises(DivergenceError) as e_other:
            other.run(drive)
        with pytest.raises(DivergenceError) as e_b2:
            Brian2Engine(comp).run(drive)
        assert e_b2.value.time_ms == e_other.value.time_ms


# ---- other targets (compilation takes minutes on 2 cores) --------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("target", ["cython", "cpp_standalone"])
def test_compiled_targets_equal_the_reference(target):
    comp = compile_circuit(random_circuit(0, present=20.0, general=True))
    drive = _train_drive(comp, 3)
    b2e, ref = Brian2Engine(comp, target=target), ReferenceEngine(comp)
    mb, mr = b2e.run(drive).means, ref.run(drive).means
    np.testing.assert_allclose(mb, mr, atol=1e-6, rtol=0)
    for key in KEYS:
        np.testing.assert_allclose(getattr(b2e.state, key), getattr(ref.state, key), atol=1e-6)
    assert set(b2e.timings) >= {"build", "compile", "loop"}


def test_spiking_parameters_come_from_the_circuit_and_the_engine_overrides_them():
    pops = [
        Population("X", 3, "linear", role="input", model="lif"),
        Population("H", 3, "linear", tau=1.0, model="lif"),
    ]
    projs = [Projection("XH", "X", "H", delay=1.0, init=WeightInit("identity", 1.0))]
    c = Circuit("d", pops, projs, protocol=Protocol(dt=1.0, present=5.0, gap=5.0, input="X"))
    c.spiking.max_rate = 400.0
    c.spiking.tau_syn = 7.0
    comp = compile_circuit(c)
    eng = Brian2Engine(comp)
    assert (eng._spiking.max_rate, eng._spiking.tau_syn, eng._spiking.tau_m) == (400.0, 7.0, 50.0)
    eng = Brian2Engine(comp, spiking={"max_rate": 250.0})
    assert (eng._spiking.max_rate, eng._spiking.tau_syn) == (250.0, 7.0)
