"""Circuits built in Python agree with the YAML files in circuits/."""

from pathlib import Path

import pytest

from neurotp.circuit import load_circuit, validate
from neurotp.circuit.library import bench_circuit, random_circuit, tp_circuit

ROOT = Path(__file__).resolve().parents[1]


def strip(d):
    d = dict(d)
    d.pop("description")
    return d


@pytest.mark.parametrize(
    ("sizes", "name", "kw"),
    [((64, 16, 10), "digits_tp", {}), ((64, 16, 16, 10), "digits_tp_deep", {})],
)
def test_builder_matches_yaml(sizes, name, kw):
    built = tp_circuit(sizes, name=name, **kw)
    loaded = load_circuit(ROOT / "circuits" / f"{name}.yaml")
    assert strip(built.to_dict()) == strip(loaded.to_dict())


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
