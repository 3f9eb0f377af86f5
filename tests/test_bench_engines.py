"""neurotp bench engines: runs at a small size and reports consistent numbers."""

import argparse

import pytest

from neurotp.bench.engines import format_table, memory_bandwidth, run


def test_bench_engines_small():
    args = argparse.Namespace(
        units=50, numba_steps=40, reference_steps=20, repeats=1, brian2=None, out=None
    )
    res = run(args)
    assert res["max_abs_difference_before_timing"] <= 1e-9
    by = {r["engine"]: r for r in res["rows"]}
    ref, nb, step = by["reference"], by["numba"], by["numba step loop"]
    assert by["reference, 1 BLAS thread"]["threads"] == 1
    assert step["block_steps"] == {} and by["numba float32 step loop"]["block_steps"] == {}
    assert nb["block_steps"] == res["delay_block_steps"] == {"XF": 2, "FR": 3}
    assert by["numba float32"]["block_steps"] == {"XF": 2, "FR": 3}
    assert nb["synapse_updates_per_s"] == pytest.approx(nb["steps_per_s"] * 2 * 50 * 50, rel=1e-12)
    assert res["numba_over_reference"] == pytest.approx(
        nb["steps_per_s"] / ref["steps_per_s"], rel=1e-12
    )
    assert "numba / reference" in format_table(res)


def test_memory_bandwidth_is_plausible():
    for inplace in (False, True):
        bw = memory_bandwidth(n_bytes=16 * 2**20, repeats=2, inplace=inplace)
        assert 1e8 < bw < 1e13
