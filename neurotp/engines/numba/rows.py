"""Row loops over one projection's weight matrix: the current W·x, the element-wise update
W += η·(ca ⊗ av − cb ⊗ bv) (:mod:`neurotp.engines.numba.tables` says how a rule becomes
ca, cb, av, bv), both in one pass, and the activation functions φ.

The loops index a 2-D view of the flat weights (:func:`matrix`) instead of slicing a row per
unit: each slice (or call that receives one) costs two atomic reference-count updates, which
at 1000 × 1000 took a quarter of the step.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Reductions may be reordered (vectorised); results differ from NumPy's by rounding only.
FAST = {"reassoc", "contract", "nsz"}


@njit(cache=True)
def matrix(w, off, post_n, pre_n):
    """The (post × pre) view of a projection's block of the flat weights."""
    return w[off : off + post_n * pre_n].reshape((post_n, pre_n))


@njit(cache=True, fastmath=False)
def phi(code, v):
    """φ of activation ``code`` (:data:`neurotp.circuit.activations.ACTIVATION_CODES`)."""
    if code == 0:
        return v
    if code == 1:
        return np.tanh(v)
    if code == 2:
        return 0.5 * (1.0 + np.tanh(0.5 * v))
    if code == 3:
        return v if v > 0.0 else 0.0
    if code == 4:
        return 1.0 if v >= 0.0 else -1.0
    return 1.0 if v >= 0.0 else 0.0


@njit(cache=True, fastmath=FAST)
def dot(u, v):
    acc = 0.0
    for j in range(u.shape[0]):
        acc += u[j] * v[j]
    return acc


@njit(cache=True, fastmath=FAST)
def rows_dot(W, x, cur, post_off):
    """cur[post] += W x, row by row."""
    post_n, pre_n = W.shape
    for a in range(post_n):
        acc = 0.0
        for j in range(pre_n):
            acc += W[a, j] * x[j]
        cur[post_off + a] += acc


@njit(cache=True, fastmath=FAST)
def rows_update(W, av, bv, ca, cb, eta, lo, hi):
    """W += eta (ca avᵀ - cb bvᵀ), then clip to [lo, hi]."""
    post_n, pre_n = W.shape
    bounded = lo > -np.inf or hi < np.inf
    for a in range(post_n):
        ka = ca[a]
        kb = cb[a]
        for j in range(pre_n):
            W[a, j] = W[a, j] + eta * (ka * av[j] - kb * bv[j])
        if bounded:
            for j in range(pre_n):
                W[a, j] = min(max(W[a, j], lo), hi)


@njit(cache=True, fastmath=FAST)
def rows_dot_update(W, x, av, ca, cb, eta, cur, post_off):
    """cur[post] += W x with the old weights, and W += eta (ca avᵀ - cb xᵀ), in one pass."""
    post_n, pre_n = W.shape
    for a in range(post_n):
        acc = 0.0
        ka = ca[a]
        kb = cb[a]
        for j in range(pre_n):
            wj = W[a, j]
            acc += wj * x[j]
            W[a, j] = wj + eta * (ka * av[j] - kb * x[j])
        cur[post_off + a] += acc


@njit(cache=True)
def oja_update(W, x, y, eta, lo, hi):
    """Oja's subspace rule W += eta y (x - Wᵀy)ᵀ with y the post rates, then clip (Wᵀy from
    the weights before the update)."""
    post_n, pre_n = W.shape
    bounded = lo > -np.inf or hi < np.inf
    back = np.zeros(pre_n)
    for a in range(post_n):
        ya = y[a]
        for j in range(pre_n):
            back[j] += W[a, j] * ya
    for a in range(post_n):
        ya = y[a]
        for j in range(pre_n):
            v = W[a, j] + eta * ya * (x[j] - back[j])
            if bounded:
                v = min(max(v, lo), hi)
            W[a, j] = v
