"""A barrier for the batched kernel's worker threads, inside ``nogil`` Numba kernels.

The batched engine runs its copies on several Python threads, each calling the same cached
``nogil`` kernel on its own share of the copies (:mod:`neurotp.engines.numba.batched_kernel`).
They meet at barriers: :func:`barrier` publishes the caller's phase (a whole number that
only grows, the same sequence in every worker) with an atomic store and waits until every
worker has published it, reading their phases with atomic loads. The store releases and the
loads acquire (sequentially consistent), so whatever a worker wrote before the barrier is
seen by the others after it. A waiting worker spins with the CPU's ``pause`` and, after
``SPINS`` rounds, gives its core away (``sched_yield``) between reads: two workers on two
busy cores still make progress. Any worker may set the abort word (:func:`abort`, e.g. when
the other raised or diverged): a worker waiting at a barrier the others have not reached then
returns False at once (one they all have reached still succeeds).

Layout of ``sync`` (int64): worker w's phase at ``w * PAD``, the abort word at ``n * PAD``
(``PAD`` words apart: each on its own cache line). The atomics are LLVM instructions
(``load atomic``, ``store atomic``, ``llvm.x86.sse2.pause`` where the target has it) and
``sched_yield`` a C library symbol resolved by name, so the kernels cache like the others:
no address is compiled in. There is no ``parallel=True`` kernel (numba issue #8578).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic

PAD = 8  # int64 words between two workers' phases: 64 bytes, one cache line
SPINS = 2000  # pause rounds before a waiting worker yields its core


def _element_ptr(context, builder, arr_ty, arr, idx):
    data = context.make_array(arr_ty)(context, builder, arr).data
    return builder.gep(data, [idx])


def _check(arr, what):
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64 and arr.layout == "C"):
        raise TypingError(f"{what}: a C-contiguous int64 array")


@intrinsic
def atomic_load(typingctx, arr, idx):
    """arr[idx], read atomically (sequentially consistent)."""
    _check(arr, "atomic_load")

    def codegen(context, builder, sig, args):
        ptr = _element_ptr(context, builder, sig.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "seq_cst", 8)

    return types.int64(arr, types.intp), codegen


@intrinsic
def atomic_store(typingctx, arr, idx, val):
    """arr[idx] = val, written atomically (sequentially consistent)."""
    _check(arr, "atomic_store")

    def codegen(context, builder, sig, args):
        ptr = _element_ptr(context, builder, sig.args[0], args[0], args[1])
        builder.store_atomic(args[2], ptr, "seq_cst", 8)
        return context.get_dummy_value()

    return types.void(arr, types.intp, types.int64), codegen


@intrinsic
def cpu_relax(typingctx):
    """The spin-wait hint (x86 ``pause``); nothing on other targets."""

    def codegen(context, builder, sig, args):
        triple = builder.module.triple or ""
        if triple.startswith(("x86_64", "i386", "i686")):
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause"
            )
            builder.call(fn, [])
        return context.get_dummy_value()

    return types.void(), codegen


@intrinsic
def sched_yield(typingctx):
    """POSIX ``sched_yield()``: give the core to another thread."""

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield"
        )
        builder.call(fn, [])
        return context.get_dummy_value()

    return types.void(), codegen


def new_sync(n: int) -> np.ndarray:
    """The ``sync`` array of ``n`` workers: every phase 0, not aborted."""
    return np.zeros((n + 1) * PAD, dtype=np.int64)


@njit(cache=True, nogil=True)
def abort(sync, n):
    """Make every barrier of the ``n`` workers return False from now on."""
    atomic_store(sync, n * PAD, 1)


@njit(cache=True, nogil=True)
def barrier(sync, w, n, phase):
    """Worker ``w`` of ``n`` reaches ``phase``; returns True once every worker has, False if
    the run is aborted while it waits. A barrier every worker has reached succeeds even if
    the abort word was set since: a worker that diverged right after it (and aborted) must
    not stop another that is still leaving it, before that one has checked the same step."""
    atomic_store(sync, w * PAD, phase)
    for i in range(n):
        spins = 0
        while atomic_load(sync, i * PAD) < phase:
            if atomic_load(sync, n * PAD) != 0:
                return False
            spins += 1
            if spins < SPINS:
                cpu_relax()
            else:
                sched_yield()
    return True
