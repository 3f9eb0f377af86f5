"""φ by name: the definitions every engine is tested against."""

import numpy as np
import pytest

from neurotp.circuit.activations import ACTIVATION_CODES, ACTIVATIONS, activation

V = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])


@pytest.mark.parametrize(
    "name, want",
    [
        ("linear", V),
        ("tanh", np.tanh(V)),
        ("sigmoid", 1.0 / (1.0 + np.exp(-V))),
        ("relu", np.array([0.0, 0.0, 0.0, 0.5, 3.0])),
        ("sign", np.array([-1.0, -1.0, 1.0, 1.0, 1.0])),  # sign(0) = +1
        ("step", np.array([0.0, 0.0, 1.0, 1.0, 1.0])),
    ],
)
def test_each_activation_has_its_textbook_values(name, want):
    np.testing.assert_allclose(activation(name)(V), want, rtol=1e-15, atol=1e-15)


def test_discrete_units_keep_the_input_dtype():
    x = V.astype(np.float32)
    assert activation("sign")(x).dtype == np.float32
    assert activation("step")(x).dtype == np.float32


def test_codes_cover_every_name_once():
    assert ACTIVATIONS == tuple(ACTIVATION_CODES)
    assert sorted(ACTIVATION_CODES.values()) == list(range(len(ACTIVATIONS)))


def test_unknown_name_lists_the_allowed_ones():
    with pytest.raises(ValueError, match=r"activation: unknown name 'softplus'; allowed: linear"):
        activation("softplus")
