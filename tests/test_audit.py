"""The locality audit reports exactly the non-local signals: ties, index reads, Oja's sum,
global gates; `neurotp audit` prints them."""

import json

import pytest

from neurotp.circuit import circuit_from_dict, load_circuit
from neurotp.circuit.audit import KINDS, audit, audit_table, summary
from neurotp.circuit.library import random_circuit
from neurotp.cli import main


def kinds_where(findings):
    return {(f.kind, f.where) for f in findings}


def test_digits_tp_reports_its_tie_its_index_reads_and_its_gates():
    found = kinds_where(audit(load_circuit("circuits/digits_tp.yaml")))
    assert ("tie", "projections[5] (YTG).tie") in found
    assert ("index read", "rules[0] (prediction_XH).targets[0]") in found  # reads HT
    assert ("index read", "rules[2] (reconstruction_YS).forward_trace") in found  # H_bar onto S
    assert ("global gate", "rules[0] (prediction_XH).window") in found
    assert ("global gate", "protocol.label") in found
    assert {k for k, _ in found} == {"tie", "index read", "global gate"}


def local_circuit(**rule):
    """X -> H with one rule reading only the synapse's pre trace and the post's own state."""
    d = {
        "name": "local",
        "populations": [
            {"name": "X", "size": 3, "activation": "linear", "role": "input"},
            {"name": "H", "size": 2},
            {"name": "T", "size": 2},
        ],
        "projections": [{"name": "XH", "pre": "X", "post": "H", "delay": 1.0}],
        "traces": [
            {"name": "X_bar", "population": "X", "tau": 5.0, "delay": 1.0},
            {"name": "H_bar", "population": "H", "tau": 5.0},
            {"name": "T_bar", "population": "T", "tau": 5.0},
        ],
        "rules": [
            {
                "name": "tp",
                "kind": "temporal_prediction",
                "projection": "XH",
                "lr": 0.01,
                "pre_trace": "X_bar",
                "post_trace": "H_bar",
                **rule,
            }
        ],
    }
    return circuit_from_dict(d)


def test_a_rule_of_own_state_and_pre_trace_is_local_apart_from_the_learning_switch():
    found = audit(local_circuit())
    assert [(f.kind, f.where) for f in found] == [("global gate", "protocol")]
    assert summary(found) == "1 global gate"


@pytest.mark.parametrize(
    "rule, kind, where",
    [
        ({"window": [5.0, 10.0]}, "global gate", "rules[0] (tp).window"),
        (
            {
                "kind": "general",
                "pre_trace": None,
                "post_trace": None,
                "form": {"plus": [{"post": "rate:T"}], "plus_pre": "trace:X_bar"},
            },
            "index read",
            "rules[0] (tp).form.plus[0]",
        ),
        (
            {
                "kind": "general",
                "pre_trace": None,
                "post_trace": None,
                "form": {"plus": [{"post": "post"}], "minus_post": "trace:T_bar"},
            },
            "index read",
            "rules[0] (tp).form.minus_post",
        ),
        (
            {"kind": "oja", "pre_trace": None, "post_trace": None},
            "non-local sum",
            "rules[0] (tp).kind",
        ),
    ],
)
def test_each_non_local_signal_is_reported_where_it_is(rule, kind, where):
    found = kinds_where(audit(local_circuit(**rule)))
    assert (kind, where) in found


def test_every_kind_is_found_in_the_random_circuit_and_tabulated():
    c = random_circuit(0)
    found = audit(c)
    assert {f.kind for f in found} == set(KINDS)
    table = audit_table(c, found)
    assert table.startswith("random: 1 tie,") and "| tie | `projections[6] (YS).tie` |" in table


def test_audit_command_prints_tables_and_json(capsys):
    assert main(["audit", "circuits/digits_tp.yaml", "circuits/autoencoder.yaml"]) == 0
    out = capsys.readouterr().out
    assert "digits_tp: 1 tie, 3 index reads" in out and "autoencoder:" in out
    assert main(["audit", "circuits/digits_tp.yaml", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    entry = data["circuits/digits_tp.yaml"]
    assert entry["circuit"] == "digits_tp"
    assert {"kind", "where", "what"} == set(entry["findings"][0])


def test_a_unit_reading_its_own_compartment_is_local_and_gaps_are_gates():
    c = random_circuit(0, present=20.0, temporal=True)
    found = audit(c)
    where = [f.where for f in found]
    # gen_XHb reads apical, a trace of its own compartment and its own delayed trace;
    # rec_YHa (onto H.apical) reads the trace of its own soma H: all local
    assert not any(w.startswith(("rules[6] (rec_YHa)", "rules[7]", "rules[8]")) for w in where)
    gaps = [f for f in found if f.where == "protocol.gap"]
    assert len(gaps) == 1 and "5 ms gap" in gaps[0].what
    c.protocol.gap = 0.0
    assert not any(f.where == "protocol.gap" for f in audit(c))
