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
