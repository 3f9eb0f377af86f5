"""The generic type check of every circuit field (neurotp.circuit.typecheck)."""

import math

import pytest

from neurotp.circuit import CircuitError
from neurotp.circuit.library import random_circuit
from neurotp.circuit.typecheck import INF_ALLOWED, check_types


def test_a_wrong_type_deep_inside_is_named_with_its_path():
    c = random_circuit(0, present=20.0, temporal=True)
    c.populations[1].apical.gain = "big"
    with pytest.raises(CircuitError, match=r"populations\[1\] \(H\)\.apical\.gain: 'big'"):
        check_types(c)


def test_only_listed_fields_may_be_infinite():
    assert ("Rule", "bounds") in INF_ALLOWED
    c = random_circuit(0)
    c.rules[1].bounds = (-math.inf, math.inf)
    check_types(c)
    c.protocol.present = math.inf
    with pytest.raises(CircuitError, match="protocol.present"):
        check_types(c)


def test_every_spec_annotation_is_understood():
    """A new field type in spec.py must be taught to the generic check (it raises TypeError)."""
    import dataclasses

    from neurotp.circuit import spec
    from neurotp.circuit.typecheck import _hints, describe

    classes = [v for v in vars(spec).values() if dataclasses.is_dataclass(v)]
    assert len(classes) == 12  # with FormTerm, RuleForm (the general rule form), Compartment
    for cls in classes:
        for name, hint in _hints(cls).items():
            assert describe(hint), (cls, name)
