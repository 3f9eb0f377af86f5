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
    back = load_circuit(path, check_data=False)  # its 6 label units are for synthetic data
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
    back = load_circuit(tmp_path / "c.yaml", ["spiking.tau_syn=7.5"], check_data=False)
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


# --- every mistake named at load time --------------------------------------------------------
DIGITS = "circuits/digits_tp.yaml"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("protocol.dt=abc", "protocol.dt: 'abc' is a string; allowed: a finite number"),
        ("protocol.epochs=three", "protocol.epochs: 'three' is a string; allowed: an integer"),
        ("rules.prediction_XH.lr='0.02'", "rules[0] (prediction_XH).lr: '0.02' is a string"),
        ("rules.prediction_XH.bias='false'", "rules[0] (prediction_XH).bias: 'false' is a string"),
        ("populations.H.tau=.inf", "populations[1] (H).tau: inf is not finite"),
        ("populations.H.noise=.inf", "populations[1] (H).noise: inf is not finite"),
        ("projections.HHT.delay=.nan", "(HHT).delay: nan is not finite"),
        ("protocol.present=.inf", "protocol.present: inf is not finite"),
        ("seed=-1", "seed: -1 is negative"),
        ("seed=1.5", "seed: 1.5 is a number; allowed: an integer"),
        ("protocol.epochs=0", "protocol.epochs: 0 must be >= 1"),
        ("protocol.n_train=0", "protocol.n_train: 0 must be >= 1"),
        ("protocol.input_noise=-0.5", "protocol.input_noise: -0.5 is negative"),
        ("rules.prediction_XH.window=[30, 50]", "rules[0] (prediction_XH).window: [30.0, 50.0]"),
        ("rules.prediction_XH.window=[30.5, 40]", "30.5 ms is not a multiple of dt=1.0 ms"),
        ("rules.prediction_XH.window=[1ms, 40]", "rules[0] (prediction_XH).window[0]: '1ms'"),
        (
            "protocol.readout_window=[30.5, 40]",
            "protocol.readout_window: 30.5 ms is not a multiple",
        ),
        ("protocol.dataset=cifar", "protocol.dataset: unknown data set 'cifar'"),
        ("protocol.dt=", "protocol.dt: None is null; allowed: a finite number"),
    ],
)
def test_load_names_every_bad_value(override, message):
    with pytest.raises(ValueError) as err:
        load_circuit(DIGITS, [override])
    assert message in str(err.value)


def test_wrong_type_fails_before_any_data_is_loaded(tmp_path, monkeypatch):
    def no_data(*a, **k):
        raise AssertionError("data loaded before validation")

    monkeypatch.setattr("neurotp.data.load_dataset", no_data)
    path = tmp_path / "c.yaml"
    path.write_text(open(DIGITS).read().replace("epochs: 30", "epochs: three"))
    with pytest.raises(ValueError, match="protocol.epochs: 'three' is a string"):
        load_circuit(path)


def test_quoted_boolean_is_refused_not_read_as_true(tmp_path):
    path = tmp_path / "c.yaml"
    text = open(DIGITS).read()
    assert "bias: true" in text
    path.write_text(text.replace("bias: true", 'bias: "false"', 1))
    with pytest.raises(ValueError, match=r"\.bias: 'false' is a string; allowed: true or false"):
        load_circuit(path)


def test_label_population_smaller_than_classes_refused_at_load(tmp_path):
    from neurotp.circuit.library import tp_circuit

    save_circuit(tp_circuit((64, 16, 5)), tmp_path / "c.yaml")
    with pytest.raises(ValueError, match="population 'L' has 5 units but 'digits' has 10 classes"):
        load_circuit(tmp_path / "c.yaml")
    assert load_circuit(tmp_path / "c.yaml", check_data=False).population("L").size == 5


def test_duplicate_keys_are_refused_with_key_and_line(tmp_path):
    path = tmp_path / "c.yaml"
    lines = open(DIGITS).read().splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("  epochs:"))
    lines.insert(i + 1, "  epochs: 3")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CircuitFormatError) as err:
        load_circuit(path)
    msg = str(err.value)
    assert f"line {i + 2}: duplicate key 'epochs' (first at line {i + 1})" in msg
    assert str(path) in msg


def test_duplicate_keys_in_flow_mappings_and_overrides(tmp_path):
    from neurotp.circuit.io import yaml_load

    with pytest.raises(CircuitFormatError, match="line 1: duplicate key 'tau'"):
        yaml_load("- {name: H, tau: 1.0, size: 3, tau: 2.0}")
    with pytest.raises(CircuitFormatError, match="duplicate key 'kind'"):
        apply_overrides({"a": 1}, ["a={kind: normal, kind: uniform}"])
    # merge keys may still be overridden
    assert yaml_load("b: &x {p: 1, q: 2}\nm: {<<: *x, p: 3}")["m"] == {"p": 3, "q": 2}


def test_invalid_yaml_is_a_named_format_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(CircuitFormatError, match="c.yaml: not a valid YAML file"):
        load_circuit(path)
    with pytest.raises(CircuitFormatError, match="--set 'seed=\\[': the value is not valid YAML"):
        apply_overrides({"seed": 0}, ["seed=["])
