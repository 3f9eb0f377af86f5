"""The rates update of the batched Numba kernel, one copy's row at a time, vectorised.

:func:`rate_segments` splits the units the update covers (all but the clamped inputs) into runs
of one activation; :func:`rates` updates a copy's rates run by run, tanh and the sigmoid by
:mod:`neurotp.engines.numba.vtanh`, with every loop over a slice from index 0 (a loop from a
computed start keeps Numba's negative-index wraparound check, and with it the loop scalar).
:func:`nonfinite` tells, as one vectorised sum, whether a row holds a NaN or an infinity;
:func:`first_nonfinite` finds which unit, only then.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotp.circuit.compiled import Compiled
from neurotp.engines.numba import vtanh
from neurotp.engines.numba.rows import phi


def rate_segments(comp: Compiled) -> np.ndarray:
    """(start, end, code) for the runs of units the rates update covers: every unit but the
    (clamped) inputs, in runs of one activation code; code −1 for the label population (its
    clamp is checked per unit)."""
    act = comp.unit_act
    lab = (comp.label_off, comp.label_off + comp.label_n) if comp.label_n > 0 else (-1, -1)
    inp = (comp.input_off, comp.input_off + comp.input_n)
    out: list[list[int]] = []
    for u in range(len(act)):
        if inp[0] <= u < inp[1]:
            continue
        code = -1 if lab[0] <= u < lab[1] else int(act[u])
        if out and out[-1][1] == u and out[-1][2] == code:
            out[-1][1] = u + 1
        else:
            out.append([u, u + 1, code])
    return np.array(out, dtype=np.int64).reshape(-1, 3)


@njit(cache=True, error_model="numpy")
def rates(rj, cj, kj, alpha, act, seg):
    """One copy's rates update, r += α·(−r + φ(cur)), run by run (:func:`rate_segments`):
    tanh and the sigmoid by :mod:`neurotp.engines.numba.vtanh` (the loops vectorise; the
    error model "numpy" lets them: no zero-division check)."""
    for m in range(seg.shape[0]):
        s0, s1, code = seg[m, 0], seg[m, 1], seg[m, 2]
        # slices and loops from 0: no negative-index wraparound, which keeps loops scalar
        r, c, al = rj[s0:s1], cj[s0:s1], alpha[s0:s1]
        if code == 1:
            for u in range(r.size):
                r[u] = r[u] + al[u] * (-r[u] + vtanh.tanh(c[u]))
        elif code == 2:
            for u in range(r.size):
                r[u] = r[u] + al[u] * (-r[u] + vtanh.sigmoid(c[u]))
        elif code < 0:
            k, a = kj[s0:s1], act[s0:s1]
            for u in range(r.size):
                if not k[u]:
                    r[u] = r[u] + al[u] * (-r[u] + phi(a[u], c[u]))
        else:
            for u in range(r.size):
                r[u] = r[u] + al[u] * (-r[u] + phi(code, c[u]))


@njit(cache=True, fastmath={"reassoc"})
def nonfinite(x, lo, hi):
    """Whether x[lo:hi] holds a NaN or an infinity (x − x is 0 for every finite x)."""
    acc = 0.0
    y = x[lo:hi]
    for u in range(y.size):
        acc += y[u] - y[u]
    return acc != acc


@njit(cache=True)
def first_nonfinite(x, lo, hi, skip_lo, skip_hi):
    """The first non-finite unit of x[lo:hi] outside [skip_lo, skip_hi); −1 if none."""
    for u in range(lo, hi):
        if (u < skip_lo or u >= skip_hi) and not np.isfinite(x[u]):
            return u
    return -1
