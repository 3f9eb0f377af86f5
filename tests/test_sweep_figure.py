"""neurotp/sweep/figure.py: the sweep figure for two, one, three (seed as a parameter) and no
swept parameters."""

import pytest

pytest.importorskip("distributed", reason="pip install 'neurotp[sweep]'")
pytest.importorskip("pandas", reason="pip install 'neurotp[sweep]'")

from helpers import LR, NOISE, sweep_rows  # noqa: E402

from neurotp.sweep.figure import plot_sweep  # noqa: E402

pytestmark = pytest.mark.sweep


def test_figures_of_any_number_of_parameters(tmp_path):
    rows, _ = sweep_rows()
    for params in ([NOISE, LR], [LR], [NOISE, LR, "seed"], []):
        path = plot_sweep(rows, params, "test_accuracy", tmp_path / f"f{len(params)}.png")
        assert path.stat().st_size > 5_000
