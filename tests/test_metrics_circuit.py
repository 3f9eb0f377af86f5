"""neurotp.metrics.circuit: diagnostics of circuit runs."""

import numpy as np
import pytest

from neurotp.circuit import compile_circuit
from neurotp.circuit.library import bench_circuit
from neurotp.metrics import accuracy, state_difference


def test_state_difference_is_the_largest_change_over_the_named_arrays():
    comp = compile_circuit(bench_circuit(n=4))
    a, b = comp.initial_state(), comp.initial_state()
    assert state_difference(a, b) == 0.0
    b.w[3] += 0.25
    b.tr[0] -= 0.5
    assert state_difference(a, b) == pytest.approx(0.5)
    assert state_difference(a, b, keys=("w",)) == pytest.approx(0.25)
    assert state_difference(a, b, keys=("r", "b")) == 0.0


def test_accuracy_checks_lengths():
    assert accuracy(np.eye(3), np.array([0, 1, 0])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="3 score rows but 2 labels"):
        accuracy(np.eye(3), np.array([0, 1]))
