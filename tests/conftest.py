"""Fixtures shared by several test modules (helpers that are plain functions live in
tests/helpers.py)."""

import pytest


@pytest.fixture(scope="session")
def compare_small():
    """``run_compare("64-16-10", seeds=(0,), epochs=2, baselines=("bp",))``, computed once per
    session for tests/test_compare_experiment.py and tests/test_compare_summary.py (read it,
    do not change it)."""
    pytest.importorskip("torch", reason="pip install 'neurotp[torch]'")
    from neurotp.compare import run_compare

    return run_compare("64-16-10", seeds=(0,), epochs=2, baselines=("bp",))
