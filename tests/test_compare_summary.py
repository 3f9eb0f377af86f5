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


def test_a_temporal_row_is_labelled_and_its_reference_said():
    from neurotp.compare import label, summarize

    def run(acc, angles):
        return {
            "curve": [[0, 0.1], [1257, acc]],
            "seconds": 1.0,
            "reconstruction_mse": [[0.5]],
            "alignment": [
                {
                    "epoch": 1,
                    "vs_bp": angles,
                    "vs_dtp": angles,
                    "dtp_vs_bp": [20.0, 10.0],
                    "saturated": [0.25],
                }
            ],
        }

    runs = {"circuit": [run(0.9, [60.0, 2.0])], "temporal:dt": [run(0.8, [70.0, 30.0])]}
    result = {
        "arch": "64-16-10",
        "sizes": [64, 16, 10],
        "seeds": [0],
        "epochs": 1,
        "temporal": ["dt"],
        "runs": runs,
        "summary": summarize(runs),
    }
    lines = markdown_table(result).splitlines()
    assert label("temporal:dt") == "dt (section 8 in time)"
    assert lines[5] == (
        "| dt (section 8 in time) | 80.00 ± 0.00 | 1257 | 70.0 ± 0.0, 30.0 ± 0.0 "
        "| 70.0 ± 0.0, 30.0 ± 0.0 | 0.5000 |"
    )
    assert lines[-1].startswith("dt (its own initial weights and protocol): its update is")
    assert (
        "DTP is 20.0, 10.0° from BP on its network; hidden rates with |h| > 0.99: 25 %."
        in (lines[-1])
    )
