"""neurotp/compare/temporal.py: a section-8-in-time circuit's network is read by its wiring
(forward chain, feedback into the hidden compartment), and circuits compare cannot read are
refused with the problem named."""

import numpy as np
import pytest

from neurotp.circuit import compile_circuit, load_circuit
from neurotp.compare import (
    forward_chain,
    load_temporal,
    read_temporal_network,
    temporal_sizes,
)
from neurotp.metrics.alignment import dtp_update, inverse_reconstruction_mse

# a small circuit of the shape of circuits/digits_temporal.yaml: X -> H -> Y -> L, the label's
# change reaches Y.apical, and Y.apical feeds H.apical through G (the names differ on purpose)
TEMPORAL = """
name: tiny_temporal
seed: 3
populations:
  - {name: In, size: 64, activation: linear, role: input}
  - {name: Hid, size: 5, activation: tanh, apical: {activation: linear, gain: 0.5, bias: 0.1}}
  - {name: Out, size: 10, activation: sigmoid, apical: {activation: linear, gain: 0.8}}
  - {name: Lab, size: 10, activation: linear, role: label}
projections:
  - {name: fwd1, pre: In, post: Hid, delay: 1.0, init: {kind: normal, scale: 1.0}}
  - {name: fwd2, pre: Hid, post: Out, delay: 1.0, init: {kind: normal, scale: 1.0}}
  - {name: copy, pre: Out, post: Lab, delay: 1.0, init: {kind: identity, scale: 1.0}}
  - {name: lab_a, pre: Lab, post: Out.apical, delay: 1.0, init: {kind: identity, scale: 1.0}}
  - {name: back, pre: Out.apical, post: Hid.apical, delay: 1.0, init: {kind: normal, scale: 1.0}}
traces:
  - {name: In_bar, population: In, tau: 5.0, delay: 1.0}
rules:
  - name: learn_fwd1
    kind: general
    projection: fwd1
    lr: 0.01
    form: {plus: [{post: apical, coef: 1.0}], plus_pre: "trace:In_bar", minus_coef: 0.0}
protocol:
  {present: 20.0, label_delay: 10.0, input: In, label: Lab, readout: Out,
   readout_window: [5, 10], dataset: digits}
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TEMPORAL)
    return path


def edited(tmp_path, old: str, new: str):
    assert old in TEMPORAL
    path = tmp_path / "edited.yaml"
    path.write_text(TEMPORAL.replace(old, new))
    return path


def test_the_network_is_read_by_wiring(tiny):
    c = load_circuit(tiny)
    assert forward_chain(c) == ["In", "Hid", "Out"]
    assert temporal_sizes(c) == (64, 5, 10)
    comp = compile_circuit(c)
    state = comp.initial_state()
    state.w += np.random.default_rng(0).normal(size=state.w.shape)  # every weight its own
    net = read_temporal_network(comp, state)
    np.testing.assert_array_equal(net.W[0], comp.proj_matrix(state.w, "fwd1"))
    np.testing.assert_array_equal(net.W[1], comp.proj_matrix(state.w, "fwd2"))
    np.testing.assert_array_equal(net.V[1], comp.proj_matrix(state.w, "back"))
    assert net.V[0] is None
    np.testing.assert_array_equal(net.c[1], np.full(5, 0.1))  # the compartment's bias
    assert net.feedback == "linear" and net.beta == pytest.approx(0.8)


def test_the_dtp_reference_uses_the_compartment_activation(tiny):
    comp = compile_circuit(load_circuit(tiny))
    net = read_temporal_network(comp, comp.initial_state())
    rng = np.random.default_rng(1)
    x, t = rng.random((4, 64)), np.eye(10)[rng.integers(0, 10, 4)]
    h = np.tanh(x @ net.W[0].T + net.b[0])
    y = 1 / (1 + np.exp(-(h @ net.W[1].T + net.b[1])))
    # linear feedback: the hidden target is h + V·(ŷ − y), the bias cancels
    h_hat = h + (net.beta * (t - y)) @ net.V[1].T
    want = ((h_hat - h) * (1 - h**2)).T @ x
    np.testing.assert_allclose(dtp_update(net, x, t)[0], want, rtol=1e-10, atol=1e-12)
    rec = np.mean((y @ net.V[1].T + net.c[1] - h) ** 2)
    assert inverse_reconstruction_mse(net, x) == [pytest.approx(rec)]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "{name: Hid, size: 5, activation: tanh",
            "{name: Hid, size: 5, activation: relu",
            "compare's BP gradient needs tanh hidden layers and a sigmoid output",
        ),
        (
            "pre: Out.apical, post: Hid.apical",
            "pre: Lab, post: Hid.apical",
            "hidden layer 'Hid' needs a compartment",
        ),
        (
            "  - {name: copy,",
            "  - {name: skip, pre: In, post: Out, delay: 1.0}\n  - {name: copy,",
            "found Hid, Out",
        ),
        ("dataset: digits", "dataset: mnist", "compare runs on digits"),
    ],
    ids=["activation", "no-feedback", "branch", "dataset"],
)
def test_circuits_compare_cannot_read_are_refused(tmp_path, old, new, message):
    path = edited(tmp_path, old, new)
    with pytest.raises(ValueError, match="--temporal") as err:
        load_temporal([path])
    assert message in str(err.value)


def test_missing_files_and_twice_the_same_name_are_refused(tiny, tmp_path):
    with pytest.raises(ValueError, match="--temporal: no circuit file"):
        load_temporal([tmp_path / "nothere.yaml"])
    with pytest.raises(ValueError, match="two circuits share a name"):
        load_temporal([tiny, tiny])
    assert [c.name for c in load_temporal([tiny])] == ["tiny_temporal"]


@pytest.mark.parametrize("pre", ["Out.apical", "Out"])
def test_a_reconstruction_error_only_where_the_feedback_decodes_rates(tmp_path, pre):
    from neurotp.compare import experiment
    from neurotp.compare.temporal import feedback_is_inverse
    from neurotp.data import load_dataset

    path = edited(tmp_path, "pre: Out.apical, post: Hid.apical", f"pre: {pre}, post: Hid.apical")
    c = load_circuit(path)
    assert feedback_is_inverse(c) == (pre == "Out")
    data = load_dataset("digits", n_train=50, n_test=20)
    probe = (data.x_train[:10], data.y_train[:10])
    res = experiment._train_temporal(c, seed=0, epochs=1, data=data, probe=probe)
    assert len(res["alignment"]) == 1 and len(res["alignment"][0]["vs_bp"]) == 2
    assert len(res["reconstruction_mse"]) == (1 if pre == "Out" else 0)
