"""The section-8-in-time digits circuits (circuits/digits_temporal*.yaml, issue 12 items 1-2).

Cheap checks only (the accuracies are measured by ``neurotp run``, README): each circuit loads
and validates; its audit lists only the label clamp and the train/test switch (no tie, no index
read, no window, no gap); the controls differ from the main circuit by exactly what they cut;
and the property the design rests on holds in the simulation: both compartments are exactly 0
whenever no label is clamped (also with jittered frames), and move when the label arrives.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurotp.circuit import compile_circuit, load_circuit, make_drive
from neurotp.circuit.audit import audit
from neurotp.engines.reference import ReferenceEngine

CIRCUITS = Path(__file__).resolve().parents[1] / "circuits"
NAMES = (
    "digits_temporal",
    "digits_temporal_frozen",
    "digits_temporal_nofeedback",
    "digits_temporal_stream",
)
ALLOWED = {("global gate", "protocol.label"), ("global gate", "protocol")}


def _load(name: str):
    return load_circuit(CIRCUITS / f"{name}.yaml", check_data=False)


@pytest.mark.parametrize("name", NAMES)
def test_loads_and_its_audit_lists_only_the_label_clamp_and_the_train_test_switch(name):
    c = _load(name)
    assert c.name == name
    found = {(f.kind, f.where) for f in audit(c)}
    assert found == ALLOWED


def _rules(c) -> dict:
    return {r.name: r for r in c.rules}


def test_the_controls_cut_exactly_what_they_name():
    main, frozen, nofb = _load(NAMES[0]), _load(NAMES[1]), _load(NAMES[2])
    # frozen: no rule on X -> H, all else the same
    assert "XH" in {r.projection for r in main.rules}
    assert "XH" not in {r.projection for r in frozen.rules}
    assert {k: v for k, v in _rules(main).items() if v.projection != "XH"} == _rules(frozen)
    assert frozen.projections == main.projections and frozen.protocol == main.protocol
    # no feedback: nothing projects into H's compartment, and G's rule goes with it
    assert any(p.post == "H.apical" for p in main.projections)
    assert not any(p.post == "H.apical" for p in nofb.projections)
    kept = [p for p in main.projections if p.post != "H.apical"]
    assert nofb.projections == kept
    assert {k: v for k, v in _rules(main).items() if v.projection != "G"} == _rules(nofb)
    assert nofb.protocol == main.protocol


def test_the_stream_circuit_is_the_main_circuit_in_stream_mode_with_moving_input():
    main, st = _load(NAMES[0]), _load(NAMES[3])
    p = st.protocol
    assert p.stream and p.gap == 0 and p.frames > 1 and p.jitter > 0
    assert all(r.window is None for r in st.rules)
    assert st.populations == main.populations and st.projections == main.projections
    assert st.rules == main.rules and st.traces == main.traces


def test_the_spiking_circuit_is_the_rate_circuit_with_spiking_units():
    """Nothing tuned for spikes: every field but the populations' ``model`` (and the name,
    the description and the ``spiking`` parameters) is the rate circuit's."""
    from dataclasses import replace

    rate, spk = _load("digits_temporal"), _load("digits_temporal_spiking")
    assert {p.model for p in spk.populations} == {"lif"}
    assert [replace(p, model="rate") for p in spk.populations] == rate.populations
    assert spk.projections == rate.projections and spk.traces == rate.traces
    assert spk.rules == rate.rules and spk.protocol == rate.protocol


def _record(name: str, train: bool, n: int = 3):
    c = _load(name)
    comp = compile_circuit(c)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (n, comp.input_n))
    y = np.arange(n) % 10
    eng = ReferenceEngine(comp)
    drive = make_drive(comp, x, y, rng, train=train)
    rec = eng.run(drive, record_every=1).record
    spp = comp.steps_per_presentation
    return comp, rec.reshape(n, spp, -1)


@pytest.mark.parametrize("name", ["digits_temporal", "digits_temporal_stream"])
def test_compartments_are_exactly_zero_without_a_label_and_move_when_it_arrives(name):
    comp, rec = _record(name, train=False)
    ya, ha = comp.pop_slice("Y.apical"), comp.pop_slice("H.apical")
    # testing: the label runs free as a copy of Y, whatever the (jittered) input does; after the
    # first presentation's pipeline has filled both compartments stay at 0
    assert np.abs(rec[1:, :, ya]).max() <= 1e-12
    assert np.abs(rec[1:, :, ha]).max() <= 1e-12
    comp, rec = _record(name, train=True)
    d = comp.label_steps
    # training: zero before the label of a later sample arrives (the tail of the previous
    # sample's label passes within the loop delay of 3 ms), nonzero once it does
    assert np.abs(rec[1:, 4:d, ya]).max() <= 1e-12
    assert np.abs(rec[1:, 4:d, ha]).max() <= 1e-12
    assert np.abs(rec[1:, d + 2 :, ya]).max() > 1e-3
    assert np.abs(rec[1:, d + 3 :, ha]).max() > 1e-3


# ---- the same wiring at Fashion-MNIST scale (issue 9: fmnist_temporal.yaml) -------------------
FMNIST = ("fmnist_temporal", "fmnist_temporal_frozen")


@pytest.mark.parametrize("name", FMNIST)
def test_fmnist_temporal_audit_lists_only_the_label_clamp_and_the_train_test_switch(name):
    c = _load(name)
    assert c.name == name and c.protocol.dataset == "fashion-mnist"
    assert {(f.kind, f.where) for f in audit(c)} == ALLOWED


def test_fmnist_temporal_is_the_digits_wiring_at_784_64_10_with_g_fixed():
    digits = _load("digits_temporal")
    fm, frozen = _load("fmnist_temporal"), _load("fmnist_temporal_frozen")
    assert {p.name: p.size for p in fm.populations} == {"X": 784, "H": 64, "Y": 10, "L": 10}
    # the same projections (delays, initialisation) and traces; only the sizes differ
    assert fm.projections == digits.projections and fm.traces == digits.traces
    assert [p.apical for p in fm.populations] == [p.apical for p in digits.populations]
    # G learns on digits, not here (chosen on validation): the other two rules keep their forms
    assert sorted(_rules(digits)) == ["learn_G", "learn_HY", "learn_XH"]
    assert sorted(_rules(fm)) == ["learn_HY", "learn_XH"]
    for k in ("learn_HY", "learn_XH"):
        assert _rules(fm)[k].form == _rules(digits)[k].form
    # the control cuts exactly the rule on X -> H
    assert {k: v for k, v in _rules(fm).items() if k != "learn_XH"} == _rules(frozen)
    assert frozen.projections == fm.projections and frozen.protocol == fm.protocol
