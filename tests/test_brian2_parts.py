"""The builders of the Brian2 rate network (neurotp/engines/brian2/parts.py): layout, what
each part declares, how rule signals become variables, the groups they make."""

from __future__ import annotations

import re

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2", reason="pip install 'neurotp[brian2]'")

from neurotp.circuit import compile_circuit  # noqa: E402
from neurotp.circuit.library import random_circuit  # noqa: E402
from neurotp.circuit.spec import FormTerm, Rule, RuleForm  # noqa: E402
from neurotp.engines.brian2.parts import (  # noqa: E402
    Blueprint,
    Layout,
    add_couplings,
    add_delay_line,
    add_rules,
    add_traces,
    add_units,
    make_groups,
    make_synapses,
)

pytestmark = pytest.mark.brian2


def _blueprint(c):
    comp = compile_circuit(c)
    lay, bp, state = Layout.of(comp), Blueprint(), comp.initial_state()
    add_units(bp, lay, state)
    add_delay_line(bp, lay, state)
    add_traces(bp, lay, state)
    add_couplings(bp, lay)
    add_rules(bp, lay)
    return comp, lay, bp, state


def test_layout_owners_and_presynaptic_slots():
    comp, lay, _, _ = _blueprint(random_circuit(0))
    ys, ts = comp.proj_names.index("YS"), comp.proj_names.index("TS")
    assert lay.tied == [ys] and lay.owner[ys] == ts and lay.owner[ts] == ts
    xh = comp.proj_names.index("XH")
    np.testing.assert_array_equal(
        lay.pre_slots(xh), comp.proj_delay[xh] * comp.n_units + comp.input_off + np.arange(12)
    )


def test_each_signal_becomes_one_variable_shared_by_the_rules_that_read_it():
    c = random_circuit(0, general=True)
    # a second rule on HQ reading the same post trace and pre trace as gen_HQ
    form = RuleForm([FormTerm("trace:Q_bar", 2.0)], "trace:H_bar_1", 0.0, "post", "trace:H_bar_1")
    c.rules.append(Rule("gen_HQ2", "general", "HQ", lr=0.001, form=form))
    comp, lay, bp, _ = _blueprint(c)
    code = {r.k: r for r in bp.rules}
    k1, k2 = len(c.rules) - 2, len(c.rules) - 1  # gen_HQ, gen_HQ2
    linked = [var for group, var, *_ in bp.links if group in ("U", "DL")]
    assert len(linked) == len(set(linked))

    def names(text: str) -> set[str]:
        return set(re.findall(r"\b(?:ps|xsv)_\d+", text))

    first, second = names(code[k1].coef + code[k1].weights), names(code[k2].coef + code[k2].weights)
    assert len(second) == 2 and second <= first  # Q_bar on U, H_bar_1 on DL: reused
    # an untied rule's own post rate is U's r
    assert f"cm_{k2} = 0.0*r" in code[k2].coef
    oja = next(r for r in bp.rules if r.oja)
    assert oja.coef == "" and "back_" in oja.weights


def test_a_rule_on_a_tied_projection_reads_its_own_post_units_and_writes_its_bias_back():
    c = random_circuit(0)
    c.rules.append(
        Rule("rec_YS", "reconstruction", "YS", lr=0.01, forward_trace="S_bar", bias=True)
    )
    comp, lay, bp, _ = _blueprint(c)
    k = len(c.rules) - 1
    rule = bp.rules[-1]
    assert rule.k == k and rule.syn == comp.proj_names.index("TS")
    assert f"bl_{k}" in rule.bias and "xtv_" in rule.weights  # tied pre rates, bias written back
    assert " r\n" not in rule.coef + "\n"  # its post rate is a linked read, not the owner's r


def test_groups_have_the_layout_sizes_and_the_state():
    comp, lay, bp, state = _blueprint(random_circuit(0))
    brian2.start_scope()
    dt = comp.dt * brian2.ms
    groups = make_groups(bp, dt)
    assert groups["U"].N == comp.n_units
    assert groups["DL"].N == comp.hist_len * comp.n_units
    assert groups["TR"].N == comp.n_trace_units
    np.testing.assert_array_equal(groups["U"].b[:], state.b)
    syn = make_synapses(bp, lay, groups, state, dt)
    assert set(syn) == {p for p in range(len(comp.proj_names)) if lay.owner[p] == p}
    ts = comp.proj_names.index("TS")
    np.testing.assert_array_equal(syn[ts].w[:], comp.proj_matrix(state.w, "TS").ravel())


def test_compartments_nudge_their_somata_through_linked_reads():
    comp, lay, bp, state = _blueprint(random_circuit(0, temporal=True))
    links = {var: (group, src, src_var, index) for group, var, src, src_var, index in bp.links}
    assert bp.nudge == "cg*(ca - crh*crest)"
    h, ha, y, ya = (comp.pop_slice(n) for n in ("H", "H.apical", "Y", "Y.apical"))
    _, src, var, index = links["ca"]
    assert (src, var) == ("U", "r")
    np.testing.assert_array_equal(index[h], np.arange(ha.start, ha.stop))
    np.testing.assert_array_equal(index[y], np.arange(ya.start, ya.stop))
    _, src, var, rest = links["crest"]
    assert (src, var) == ("TR", "tr")
    m = comp.trace_names.index("AH_rest")
    np.testing.assert_array_equal(rest[h], comp.tr_off[m] + np.arange(h.stop - h.start))
    gain, has_rest = bp.values["U"]["cg"], bp.values["U"]["crh"]
    np.testing.assert_array_equal(gain[h], 0.4)
    np.testing.assert_array_equal(gain[y], 0.3)
    assert np.count_nonzero(gain) == (h.stop - h.start) + (y.stop - y.start)
    # H subtracts its rest trace, Y (rest: null) does not
    np.testing.assert_array_equal(has_rest[h], 1.0)
    assert not has_rest[y].any() and has_rest.sum() == h.stop - h.start


def test_no_compartment_no_nudge():
    _, _, bp, _ = _blueprint(random_circuit(0))
    assert bp.nudge == "" and "cg : 1 (constant)" not in bp.eqs["U"]
