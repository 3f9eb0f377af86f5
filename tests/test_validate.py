"""Every validation error names the bad field and what is allowed."""

import numpy as np
import pytest

from neurotp.circuit import CircuitError, CircuitFormatError, circuit_from_dict, validate
from neurotp.circuit.library import random_circuit


def base() -> dict:
    return random_circuit().to_dict()


def check(data: dict, *fragments: str) -> None:
    with pytest.raises((CircuitError, CircuitFormatError)) as err:
        validate(circuit_from_dict(data))
    for f in fragments:
        assert f in str(err.value), str(err.value)


def test_valid_circuit_passes():
    validate(circuit_from_dict(base()))


def test_unknown_population():
    d = base()
    d["projections"][0]["pre"] = "Nope"
    check(d, "projections[0] (XH).pre", "unknown population 'Nope'", "allowed: X, H")


def test_unknown_population_in_rule_target():
    d = base()
    d["rules"][0]["targets"][0]["population"] = "Ghost"
    check(d, "targets[0].population", "unknown population 'Ghost'")


def test_size_mismatch_identity():
    d = base()
    d["projections"][2]["pre"] = "H"  # YT is identity Y->T; H has another size
    check(d, "projections[2] (YT).init", "size mismatch")


def test_size_mismatch_tie():
    d = base()
    d["projections"][6]["pre"] = "H"  # YS tied to TS (T->S); H->S has another shape
    check(d, "projections[6] (YS).tie", "size mismatch")


def test_size_mismatch_rule_target():
    d = base()
    d["rules"][0]["targets"][0]["population"] = "Y"
    check(d, "rules[0] (pred_XH).targets[0]", "size mismatch")


def test_negative_delay():
    d = base()
    d["projections"][1]["delay"] = -1.0
    check(d, "projections[1] (HY).delay", "negative")


def test_delay_not_multiple_of_dt():
    d = base()
    d["projections"][1]["delay"] = 0.7
    check(d, "projections[1] (HY).delay", "not a multiple of dt=0.5")


def test_zero_delay_loop():
    d = base()
    for p in d["projections"]:
        if p["name"] in ("HG", "GH"):
            p["delay"] = 0.0
    check(d, "loop with zero total delay", "HG", "GH")


def test_dt_too_large_for_tau():
    d = base()
    d["protocol"]["dt"] = 2.0
    for p in d["projections"]:
        p["delay"] = 2.0
    for t in d["traces"]:
        t["delay"] = 0.0
    check(d, "too large for tau", "allowed: dt <=")


def test_unknown_rule():
    d = base()
    d["rules"][1]["kind"] = "hebbian"
    check(
        d,
        "rules[1] (pred_HY).kind",
        "unknown rule 'hebbian'",
        "allowed: prediction, reconstruction",
    )


def test_unknown_activation():
    d = base()
    d["populations"][1]["activation"] = "softplus"
    check(
        d, "populations[1] (H).activation", "unknown activation 'softplus'", "allowed: linear, tanh"
    )


def test_unknown_field():
    d = base()
    d["populations"][1]["colour"] = "red"
    check(d, "circuit.populations[1]", "unknown field 'colour'", "allowed:")


def test_unknown_model_and_role():
    d = base()
    d["populations"][1]["model"] = "hh"
    check(d, "model", "allowed: rate, poisson, lif")
    d = base()
    d["populations"][1]["role"] = "teacher"
    check(d, "role", "allowed: hidden, input, label")


def test_trace_must_follow_presynaptic_with_delay():
    d = base()
    d["rules"][0]["pre_trace"] = "H_bar"  # trace of H, but XH's pre is X
    check(d, "rules[0] (pred_XH).pre_trace")


def test_learned_bias_on_weights_tied_into_another_population():
    from neurotp.circuit.library import tp_circuit

    d = tp_circuit().to_dict()
    for r in d["rules"]:
        if r["kind"] == "reconstruction":
            r["bias"] = True  # YS is tied into G: G would not get S's learned bias
    check(d, "reconstruction_YS", ".bias", "shares its weights (tie)", "allowed: bias: false")


def test_spiking_parameters_must_be_positive():
    c = random_circuit(0)
    c.spiking.max_rate = 0.0
    with pytest.raises(CircuitError, match=r"spiking.max_rate: 0.0 is not a positive number of Hz"):
        validate(c)
    c = random_circuit(0)
    c.spiking.tau_syn = -1.0
    with pytest.raises(CircuitError, match=r"spiking.tau_syn"):
        validate(c)


# --- types and finiteness: one generic pass over every field of spec.py ----------------------
def _set(d: dict, path: str, value) -> dict:
    """Set ``a.1.b`` (list items by index) in circuit data ``d``."""
    node = d
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return d


NAN, INF = float("nan"), float("inf")

WRONG_TYPES = [
    (
        "populations.1.tau",
        "fast",
        "populations[1] (H).tau: 'fast' is a string; allowed: a finite number",
    ),
    ("protocol.dt", "1ms", "protocol.dt: '1ms' is a string; allowed: a finite number"),
    ("rules.0.lr", "0.02", "rules[0] (pred_XH).lr: '0.02' is a string; allowed: a finite number"),
    ("protocol.epochs", "three", "protocol.epochs: 'three' is a string; allowed: an integer"),
    ("protocol.epochs", 2.0, "protocol.epochs: 2.0 is a number; allowed: an integer"),
    ("projections.1.delay", NAN, "projections[1] (HY).delay: nan is not finite"),
    ("protocol.present", INF, "protocol.present: inf is not finite; allowed: a finite number"),
    ("seed", 1.5, "seed: 1.5 is a number; allowed: an integer"),
    ("seed", "0", "seed: '0' is a string; allowed: an integer"),
    (
        "rules.0.bias",
        "false",
        "rules[0] (pred_XH).bias: 'false' is a string; allowed: true or false",
    ),
    ("rules.0.bias", 0, "rules[0] (pred_XH).bias: 0 is an integer; allowed: true or false"),
    ("populations.1.size", True, "populations[1] (H).size: True is a boolean; allowed: an integer"),
    ("populations.1.name", 5, "populations[1].name: 5 is an integer; allowed: a string"),
    ("populations.1.tau", INF, "populations[1] (H).tau: inf is not finite"),
    ("populations.1.noise", INF, "populations[1] (H).noise: inf is not finite"),
    ("populations.1.bias", 10**400, "populations[1] (H).bias"),
    ("projections.0.init.scale", "big", "projections[0] (XH).init.scale: 'big' is a string"),
    ("projections.0.init.fan_in", "yes", "projections[0] (XH).init.fan_in"),
    ("projections.6.tie", 3, "projections[6] (YS).tie: 3 is an integer; allowed: a string or null"),
    ("traces.0.tau", None, "traces[0] (X_bar).tau: None is null; allowed: a finite number"),
    ("rules.0.targets.0.weight", "x", "rules[0] (pred_XH).targets[0].weight: 'x' is a string"),
    ("rules.0.window", [10.0, NAN], "rules[0] (pred_XH).window[1]: nan is not finite"),
    ("rules.0.window", [10.0, INF], "rules[0] (pred_XH).window[1]: inf is not finite"),
    (
        "rules.1.bounds",
        [NAN, 1.0],
        "rules[1] (pred_HY).bounds[0]: nan is not finite; "
        "allowed: a list of 2 numbers (inf allowed) or null",
    ),
    ("protocol.readout_window", ["a", 50.0], "protocol.readout_window[0]: 'a' is a string"),
    ("protocol.label", 3, "protocol.label: 3 is an integer; allowed: a string or null"),
    ("protocol.n_train", 2.5, "protocol.n_train: 2.5 is a number; allowed: an integer or null"),
    ("protocol.input_noise", "0.1", "protocol.input_noise: '0.1' is a string"),
    ("protocol.label_on", NAN, "protocol.label_on: nan is not finite"),
    ("protocol.lr_decay", INF, "protocol.lr_decay: inf is not finite"),
    ("protocol.dataset", None, "protocol.dataset: None is null; allowed: a string"),
    ("spiking.tau_m", "50ms", "spiking.tau_m: '50ms' is a string"),
    ("description", 7, "description: 7 is an integer; allowed: a string"),
    ("name", ["x"], "name: ['x'] is a list of 1; allowed: a string"),
]


@pytest.mark.parametrize(
    ("path", "value", "message"), WRONG_TYPES, ids=[w[0] + "=" + repr(w[1]) for w in WRONG_TYPES]
)
def test_wrong_type_or_non_finite_is_named(path, value, message):
    check(_set(base(), path, value), message)


def test_infinite_bounds_are_allowed():
    d = _set(base(), "rules.1.bounds", [-INF, INF])
    validate(circuit_from_dict(d))
    d = _set(base(), "rules.1.bounds", [-INF, 1.0])
    validate(circuit_from_dict(d))


def test_ints_are_fine_for_floats():
    d = _set(base(), "populations.1.tau", 2)
    d = _set(d, "rules.0.window", [10, 50])
    validate(circuit_from_dict(d))


def test_circuits_built_in_python_are_type_checked():
    c = random_circuit(0)
    c.populations[1].tau = "fast"
    with pytest.raises(CircuitError, match=r"populations\[1\] \(H\)\.tau: 'fast' is a string"):
        validate(c)
    c = random_circuit(0)
    c.rules[0].bias = "false"  # would be read as true
    with pytest.raises(CircuitError, match=r"rules\[0\] \(pred_XH\)\.bias"):
        validate(c)
    c = random_circuit(0)
    c.populations[1].size = np.int64(12)
    with pytest.raises(CircuitError, match=r"size: .* is a numpy.int64; allowed: an integer"):
        validate(c)
    c = random_circuit(0)
    c.projections[0].init = {"kind": "normal"}
    with pytest.raises(CircuitError, match=r"projections\[0\] \(XH\)\.init: .* is a mapping"):
        validate(c)
    c = random_circuit(0)
    c.rules = [c.rules[0], "oja"]
    with pytest.raises(CircuitError, match=r"rules\[1\]: 'oja' is a string; allowed: a Rule"):
        validate(c)


# --- values accepted silently before ----------------------------------------------------------
def test_negative_seed():
    check(_set(base(), "seed", -1), "seed: -1 is negative; allowed: an integer >= 0")


@pytest.mark.parametrize("value", [-0.1, 1.0])
def test_validation_fraction_lies_in_zero_one(value):
    check(_set(base(), "protocol.validation", value), "protocol.validation", "must lie in [0, 1)")


def test_negative_input_noise():
    check(
        _set(base(), "protocol.input_noise", -0.1),
        "protocol.input_noise: -0.1 is negative; allowed: a number >= 0",
    )


@pytest.mark.parametrize("key", ["epochs", "n_train", "n_test", "batch"])
@pytest.mark.parametrize("value", [0, -3])
def test_counts_must_be_positive(key, value):
    check(_set(base(), f"protocol.{key}", value), f"protocol.{key}: {value} must be >= 1")


def test_rule_window_past_present():
    # random_circuit: present 50 ms, dt 0.5 ms
    check(
        _set(base(), "rules.0.window", [10.0, 60.0]),
        "rules[0] (pred_XH).window: [10.0, 60.0] must lie inside the presentation",
        "0 <= start < end <= present=50.0 ms",
    )


def test_rule_window_off_the_dt_grid():
    check(
        _set(base(), "rules.0.window", [10.25, 50.0]),
        "rules[0] (pred_XH).window: 10.25 ms is not a multiple of dt=0.5 ms",
    )


def test_readout_window_off_grid_or_past_present():
    check(
        _set(base(), "protocol.readout_window", [40.2, 50.0]),
        "protocol.readout_window: 40.2 ms is not a multiple of dt=0.5 ms",
    )
    check(
        _set(base(), "protocol.readout_window", [40.0, 55.0]),
        "protocol.readout_window: [40.0, 55.0] must lie inside the presentation",
    )


def test_label_population_smaller_than_the_classes():
    from neurotp.circuit.library import tp_circuit
    from neurotp.circuit.validate import DATASET_CLASSES, check_dataset

    assert DATASET_CLASSES == {"digits": 10, "fashion-mnist": 10, "mnist": 10}
    c = tp_circuit((64, 16, 5))  # L has 5 units, digits has 10 classes
    validate(c)
    with pytest.raises(
        CircuitError,
        match=r"protocol.label: population 'L' has 5 units but "
        r"'digits' has 10 classes; allowed: size >= 10",
    ):
        check_dataset(c)
    check_dataset(tp_circuit((64, 16, 10)))
    c = tp_circuit((64, 16, 10))
    c.protocol.dataset = "cifar"
    with pytest.raises(
        CircuitError,
        match="protocol.dataset: unknown data set 'cifar'; allowed: digits, fashion-mnist, mnist",
    ):
        check_dataset(c)


def test_labels_beyond_the_label_population_are_named_not_index_error():
    from neurotp.circuit import compile_circuit, make_drive

    comp = compile_circuit(random_circuit(0))  # L has 6 units
    x = np.zeros((3, comp.input_n))
    rng = np.random.default_rng(0)
    make_drive(comp, x, np.array([0, 5, 2]), rng, train=True)
    with pytest.raises(
        CircuitError,
        match=r"protocol.label: population 'L' has 6 units but "
        r"the labels run from 0 to 9",
    ):
        make_drive(comp, x, np.array([0, 9, 2]), rng, train=True)


# ---- section 8 in time: compartments, label timing, frames, stream mode ----------------------
def temporal() -> dict:
    return random_circuit(0, present=20.0, temporal=True).to_dict()


def test_the_temporal_random_circuit_is_valid_and_round_trips():
    d = temporal()
    c = validate(circuit_from_dict(d))
    assert c.to_dict() == d
    assert [g.name for g in c.groups()][-2:] == ["H.apical", "Y.apical"]


@pytest.mark.parametrize(
    "path, value, fragments",
    [
        (("apical", "activation"), "soft", ("populations[1] (H).apical.activation", "allowed")),
        (("apical", "tau"), 0.1, ("populations[1] (H).apical.tau", "dt=0.5")),
        (("apical", "rest"), "H_bar", ("apical.rest", "not a trace of the compartment")),
        (("apical", "rest"), "nope", ("apical.rest", "unknown trace", "AH_rest")),
        (("apical", "gain"), "big", ("populations[1] (H).apical.gain",)),
    ],
)
def test_a_bad_compartment_field_is_named(path, value, fragments):
    d = temporal()
    d["populations"][1][path[0]][path[1]] = value
    check(d, *fragments)


def test_a_projection_may_target_a_compartment_but_not_an_unknown_one():
    d = temporal()
    d["projections"][-1]["post"] = "X.apical"
    check(d, "post: unknown population 'X.apical'", "H.apical")
    d = temporal()
    d["populations"][0]["apical"] = {"tau": 1.0}
    check(d, "populations[0] (X).apical", "input population")
    d = temporal()
    d["populations"][2]["name"] = "Y.apical"
    check(d, "contains '.apical'")


def test_apical_needs_a_compartment_on_the_post_population():
    d = temporal()
    rule = next(r for r in d["rules"] if r["name"] == "gen_HYb")
    d["projections"].append({"name": "XS", "pre": "X", "post": "S", "delay": 1.0})
    rule["projection"] = "XS"
    check(d, "'apical' reads the compartment", "'S', which has none")


@pytest.mark.parametrize(
    "key, value, fragments",
    [
        ("label_delay", 20.0, ("protocol.label_delay", "< present=20.0")),
        ("label_delay", 0.25, ("protocol.label_delay", "multiple of dt")),
        ("frames", 3, ("protocol.frames", "divides the 40 steps")),
        ("frames", 0, ("protocol.frames",)),
        ("jitter", -1.0, ("protocol.jitter",)),
        ("stream", "yes", ("protocol.stream",)),
    ],
)
def test_bad_timing_fields_are_named(key, value, fragments):
    d = temporal()
    d["protocol"][key] = value
    check(d, *fragments)


def test_stream_mode_refuses_gaps_and_windows():
    d = temporal()
    d["protocol"]["stream"] = True
    check(d, "protocol.gap: 5.0 ms in stream mode", "allowed: 0")
    d["protocol"]["gap"] = 0.0
    check(d, "window: stream mode has no learning windows")
    for r in d["rules"]:
        r["window"] = None
    validate(circuit_from_dict(d))
