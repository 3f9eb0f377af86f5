"""Engine base: every state an engine is given is checked against its circuit and dtype, so a
state of another circuit (e.g. from a checkpoint) is an error naming the array, not a crash."""

from pathlib import Path

import numpy as np
import pytest

from neurotp.circuit import compile_circuit, load_circuit
from neurotp.engines import get_engine
from neurotp.engines.base import StateMismatchError, check_state, expected_shapes

ROOT = Path(__file__).resolve().parents[1]


def compiled(name="digits_tp.yaml", overrides=()):
    return compile_circuit(load_circuit(ROOT / "circuits" / name, list(overrides)))


def test_expected_shapes_are_those_of_the_initial_state():
    comp = compiled()
    init = comp.initial_state()
    assert expected_shapes(comp) == {
        k: getattr(init, k).shape for k in ("r", "hist", "tr", "w", "b")
    }
    check_state(comp, init)  # the initial state fits


@pytest.mark.parametrize("key", ["r", "hist", "tr", "w", "b"])
def test_a_wrong_shape_is_named(key):
    comp = compiled()
    state = comp.initial_state()
    a = getattr(state, key)
    setattr(state, key, np.zeros((a.shape[0] + 1, *a.shape[1:])))
    with pytest.raises(StateMismatchError, match=f"state array '{key}': shape"):
        check_state(comp, state)


def test_a_wrong_dtype_and_a_bad_step_count_are_named():
    comp = compiled()
    state = comp.initial_state()
    state.w = state.w.astype(np.float32)
    with pytest.raises(StateMismatchError, match="state array 'w': dtype float32"):
        check_state(comp, state, np.float64)
    check_state(comp, comp.initial_state(np.float32), np.float32)
    state = comp.initial_state()
    state.t = -1
    with pytest.raises(StateMismatchError, match="'t'"):
        check_state(comp, state)


@pytest.mark.parametrize("backend", ["reference", "numba"])
def test_engines_refuse_the_state_of_another_circuit(backend):
    digits, ae = compiled(), compiled("autoencoder.yaml")
    cls = get_engine(backend)
    with pytest.raises(StateMismatchError, match="state array 'r'.*'digits_tp'"):
        cls(digits, state=ae.initial_state())
    # another delay: same units and weights, but a ring buffer of another length
    longer = compiled(overrides=["projections.HHT.delay=12"])
    with pytest.raises(StateMismatchError, match="state array 'hist'"):
        cls(longer, state=digits.initial_state())
    engine = cls(digits)
    with pytest.raises(StateMismatchError, match="state array 'hist'"):
        engine.state = longer.initial_state()  # assigning is checked too
