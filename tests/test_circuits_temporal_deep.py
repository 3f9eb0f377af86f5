"""circuits/digits_temporal_deep*.yaml: they load, their audit reports only the label clamp and
the train/test switch, and each ablation differs from the full circuit only by what it cuts."""

from pathlib import Path

import pytest

from neurotp.circuit import load_circuit
from neurotp.circuit.audit import audit

CIRCUITS = Path(__file__).resolve().parents[1] / "circuits"
# variant: (projections cut, rules cut)
VARIANTS = {
    "short": ({"G_long"}, {"learn_G_long"}),
    "long": ({"G_short"}, {"learn_G_short"}),
    "nofeedback": ({"G_short", "G_long"}, {"learn_G_short", "learn_G_long"}),
    "frozen": (set(), {"learn_XH1"}),
}


def _load(suffix: str = ""):
    return load_circuit(CIRCUITS / f"digits_temporal_deep{suffix}.yaml")


@pytest.mark.parametrize("suffix", ["", *(f"_{v}" for v in VARIANTS)])
def test_the_audit_reports_only_the_label_clamp_and_the_learning_switch(suffix):
    found = {(f.kind, f.where) for f in audit(_load(suffix))}
    assert found == {("global gate", "protocol.label"), ("global gate", "protocol")}


def test_two_loops_of_different_delay_reach_h1_each_through_its_own_learned_decoder():
    c = _load()
    into = {p.name: p for p in c.projections if p.post == "H1.apical"}
    assert {n: (p.pre, p.delay) for n, p in into.items()} == {
        "G_short": ("H2.apical", 1.0),
        "G_long": ("Y.apical", 6.0),
    }
    assert all(p.tie is None for p in c.projections)
    learned = {r.projection for r in c.rules}
    assert {"G_short", "G_long", "G2"} <= learned
    assert all(r.window is None for r in c.rules)


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_ablation_cuts_only_what_it_says(variant):
    full, cut = _load(), _load(f"_{variant}")
    projs, rules = VARIANTS[variant]
    kept = [p for p in full.projections if p.name not in projs]
    assert [p.name for p in cut.projections] == [p.name for p in kept]
    assert [r.name for r in cut.rules] == [r.name for r in full.rules if r.name not in rules]
    assert cut.protocol == full.protocol and cut.populations == full.populations
    assert cut.traces == full.traces
