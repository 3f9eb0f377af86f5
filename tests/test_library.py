"""Circuits built in Python agree with the YAML files in circuits/."""

from pathlib import Path

import pytest

from neurotp.circuit import apply_overrides, load_circuit, validate
from neurotp.circuit.library import bench_circuit, random_circuit, tp_circuit

ROOT = Path(__file__).resolve().parents[1]


def strip(d):
    d = dict(d)
    d.pop("description")
    return d


# the Fashion-MNIST circuits: tp_circuit with their validation-tuned settings, then the protocol
# fields tp_circuit does not take (the call each file's header names)
FMNIST = dict(input_noise=0.0, epochs=10)
FMNIST_PROTOCOL = ["protocol.dataset=fashion-mnist", "protocol.validation=0.1", "protocol.batch=32"]


@pytest.mark.parametrize(
    ("sizes", "name", "kw", "overrides"),
    [
        ((64, 16, 10), "digits_tp", {}, []),
        ((64, 16, 16, 10), "digits_tp_deep", {}, []),
        (
            (784, 64, 10),
            "fmnist_tp",
            {**FMNIST, "lr_forward": (0.03, 0.01), "lr_decay": 0.8, "hidden_slope": True},
            FMNIST_PROTOCOL,
        ),
        (
            (784, 64, 10),
            "fmnist_tp_frozen",
            {**FMNIST, "lr_forward": (0.03, 0.01), "lr_decay": 0.8, "frozen": (1,)},
            FMNIST_PROTOCOL,
        ),
        (
            (784, 64, 64, 10),
            "fmnist_tp_deep",
            {**FMNIST, "lr_forward": (0.03, 0.03, 0.01), "lr_decay": 0.8, "hidden_slope": True},
            FMNIST_PROTOCOL,
        ),
    ],
)
def test_builder_matches_yaml(sizes, name, kw, overrides):
    built = apply_overrides(tp_circuit(sizes, name=name, **kw).to_dict(), overrides)
    loaded = load_circuit(ROOT / "circuits" / f"{name}.yaml", check_data=False)
    assert strip(built) == strip(loaded.to_dict())


def test_frozen_yaml_is_digits_tp_without_hidden_plasticity():
    frozen = load_circuit(ROOT / "circuits" / "digits_tp_frozen.yaml")
    built = tp_circuit(frozen=(1,), name="digits_tp_frozen")
    assert strip(built.to_dict()) == strip(frozen.to_dict())
    assert all(r.projection != "XH" for r in frozen.rules)


def test_builders_validate():
    for c in (random_circuit(), bench_circuit(20), tp_circuit((10, 5, 4, 3, 2))):
        validate(c)


def test_tp_circuit_needs_a_hidden_layer():
    with pytest.raises(ValueError, match="at least one hidden layer"):
        tp_circuit((64, 10))
