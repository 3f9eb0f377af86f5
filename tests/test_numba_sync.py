"""The worker barrier: phases meet, writes before a barrier are seen after it, abort frees."""

import threading

import numpy as np
from numba import njit

from neurotp.engines.numba.sync import PAD, abort, barrier, new_sync


@njit(nogil=True)
def _exchange(sync, w, n, slots, seen, steps):
    """Each phase: write my slot, meet, read the other's slot of this phase."""
    for s in range(1, steps + 1):
        slots[w, s % 2] = s * 10 + w
        if not barrier(sync, w, n, s):
            return s
        other = 1 - w
        if slots[other, s % 2] != s * 10 + other:
            seen[w] += 1  # a stale value: the barrier did not order the writes
    return 0


def test_two_workers_meet_and_see_each_others_writes():
    sync, slots, seen = new_sync(2), np.zeros((2, 2), np.int64), np.zeros(2, np.int64)
    _exchange(new_sync(1), 0, 1, np.zeros((2, 2), np.int64), np.zeros(2, np.int64), 1)
    out = [None, None]

    def go(w):
        out[w] = _exchange(sync, w, 2, slots, seen, 20000)

    threads = [threading.Thread(target=go, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert out == [0, 0]
    assert seen.tolist() == [0, 0]


def test_abort_frees_a_worker_that_waits_alone():
    sync = new_sync(2)
    result = []
    t = threading.Thread(target=lambda: result.append(barrier(sync, 0, 2, 1)))
    t.start()  # worker 1 never comes
    t.join(timeout=0.2)
    assert t.is_alive()
    abort(sync, 2)
    t.join(timeout=60)
    assert result == [False]
    assert not barrier(sync, 1, 2, 2)  # after an abort, a barrier the other never reaches


def test_a_barrier_every_worker_reached_succeeds_after_an_abort():
    # worker 1 passed phase 1 and then aborted (it diverged); worker 0, still leaving the
    # barrier of phase 1, must go on to check its own step (it did stop here once, under load)
    sync = new_sync(2)
    sync[1 * PAD] = 1  # worker 1 has reached phase 1
    abort(sync, 2)
    assert barrier(sync, 0, 2, 1)
    assert not barrier(sync, 0, 2, 2)
