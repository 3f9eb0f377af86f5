import gzip

import numpy as np
import pytest

from neurotp.data.idx import parse_idx, read_idx, write_idx


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_roundtrip(tmp_path, suffix, dtype):
    arr = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    if dtype == np.uint8:
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    p = write_idx(tmp_path / f"a-idx3-ubyte{suffix}", arr)
    out = read_idx(p)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, arr)


def test_known_bytes():
    raw = bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9])
    np.testing.assert_array_equal(parse_idx(raw), [7, 8, 9])
    raw16 = bytes([0, 0, 0x0B, 1, 0, 0, 0, 1, 0x01, 0x02])  # big-endian 0x0102
    assert parse_idx(raw16)[0] == 258


def test_bad_magic(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(bytes([1, 2, 0x08, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(ValueError, match=r"bad.*magic"):
        read_idx(p)


def test_unknown_type(tmp_path):
    p = tmp_path / "t"
    p.write_bytes(bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(ValueError, match="type byte 0x07"):
        read_idx(p)


def test_truncated_data_names_file(tmp_path):
    arr = np.zeros((4, 5, 5), dtype=np.uint8)
    p = write_idx(tmp_path / "trunc-idx3-ubyte", arr)
    p.write_bytes(p.read_bytes()[:-3])
    with pytest.raises(ValueError, match=r"trunc-idx3-ubyte.*truncated IDX data"):
        read_idx(p)


def test_trailing_bytes(tmp_path):
    p = write_idx(tmp_path / "x", np.zeros(3, dtype=np.uint8))
    p.write_bytes(p.read_bytes() + b"\x00")
    with pytest.raises(ValueError, match="1 trailing bytes"):
        read_idx(p)


def test_truncated_header(tmp_path):
    p = tmp_path / "h"
    p.write_bytes(bytes([0, 0, 0x08, 3, 0, 0]))
    with pytest.raises(ValueError, match="truncated IDX header"):
        read_idx(p)


def test_corrupt_gzip(tmp_path):
    good = gzip.compress(bytes([0, 0, 0x08, 1, 0, 0, 0, 100]) + bytes(100))
    p = tmp_path / "c.gz"
    p.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="corrupt gzip"):
        read_idx(p)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")
