"""neurotp/compare/summary.py: the markdown table the README's compare section is read from,
for two epochs and for one."""

import pytest

pytest.importorskip("torch", reason="pip install 'neurotp[torch]'")

from neurotp.compare import markdown_table, run_compare  # noqa: E402

README_COLUMNS = (
    "| method | test accuracy (%) | samples seen | angle to BP per layer (°) "
    "| angle to DTP per layer (°) | hidden short-loop reconstruction MSE |"
)


@pytest.mark.torch
def test_markdown_table_of_a_small_compare(compare_small):
    table = markdown_table(compare_small)
    lines = table.splitlines()
    # the table the README's compare section is read from: title, columns, one row per method
    assert lines[0] == "### digits 64-16-10 — 1 seeds, 2 epochs"
    assert lines[2] == README_COLUMNS
    rows = [ln.split(" | ")[0].lstrip("| ") for ln in lines[4:7]]
    assert rows == [
        "circuit (prediction + reconstruction rules)",
        "circuit, hidden plasticity off (control)",
        "BP",
    ]
    assert "mean over epochs 2..end, then mean ± std over seeds." in table


@pytest.mark.torch
def test_one_epoch_makes_a_table():
    """compare --epochs 1 crashed in markdown_table (angles averaged over no epoch)."""
    r = run_compare("64-16-10", seeds=(0,), epochs=1, baselines=())
    angles = r["summary"]["circuit"]["angle_vs_bp_mean"]
    assert len(angles) == 2 and all(0.0 <= a <= 180.0 for a in angles)
    assert "mean over epoch 1 (the only one)" in markdown_table(r)
