"""The rules of a spiking circuit as Brian2 code (neurotp/engines/brian2/spiking_rules.py):
which spike trace each signal reads, references to other groups, per-synapse traces."""

from __future__ import annotations

import pytest

pytest.importorskip("brian2", reason="pip install 'neurotp[brian2]'")

from neurotp.circuit import compile_circuit  # noqa: E402
from neurotp.circuit.library import random_circuit  # noqa: E402
from neurotp.circuit.spec import FormTerm, Rule, RuleForm  # noqa: E402
from neurotp.engines.brian2.forms import RuleCode  # noqa: E402
from neurotp.engines.brian2.spiking import encoding_range, spiking_units  # noqa: E402
from neurotp.engines.brian2.spiking_rules import SpikingRules, decoded  # noqa: E402

pytestmark = pytest.mark.brian2


def _lowered(c):
    comp = compile_circuit(c)
    ranges = {p.name: encoding_range(p.activation) for p in spiking_units(c.groups())}
    return comp, SpikingRules(comp, ranges)


def _k(c, name: str) -> int:
    return [r.name for r in c.rules].index(name)


def test_apical_is_the_fast_trace_of_the_compartment_group():
    c = random_circuit(0, general=True, temporal=True)
    _, lo = _lowered(c)
    k = _k(c, "gen_HYb")  # HYb: H -> Y, plus: apical (Y.apical), minus: post
    code = lo.code[k]
    assert isinstance(code, RuleCode)
    assert ("Y", f"ls_{k}_0", "Y.apical", "xdec") in lo.refs
    assert f"cp_{k} = 1.0*ls_{k}_0" in code.coef and f"cm_{k} = 1.0*xdec" in code.coef
    assert set(code.variables) <= set(lo.variables["Y"])


def test_a_rule_into_a_compartment_reads_its_own_spikes():
    c = random_circuit(0, general=True, temporal=True)
    form = RuleForm([FormTerm("apical", 1.0)], "pre", 1.0, "trace:AH_rest", "pre")
    c.rules.append(Rule("into_apical", "general", "YHa", lr=0.01, form=form))
    _, lo = _lowered(c)
    k = len(c.rules) - 1
    code = lo.code[k]
    m = [t.name for t in c.traces].index("AH_rest")
    lo_h, hi_h = encoding_range(c.population("H").apical.activation)
    assert f"cp_{k} = 1.0*xdec" in code.coef  # H.apical's own fast trace, no reference
    assert f"cm_{k} = 1.0*{decoded(lo_h, hi_h, f'tr_{m}')}" in code.coef
    assert not [ref for ref in lo.refs if ref[1].startswith(f"ls_{k}_")]
    assert lo.variables["H.apical"] and code.variables[0] in lo.variables["H.apical"]


def test_pre_traces_become_per_synapse_traces_of_the_projection():
    c = random_circuit(0, general=True, temporal=True)
    _, lo = _lowered(c)
    k = _k(c, "gen_XHb")  # plus_pre: trace:X_bar, minus_pre: pre
    q = [p.name for p in c.projections].index("XHb")
    m = [t.name for t in c.traces].index("X_bar")
    assert lo.syn_traces[q] == [m]
    assert f"xt_{m}" in lo.code[k].weights and "xs" in lo.code[k].weights


def test_compartments_spike_with_their_populations_model():
    c = random_circuit(0, temporal=True)
    for p in c.populations:
        p.model = "poisson"
    units = {p.name: p for p in spiking_units(c.groups())}
    assert units["H.apical"].model == "poisson" and units["H.apical"].role == "compartment"
    assert units["H.apical"].tau == c.population("H").apical.tau
