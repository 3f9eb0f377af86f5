"""Rules as data: presets are the general form, the table is what the form says, and
errors in a general form name the field."""

import dataclasses

import numpy as np
import pytest

from neurotp.circuit import (
    PRESETS,
    RULE_KINDS,
    CircuitError,
    FormTerm,
    RuleForm,
    circuit_from_dict,
    compile_circuit,
    make_drive,
    rule_form,
    validate,
)
from neurotp.circuit.library import random_circuit
from neurotp.circuit.rules import ELEMENTWISE, OJA, SRC_PRE, SRC_RATE, SRC_TRACE, parse_signal
from neurotp.engines.reference import ReferenceEngine


def as_general(circuit, name):
    """The circuit with rule ``name`` replaced by a ``kind: general`` rule of its own form."""
    c = dataclasses.replace(circuit, rules=list(circuit.rules))
    k = [r.name for r in c.rules].index(name)
    r = c.rules[k]
    c.rules[k] = dataclasses.replace(
        r,
        kind="general",
        form=rule_form(r),
        targets=[],
        pre_trace=None,
        forward_trace=None,
        post_trace=None,
    )
    return c


def run_reference(circuit, seed=3):
    comp = compile_circuit(circuit)
    rng = np.random.default_rng(seed)
    n_in = circuit.population("X").size
    n_lab = circuit.population("L").size
    x = rng.uniform(0, 1, (3, n_in))
    y = rng.integers(0, n_lab, 3)
    eng = ReferenceEngine(comp)
    eng.run(make_drive(comp, x, y, np.random.default_rng(seed), train=True))
    return eng.state


def test_every_kind_is_a_preset_and_oja_is_the_only_one_without_a_form():
    assert RULE_KINDS == tuple(PRESETS)
    assert {k for k, p in PRESETS.items() if p.form is None} == {"oja"}
    assert {"prediction", "reconstruction", "delta", "recirculation", "general"} <= set(RULE_KINDS)


@pytest.mark.parametrize("name", ["pred_XH", "pred_HY", "rec_TS", "delta_HG", "recirc_ZQ"])
def test_a_preset_written_as_its_general_form_runs_identically(name):
    c = random_circuit(1)
    a = run_reference(c)
    b = run_reference(as_general(c, name))
    for key, v in a.arrays().items():
        np.testing.assert_array_equal(v, b.arrays()[key], err_msg=key)


def test_the_table_holds_what_the_forms_say():
    c = random_circuit(0, general=True)
    comp = compile_circuit(c)
    rt = comp.rules
    names = comp.rule_names
    pred = names.index("pred_XH")  # 0.7 S + 0.3 G against X_bar; minus (0.7 + 0.3) p x
    q = slice(rt.term_ptr[pred], rt.term_ptr[pred + 1])
    assert rt.term_coef[q].tolist() == [0.7, 0.3]
    assert rt.term_src[q].tolist() == [SRC_RATE, SRC_RATE]
    assert rt.term_off[q].tolist() == [int(comp.pop_off[comp.pop_names.index(p)]) for p in "SG"]
    assert rt.a_src[pred] == SRC_TRACE and rt.b_src[pred] == SRC_PRE
    assert rt.neg_coef[pred] == pytest.approx(1.0)
    assert rt.neg_off[pred] == comp.pop_off[comp.pop_names.index("H")]
    assert not rt.same_pre[pred]
    assert rt.pre_trace[pred] == comp.trace_names.index("X_bar")
    rec = names.index("rec_TS")
    assert rt.same_pre[rec] and rt.pre_trace[rec] == -1
    assert rt.term_src[rt.term_ptr[rec]] == SRC_TRACE
    assert rt.form[names.index("oja_GH")] == OJA
    assert rt.form[names.index("gen_SZ")] == ELEMENTWISE
    gen = names.index("gen_SZ")  # plus Z_bar ⊗ x, minus 0.8 p ⊗ S_bar_2
    assert rt.a_src[gen] == SRC_PRE and rt.b_src[gen] == SRC_TRACE
    assert rt.neg_coef[gen] == 0.8
    assert rt.pre_trace[gen] == comp.trace_names.index("S_bar_2")
    assert rt.eta is comp.rule_eta  # Simulation rescales it in place (lr_decay)


def test_general_rule_matches_its_formula_on_one_step():
    """One open step of gen_HQ: ΔW = η((0.5 p + 0.5 T) ⊗ H̄₁ − Q̄ ⊗ x), by hand."""
    c = random_circuit(0, general=True)
    comp = compile_circuit(c)
    eng = ReferenceEngine(comp)
    k = comp.rule_names.index("gen_HQ")
    only = np.zeros(len(comp.rule_names), bool)
    only[k] = True
    rng = np.random.default_rng(5)
    s = eng.state
    s.r[:] = rng.uniform(-1, 1, s.r.shape)
    s.hist[:] = rng.uniform(-1, 1, s.hist.shape)
    s.tr[:] = rng.uniform(-1, 1, s.tr.shape)
    s.t = 7
    w0 = comp.proj_matrix(s.w, "HQ").copy()

    def pop(name, vec=None):
        return (s.r if vec is None else vec)[comp.pop_slice(name)]

    def trace(name):
        i = comp.trace_names.index(name)
        return s.tr[comp.tr_off[i] : comp.tr_off[i] + comp.tr_n[i]].copy()

    p, t_rate, q_bar, h_bar = pop("Q").copy(), pop("T").copy(), trace("Q_bar"), trace("H_bar_1")
    x_in = rng.uniform(0, 1, comp.input_n)
    L = comp.hist_len
    d = int(comp.proj_delay[comp.proj_names.index("HQ")])
    eng._step(x_in, None, False, np.zeros(len(comp.noise_idx)), only)
    x = s.hist[(7 - d) % L][comp.pop_slice("H")]
    eta = comp.rules.eta[k]
    want = w0 + eta * (np.outer(0.5 * p + 0.5 * t_rate, h_bar) - np.outer(q_bar, x))
    np.testing.assert_allclose(comp.proj_matrix(s.w, "HQ"), want, rtol=0, atol=1e-15)


def test_parse_signal_names_the_allowed_forms():
    assert parse_signal("trace:A", "pre", "w").kind == "trace"
    assert parse_signal("rate:H", "post", "w").name == "H"
    with pytest.raises(ValueError, match=r"w: unknown pre-side signal 'rate:H'; allowed: pre"):
        parse_signal("rate:H", "pre", "w")
    assert parse_signal("apical", "post", "w").kind == "apical"
    with pytest.raises(ValueError, match=r"allowed: post, apical, trace:NAME, rate:POPULATION"):
        parse_signal("postt", "post", "w")


def general_dict(**form):
    d = random_circuit(0, general=True).to_dict()
    rule = next(r for r in d["rules"] if r["name"] == "gen_SZ")
    rule["form"].update(form)
    return d


@pytest.mark.parametrize(
    "form, fragments",
    [
        ({"plus": []}, ["rules[6] (gen_SZ).form.plus", "at least one positive term"]),
        ({"plus": [{"post": "trace:Nope"}]}, ["form.plus[0].post", "unknown trace 'Nope'"]),
        ({"plus": [{"post": "rate:Y"}]}, ["form.plus[0].post", "size mismatch"]),
        ({"plus": [{"post": "rate:Ghost"}]}, ["unknown population 'Ghost'"]),
        ({"minus_pre": "trace:H_bar"}, ["form.minus_pre", "must follow the presynaptic"]),
        ({"plus_pre": "post"}, ["form.plus_pre", "unknown pre-side signal 'post'"]),
        ({"minus_post": 3}, ["form.minus_post", "allowed: a string"]),
    ],
)
def test_a_bad_general_form_names_its_field(form, fragments):
    with pytest.raises(CircuitError) as err:
        validate(circuit_from_dict(general_dict(**form)))
    for f in fragments:
        assert f in str(err.value), str(err.value)


def test_general_rule_without_form_and_preset_without_its_trace_are_named():
    d = general_dict()
    next(r for r in d["rules"] if r["name"] == "gen_SZ")["form"] = None
    with pytest.raises(CircuitError, match=r"gen_SZ\)\.form: the general rule needs 'form'"):
        validate(circuit_from_dict(d))
    d = random_circuit(0).to_dict()
    d["rules"][2]["forward_trace"] = None
    with pytest.raises(CircuitError, match=r"rec_TS\)\.forward_trace: the reconstruction rule"):
        validate(circuit_from_dict(d))


def test_form_defaults_are_a_minus_p_times_x():
    f = RuleForm(plus=[FormTerm("trace:H_bar")])
    assert (f.plus_pre, f.minus_coef, f.minus_post, f.minus_pre) == ("pre", 1.0, "post", "pre")


def test_temporal_prediction_is_p_minus_its_trace_times_the_pre_trace():
    """The preset issue 12 needs: ΔW = η (p − p̄) ⊗ x̄, one step, by hand; its fields checked."""
    d = random_circuit(0).to_dict()
    d["rules"][5].update(kind="temporal_prediction", pre_trace="X_bar", post_trace="H_bar")
    d["rules"][5]["projection"] = "XH"
    d["rules"][5]["bias"] = False
    c = circuit_from_dict(d)
    validate(c)
    comp = compile_circuit(c)
    k = 5
    rt = comp.rules
    assert rt.same_pre[k] and rt.a_src[k] == SRC_TRACE and rt.neg_src[k] == SRC_TRACE
    eng = ReferenceEngine(comp)
    s = eng.state
    rng = np.random.default_rng(2)
    s.r[:] = rng.uniform(-1, 1, s.r.shape)
    s.tr[:] = rng.uniform(-1, 1, s.tr.shape)
    only = np.zeros(len(comp.rule_names), bool)
    only[k] = True

    def trace(name):
        i = comp.trace_names.index(name)
        return s.tr[comp.tr_off[i] : comp.tr_off[i] + comp.tr_n[i]].copy()

    p, p_bar, x_bar = s.r[comp.pop_slice("H")].copy(), trace("H_bar"), trace("X_bar")
    w0 = comp.proj_matrix(s.w, "XH").copy()
    eng._step(np.zeros(comp.input_n), None, False, np.zeros(len(comp.noise_idx)), only)
    want = w0 + rt.eta[k] * np.outer(p - p_bar, x_bar)
    np.testing.assert_allclose(comp.proj_matrix(s.w, "XH"), want, rtol=0, atol=1e-15)
    d["rules"][5]["post_trace"] = "S_bar"  # a trace of S, not of the post H
    with pytest.raises(CircuitError, match=r"post_trace: must be a trace of the post"):
        validate(circuit_from_dict(d))
