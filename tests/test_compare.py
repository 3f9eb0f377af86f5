"""neurotp compare at a tiny size."""

import pytest

pytest.importorskip("torch", reason="pip install 'neurotp[torch]'")

from neurotp.compare import cached_compare, markdown_table, parse_arch, run_compare  # noqa: E402


@pytest.mark.torch
def test_run_compare_small(tmp_path):
    r = run_compare("64-16-10", seeds=(0,), epochs=2, baselines=("bp",))
    s = r["summary"]
    assert set(s) == {"circuit", "circuit_frozen_hidden", "bp"}
    assert s["circuit"]["samples_seen"] == 2 * 1257
    # the output layer's circuit update is the delta rule: parallel to BP's gradient
    assert s["circuit"]["angle_vs_bp_mean"][-1] < 10.0
    assert 0.0 <= s["circuit"]["angle_saturated_mean"][0] <= 1.0
    assert s["bp"]["layers_shared_with_circuit_init"] == 2
    assert "| BP |" in markdown_table(r)
    # the cache returns the same result without recomputing
    a = cached_compare("64-16-10", tmp_path, seeds=(0,), epochs=1, baselines=())
    b = cached_compare("64-16-10", tmp_path, seeds=(0,), epochs=1, baselines=())
    assert a == b and len(list(tmp_path.glob("compare_*.json"))) == 1


def test_parse_arch_rejects_bad_names():
    assert parse_arch("64-16-16-10") == (64, 16, 16, 10)
    with pytest.raises(ValueError, match="--arch"):
        parse_arch("64-10")
    with pytest.raises(ValueError, match="--arch"):
        parse_arch("sixty-four")
