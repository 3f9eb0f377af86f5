"""Pure-NumPy reader for the IDX format of MNIST / Fashion-MNIST (gzip or raw).

IDX layout: two zero bytes, one type byte, one byte giving the number of dimensions ``n``,
then ``n`` big-endian uint32 sizes, then the data in C order (big-endian for multi-byte
types). No pickle is involved anywhere.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

# IDX type byte -> numpy dtype (big-endian where it matters).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(2)
        fh.seek(0)
        if head == b"\x1f\x8b":
            try:
                with gzip.GzipFile(fileobj=fh) as gz:
                    return gz.read()
            except (OSError, EOFError, zlib.error) as exc:
                raise ValueError(f"{path}: corrupt gzip stream ({exc})") from exc
        return fh.read()


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode an IDX byte string into an array; ``source`` names it in error messages.

    Raises ``ValueError`` on a bad magic number, an unknown type byte, or a payload whose
    size disagrees with the header (truncated or trailing bytes).
    """
    if len(raw) < 4:
        raise ValueError(f"{source}: too short for an IDX header ({len(raw)} bytes, need >= 4)")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{source}: bad IDX magic {raw[:4].hex()} (first two bytes must be 00 00)")
    type_code, ndim = raw[2], raw[3]
    if type_code not in IDX_DTYPES:
        allowed = ", ".join(f"0x{k:02X}" for k in IDX_DTYPES)
        raise ValueError(f"{source}: unknown IDX type byte 0x{type_code:02X}; allowed: {allowed}")
    if ndim == 0:
        raise ValueError(f"{source}: IDX header declares 0 dimensions (need >= 1)")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise ValueError(
            f"{source}: truncated IDX header ({len(raw)} bytes, need {header_len} for "
            f"{ndim} dimensions)"
        )
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header_len
    if got < expected:
        raise ValueError(
            f"{source}: truncated IDX data: header shape {shape} needs {expected} bytes, "
            f"file has {got}"
        )
    if got > expected:
        raise ValueError(
            f"{source}: wrong IDX size: header shape {shape} needs {expected} bytes, file has "
            f"{got} ({got - expected} trailing bytes)"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw, detected from the gzip magic) into a NumPy array.

    Raises ``FileNotFoundError`` if missing and ``ValueError`` naming the file and the
    problem if it is corrupt (bad magic, unknown type, wrong size, truncated, bad gzip).
    """
    p = Path(path)
    return parse_idx(_read_bytes(p), source=str(p))


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file (gzip if ``compress`` or the name ends in ``.gz``).

    Used by the tests and by anyone preparing their own data in the MNIST layout.
    """
    p = Path(path)
    arr = np.asarray(array)
    codes = {dt.newbyteorder("=").str[1:]: code for code, dt in IDX_DTYPES.items()}
    key = arr.dtype.newbyteorder("=").str[1:]
    if key not in codes:
        allowed = ", ".join(str(dt.newbyteorder("=")) for dt in IDX_DTYPES.values())
        raise ValueError(f"array dtype: {arr.dtype} not representable in IDX; allowed: {allowed}")
    code = codes[key]
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(arr).astype(IDX_DTYPES[code], copy=False).tobytes()
    if compress is None:
        compress = p.suffix == ".gz"
    p.write_bytes(gzip.compress(payload, mtime=0) if compress else payload)
    return p
