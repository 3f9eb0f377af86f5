"""neurotp/compare/cache.py: a cached comparison is computed once and read back the same; its
settings are checked before anything trains."""

import pytest

pytest.importorskip("torch", reason="pip install 'neurotp[torch]'")

from neurotp.compare import cached_compare  # noqa: E402
from neurotp.compare import experiment as compare_experiment  # noqa: E402


@pytest.mark.torch
def test_the_cache_returns_the_same_result_without_recomputing(tmp_path):
    a = cached_compare("64-16-10", tmp_path, seeds=(0,), epochs=1, baselines=())
    b = cached_compare("64-16-10", tmp_path, seeds=(0,), epochs=1, baselines=())
    assert a == b and len(list(tmp_path.glob("compare_*.json"))) == 1


def test_bad_settings_fail_before_anything_trains(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("trained before checking the settings")

    monkeypatch.setattr(compare_experiment, "_train_circuit", boom)
    with pytest.raises(ValueError, match="--baselines: unknown 'foo'"):
        cached_compare("64-16-10", "unused", seeds=(0,), baselines=("foo",))
    with pytest.raises(ValueError, match=r"cached_compare: unknown setting\(s\) \['seed'\]"):
        cached_compare("64-16-10", "unused", seed=0)


def test_temporal_circuits_are_keyed_by_what_they_hold(tmp_path, monkeypatch):
    import functools
    from pathlib import Path

    from neurotp.compare import cache as compare_cache

    calls = []

    @functools.wraps(compare_cache.run_compare)  # the settings are read from its signature
    def fake(arch, progress=False, **kwargs):
        calls.append(kwargs["temporal"])
        return {"arch": arch, "n": len(calls)}

    monkeypatch.setattr(compare_cache, "run_compare", fake)
    text = (Path(__file__).resolve().parents[1] / "circuits" / "digits_temporal.yaml").read_text()
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(text)
    b.write_text(text)
    first = cached_compare("64-16-10", tmp_path / "c", temporal=(str(a),))
    # the same circuit elsewhere: read back; the circuit changed: computed again
    assert cached_compare("64-16-10", tmp_path / "c", temporal=(str(b),)) == first
    b.write_text(text.replace("seed: 0", "seed: 5", 1))
    assert cached_compare("64-16-10", tmp_path / "c", temporal=(str(b),))["n"] == 2
    assert len(calls) == 2
