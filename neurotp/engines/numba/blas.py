"""GEMM on strided row-major blocks of arrays, from inside Numba kernels, without copies.

``np.dot`` in a kernel takes whole contiguous 2-D arrays: a block of the batched ring buffer
(the B copies' delayed rates of one population, a (B × n) block with row stride N) must be
copied out first, and the product comes back in a separate array that must be added into the
currents. :func:`gemm` calls the same BLAS ``?gemm`` that Numba's ``np.dot`` calls (SciPy's,
through Numba's ``numba_xxgemm`` helper, so the kernels still cache: no function pointer is
baked into the compiled code) on blocks given by (flat array, offset, leading dimension), with
``alpha`` and ``beta``: C ← α·op(A)·op(B) + β·C, all three row-major.

:func:`gemm` checks that every block lies inside its array (an out-of-range block would read
or write memory silently); the arrays must be C-contiguous and of one dtype (float64 or
float32).
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic
from numba.np.linalg import check_blas_return, ensure_blas, get_blas_kind


@intrinsic
def _xxgemm(typingctx, ta, tb, m, n, k, alpha, a, a_off, lda, b, b_off, ldb, beta, c, c_off, ldc):
    """Column-major ``?gemm`` on pointers ``a + a_off`` etc.; ``ta``/``tb``: transpose flags."""
    arrays = (a, b, c)
    if not all(isinstance(x, types.Array) and x.layout == "C" for x in arrays):
        raise TypingError("gemm: a, b and c must be C-contiguous arrays")
    if len({x.dtype for x in arrays}) != 1 or a.dtype not in (types.float64, types.float32):
        raise TypingError("gemm: a, b and c must share one dtype, float64 or float32")
    ensure_blas()
    dtype = a.dtype
    sig = types.int32(
        types.boolean, types.boolean, types.intp, types.intp, types.intp, dtype,
        a, types.intp, types.intp, b, types.intp, types.intp, dtype, c, types.intp, types.intp,
    )  # fmt: skip

    def codegen(context, builder, signature, args):
        ll_char, intp_t = ir.IntType(8), context.get_value_type(types.intp)
        ll_void_p = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(
            ir.IntType(32),
            [ll_char, ll_char, ll_char, intp_t, intp_t, intp_t, ll_void_p, ll_void_p, intp_t]
            + [ll_void_p, intp_t, ll_void_p, ll_void_p, intp_t],
        )
        fn = cgutils.get_or_insert_function(builder.module, fnty, "numba_xxgemm")
        (ta_v, tb_v, m_v, n_v, k_v, al_v, a_v, ao, la, b_v, bo, lb, be_v, c_v, co, lc) = args

        def ptr(ty, val, off):
            data = context.make_array(ty)(context, builder, val).data
            return builder.bitcast(builder.gep(data, [off]), ll_void_p)

        def flag(v):
            t, nt = ir.Constant(ll_char, ord("t")), ir.Constant(ll_char, ord("n"))
            return builder.select(v, t, nt)

        al = builder.bitcast(cgutils.alloca_once_value(builder, al_v), ll_void_p)
        be = builder.bitcast(cgutils.alloca_once_value(builder, be_v), ll_void_p)
        kind = ir.Constant(ll_char, ord(get_blas_kind(dtype)))
        res = builder.call(
            fn,
            (kind, flag(ta_v), flag(tb_v), m_v, n_v, k_v, al, ptr(a, a_v, ao), la)
            + (ptr(b, b_v, bo), lb, be, ptr(c, c_v, co), lc),
        )
        check_blas_return(context, builder, res)
        return res

    return sig, codegen


@njit(cache=True)
def _check_block(size, off, rows, cols, ld):
    if rows < 0 or cols < 0 or off < 0 or ld < max(cols, 1):
        raise ValueError("gemm: a block has a negative size or offset, or ld < its columns")
    if rows > 0 and cols > 0 and off + (rows - 1) * ld + cols > size:
        raise ValueError("gemm: a block runs past the end of its array")


@njit(cache=True)
def gemm(m, n, k, alpha, a, b, beta, c):
    """Row-major C (m × n) ← α·op(A)·op(B) + β·C on blocks of C-contiguous arrays.

    ``a`` and ``b`` are (array, offset of the block's first element in the flat array,
    leading dimension: the flat distance between its rows, transposed); ``c`` is (array,
    offset, leading dimension). op(A) is A (stored m rows of k) or, transposed, Aᵀ (A stored
    k rows of m); likewise op(B) (k × n). Raises ValueError for a block outside its array."""
    a_arr, a_off, lda, trans_a = a
    b_arr, b_off, ldb, trans_b = b
    c_arr, c_off, ldc = c
    ar, ac = (k, m) if trans_a else (m, k)
    br, bc = (n, k) if trans_b else (k, n)
    _check_block(a_arr.size, a_off, ar, ac, lda)
    _check_block(b_arr.size, b_off, br, bc, ldb)
    _check_block(c_arr.size, c_off, m, n, ldc)
    a_ = a_arr.reshape(a_arr.size)
    b_ = b_arr.reshape(b_arr.size)
    c_ = c_arr.reshape(c_arr.size)
    if m == 0 or n == 0:
        return
    if k == 0:  # BLAS's meaning: C ← β·C, and C ← 0 for β = 0
        for i in range(m):
            for j in range(n):
                e = c_off + i * ldc + j
                c_[e] = 0.0 if beta == 0.0 else beta * c_[e]
        return
    # row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, and a row-major block
    # read column-major is its transpose: so B goes first, each with its own flag
    _xxgemm(trans_b, trans_a, n, m, k, alpha, b_, b_off, ldb, a_, a_off, lda, beta, c_, c_off, ldc)
