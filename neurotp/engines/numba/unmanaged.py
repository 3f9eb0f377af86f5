"""Array aliases that Numba does not reference-count, for the batched kernel's hot loops.

Every view a Numba kernel takes (``r[j]``, ``hist[slot, j]``, ``cur[j, a:b]``) carries its
parent's memory-info pointer and increments and decrements its reference count, an atomic
``lock`` instruction each time: the batched kernel takes a few dozen views per copy and step,
and in ``fmnist_tp`` at B = 128 ``perf`` put 14-15 % of the run (one thread or two) in Numba's
``NRT_MemInfo_incref``/``decref``, the two workers' counts on the shared arrays' one cache
line. :func:`unmanaged` returns the same array (data, shape, strides) with no memory info
and no parent: its views are counted by no one (Numba's reference operations skip a null
pointer), the loops over them are the same loops.

It is safe where the alias does not outlive the array it was taken from: the kernel's
arguments, alive in the caller for the whole call, taken at the kernel's entry and never
returned or stored. The alias must not be returned to Python (it owns nothing).
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic


def _alias(context, builder, ty, val):
    """``val`` of type ``ty`` with every array in it (a tuple's, recursively) unmanaged."""
    if isinstance(ty, types.Array):
        src = context.make_array(ty)(context, builder, val)
        out = context.make_array(ty)(context, builder)
        out.meminfo = cgutils.get_null_value(out.meminfo.type)
        out.parent = cgutils.get_null_value(out.parent.type)
        out.nitems = src.nitems
        out.itemsize = src.itemsize
        out.data = src.data
        out.shape = src.shape
        out.strides = src.strides
        return out._getvalue()
    if isinstance(ty, types.BaseTuple):
        out = val
        for i, member in enumerate(ty.types):
            item = _alias(context, builder, member, builder.extract_value(val, i))
            out = builder.insert_value(out, item, i)
        return out
    return val


def _check(ty) -> None:
    if isinstance(ty, types.BaseTuple):
        for member in ty.types:
            _check(member)
    elif not isinstance(ty, (types.Array, types.Number, types.Boolean)):
        raise TypingError(f"unmanaged: arrays, numbers and tuples of them, not {ty}")


@intrinsic
def unmanaged(typingctx, value):
    """``value`` (an array, or a tuple or named tuple of arrays and numbers) with every array
    in it without its memory info and parent: their views are not reference-counted."""
    _check(value)

    def codegen(context, builder, sig, args):
        return _alias(context, builder, sig.args[0], args[0])

    return value(value), codegen
