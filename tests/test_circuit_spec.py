"""neurotp/circuit/spec.py: a circuit's lookups by name, and its plain-data form (windows and
bounds as lists) that :func:`circuit_from_dict` builds the same circuit from."""

import json

import pytest

from neurotp.circuit import circuit_from_dict
from neurotp.circuit.spec import (
    Circuit,
    FormTerm,
    Population,
    Projection,
    Protocol,
    Rule,
    RuleForm,
    TargetTerm,
    Trace,
    WeightInit,
)


def small_circuit() -> Circuit:
    pops = [Population("X", 3, "linear", role="input"), Population("H", 2, tau=2.0)]
    projs = [
        Projection("XH", "X", "H", delay=2.0, init=WeightInit("uniform", 0.5)),
        Projection("HX", "H", "X"),
    ]
    rules = [
        Rule(
            "p",
            "prediction",
            "XH",
            lr=0.01,
            window=(30.0, 40.0),
            bounds=(-1.0, 1.0),
            targets=[TargetTerm("H", 0.5)],
            pre_trace="X_bar",
        ),
        Rule(
            "g",
            "general",
            "HX",
            lr=0.02,
            form=RuleForm(plus=[FormTerm("trace:X_bar", 2.0)], minus_coef=0.5),
        ),
    ]
    proto = Protocol(present=40.0, readout="H", readout_window=(30.0, 40.0))
    return Circuit("small", pops, projs, [Trace("X_bar", "X", tau=5.0)], rules, proto, seed=3)


def test_lookups_by_name_and_key_errors():
    c = small_circuit()
    assert c.population("H") is c.populations[1]
    assert c.projection("XH").delay == 2.0
    assert c.trace("X_bar").tau == 5.0
    for lookup in (c.population, c.projection, c.trace):
        with pytest.raises(KeyError, match="nope"):
            lookup("nope")
    with pytest.raises(KeyError):
        c.population("XH")  # a projection's name is not a population's


def test_to_dict_is_plain_data_that_round_trips():
    c = small_circuit()
    d = c.to_dict()
    assert d["rules"][0]["window"] == [30.0, 40.0] and d["rules"][0]["bounds"] == [-1.0, 1.0]
    assert d["rules"][1]["window"] is None and d["rules"][1]["bounds"] is None
    assert d["protocol"]["readout_window"] == [30.0, 40.0]
    assert d["rules"][1]["form"]["plus"] == [{"post": "trace:X_bar", "coef": 2.0}]
    assert json.loads(json.dumps(d)) == d  # only lists, dicts, numbers, strings, None
    assert c.rules[0].window == (30.0, 40.0)  # the circuit itself is unchanged
    back = circuit_from_dict(d)
    assert back == c and back.to_dict() == d
