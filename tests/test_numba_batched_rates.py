"""The batched kernel's rates update: its runs, the vectorised update, the finiteness check."""

import numpy as np

from neurotp.circuit import compile_circuit
from neurotp.circuit.library import tp_circuit
from neurotp.engines.numba.batched_rates import first_nonfinite, nonfinite, rate_segments, rates
from neurotp.engines.numba.rows import phi


def rich_comp():
    c = tp_circuit((7, 5, 3))
    c.protocol.batch = 2
    return compile_circuit(c)


def test_rate_segments_cover_every_unit_but_the_inputs():
    comp = rich_comp()
    seg = rate_segments(comp)
    covered = np.concatenate([np.arange(a, b) for a, b, _ in seg])
    inputs = np.arange(comp.input_off, comp.input_off + comp.input_n)
    assert sorted(covered.tolist() + inputs.tolist()) == list(range(comp.n_units))
    for a, b, code in seg:
        labels = comp.label_off <= a < comp.label_off + comp.label_n
        assert code == (-1 if labels else comp.unit_act[a])
        assert np.all(comp.unit_act[a:b] == comp.unit_act[a])


def test_rates_equal_the_per_unit_update():
    comp = rich_comp()
    rng = np.random.default_rng(0)
    n = comp.n_units
    r0, cur = rng.standard_normal(n), 3 * rng.standard_normal(n)
    clamped = np.zeros(n, dtype=bool)
    clamped[comp.label_off] = True  # a clamped label unit keeps its rate
    alpha, act = comp.unit_alpha.astype(float), comp.unit_act.astype(np.int64)
    r = r0.copy()
    rates(r, cur, clamped, alpha, act, rate_segments(comp))
    want = r0.copy()
    for u in range(n):
        inputs = comp.input_off <= u < comp.input_off + comp.input_n
        if not inputs and not clamped[u]:
            want[u] = r0[u] + alpha[u] * (-r0[u] + phi(act[u], cur[u]))
    np.testing.assert_allclose(r, want, rtol=0, atol=1e-15)
    assert r[comp.label_off] == r0[comp.label_off]


def test_the_vectorised_finiteness_check_sees_nan_and_infinities():
    x = np.arange(20.0)
    assert not nonfinite(x, 0, 20)
    for bad in (np.nan, np.inf, -np.inf):
        y = x.copy()
        y[13] = bad
        assert nonfinite(y, 0, 20) and not nonfinite(y, 14, 20)
        assert first_nonfinite(y, 0, 20, 0, 0) == 13
        assert first_nonfinite(y, 0, 20, 10, 15) == -1  # the skipped range
