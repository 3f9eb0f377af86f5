"""The circuit layer's error type."""

import pytest

from neurotp.circuit import CircuitError, validate
from neurotp.circuit.errors import CircuitError as Direct
from neurotp.circuit.library import random_circuit


def test_validation_raises_the_one_circuit_error_a_user_can_catch_as_valueerror():
    assert Direct is CircuitError and issubclass(CircuitError, ValueError)
    c = random_circuit(0)
    c.seed = -1
    with pytest.raises(ValueError, match="seed: -1 is negative"):
        validate(c)
