"""The flat layout: offsets, tied weights, ring-buffer length, windows, the initial state."""

import numpy as np
import pytest

from neurotp.circuit import State, compile_circuit
from neurotp.circuit.library import random_circuit


@pytest.fixture(scope="module")
def comp():
    return compile_circuit(random_circuit(0, general=True))


def test_populations_are_laid_out_in_declaration_order(comp):
    c = comp.circuit
    sizes = [p.size for p in c.populations]
    assert comp.pop_size.tolist() == sizes
    assert comp.pop_off.tolist() == np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist()
    assert comp.n_units == sum(sizes)
    h = comp.pop_slice("H")
    assert (comp.unit_pop[h] == comp.pop_names.index("H")).all()
    assert np.allclose(comp.unit_alpha[h], c.protocol.dt / c.population("H").tau)
    assert set(comp.noise_idx.tolist()) == set(np.nonzero(comp.unit_sigma > 0)[0].tolist())


def test_tied_projection_points_at_its_owner_and_owns_no_weights(comp):
    c = comp.circuit
    i_tie, i_own = comp.proj_names.index("YS"), comp.proj_names.index("TS")
    assert comp.proj_w_off[i_tie] == comp.proj_w_off[i_own]
    owned = [p for p in c.projections if p.tie is None]
    want = sum(c.population(p.pre).size * c.population(p.post).size for p in owned)
    assert comp.n_weights == want
    s = comp.initial_state()
    assert comp.proj_matrix(s.w, "YS") is not None
    np.testing.assert_array_equal(comp.proj_matrix(s.w, "YS"), comp.proj_matrix(s.w, "TS"))


def test_ring_buffer_covers_the_longest_delay_and_windows_are_in_steps(comp):
    c = comp.circuit
    dt = c.protocol.dt
    longest = max([p.delay for p in c.projections] + [t.delay for t in c.traces])
    assert comp.hist_len == int(round(longest / dt)) + 1
    k = comp.rule_names.index("pred_XH")
    assert comp.rule_win[k].tolist() == [int(10 / dt), int(50 / dt)]
    whole = comp.rule_names.index("oja_GH")  # no window: the whole presentation
    assert comp.rule_win[whole].tolist() == [0, comp.present_steps]
    active = comp.rules_active(np.arange(comp.steps_per_presentation))
    assert not active[int(10 / dt) - 1, k] and active[int(10 / dt), k]


def test_initial_state_is_seeded_per_projection_and_copies_are_independent():
    a = compile_circuit(random_circuit(0)).initial_state()
    b = compile_circuit(random_circuit(0)).initial_state()
    c = compile_circuit(random_circuit(1)).initial_state()
    np.testing.assert_array_equal(a.w, b.w)
    assert not np.array_equal(a.w, c.w)
    comp = compile_circuit(random_circuit(0))
    yt = comp.proj_matrix(a.w, "YT")  # identity 0.8
    np.testing.assert_array_equal(yt, 0.8 * np.eye(yt.shape[0]))
    h = comp.pop_slice("H")
    assert (a.b[h] == 0.1).all()
    d = a.copy()
    d.w[0] += 1.0
    assert d.w[0] != a.w[0]
    e = State.from_arrays(a.arrays())
    np.testing.assert_array_equal(e.hist, a.hist)
    assert e.t == a.t


def test_initial_state_in_float32(comp):
    s = comp.initial_state(np.float32)
    assert {s.r.dtype, s.hist.dtype, s.tr.dtype, s.w.dtype, s.b.dtype} == {np.dtype(np.float32)}
    assert s.hist.shape == (comp.hist_len, comp.n_units)
