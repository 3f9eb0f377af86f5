"""Every validation error names the bad field and what is allowed."""

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
