"""neurotp/sweep/table.py: the summary over seeds (mean ± sample std per point, failures
counted) and its markdown text."""

import math

import numpy as np
import pytest

pytest.importorskip("distributed", reason="pip install 'neurotp[sweep]'")
pytest.importorskip("pandas", reason="pip install 'neurotp[sweep]'")

from helpers import LR, NOISE, sweep_rows  # noqa: E402

from neurotp.sweep.table import format_summary, summarize  # noqa: E402

pytestmark = pytest.mark.sweep


def test_summary_over_seeds():
    rows, points = sweep_rows()
    by_point = [[r for r in rows if (r[NOISE], r[LR]) == (p[NOISE], p[LR])] for p in points]
    summary = summarize(points, [NOISE, LR], by_point)
    last = summary.iloc[-1]
    assert (last["seeds"], last["ok"], last["failed"]) == (3, 2, 1)
    assert last["test_accuracy_mean"] == pytest.approx(0.5 + 0.2 + 1.0 + 0.005)
    assert last["test_accuracy_std"] == pytest.approx(np.std([0.0, 0.01], ddof=1))
    text = format_summary(summary, [NOISE, LR], "test_accuracy")
    assert "| 0.2 | 1.0 | 2/3 | 170.50 ± 0.71 % |" in text
    one = summarize([{}], [], [[rows[0]]])
    assert math.isnan(one.iloc[0]["test_accuracy_std"])


def test_the_validation_metric_is_the_default_when_rows_have_it():
    from neurotp.sweep.table import default_metric

    plain = [{"test_accuracy": 0.9, "val_accuracy": None}]
    assert default_metric(plain) == "test_accuracy"
    tuned = [{"test_accuracy": None, "val_accuracy": 0.8}]
    assert default_metric(tuned) == "val_accuracy"
    assert default_metric([{"test_reconstruction_mse": 0.01}]) == "test_reconstruction_mse"
