"""YAML round trip, safe loading and --set overrides."""

import pytest

from neurotp.circuit import (
    CircuitFormatError,
    apply_overrides,
    circuit_from_dict,
    circuit_to_yaml,
    load_circuit,
    save_circuit,
)
from neurotp.circuit.library import random_circuit


def test_yaml_round_trip(tmp_path):
    c = random_circuit(3)
    path = tmp_path / "c.yaml"
    path.write_text(circuit_to_yaml(c))
    back = load_circuit(path)
    assert back.to_dict() == c.to_dict()


def test_overrides_by_name_and_index():
    d = random_circuit().to_dict()
    sets = ["rules.pred_XH.lr=0.5", "populations.1.noise=0.2", "protocol.epochs=7"]
    d2 = apply_overrides(d, sets)
    c = circuit_from_dict(d2)
    assert c.rules[0].lr == 0.5
    assert c.populations[1].noise == 0.2
    assert c.protocol.epochs == 7
    assert d["rules"][0]["lr"] != 0.5  # the original is not modified


def test_override_unknown_item_names_allowed():
    with pytest.raises(CircuitFormatError, match="no item named 'nope'; allowed: pred_XH"):
        apply_overrides(random_circuit().to_dict(), ["rules.nope.lr=1"])


def test_safe_loader_refuses_python_objects(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("!!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(Exception, match="could not determine a constructor"):
        load_circuit(path)


def test_spiking_section_round_trips_and_rejects_unknown_fields(tmp_path):
    c = random_circuit(0)
    c.spiking.max_rate = 1000.0
    save_circuit(c, tmp_path / "c.yaml")
    back = load_circuit(tmp_path / "c.yaml", ["spiking.tau_syn=7.5"])
    assert back.spiking.max_rate == 1000.0 and back.spiking.tau_syn == 7.5
    assert back.spiking.tau_m == 50.0
    with pytest.raises(CircuitFormatError, match="spiking: unknown field 'rate'"):
        circuit_from_dict({**c.to_dict(), "spiking": {"rate": 1.0}})


def test_circuit_hash_follows_every_field_and_ignores_nothing():
    from neurotp.circuit import circuit_hash, load_circuit

    a = load_circuit("circuits/digits_tp.yaml")
    b = load_circuit("circuits/digits_tp.yaml")
    assert circuit_hash(a) == circuit_hash(b)
    assert len(circuit_hash(a)) == 64
    c = load_circuit("circuits/digits_tp.yaml", ["seed=1"])
    d = load_circuit("circuits/digits_tp.yaml", ["projections.HHT.delay=4.0"])
    e = load_circuit("circuits/digits_tp.yaml", ["rules.prediction_XH.lr=0.021"])
    assert len({circuit_hash(x) for x in (a, c, d, e)}) == 4
