"""neurotp/compare/plots.py: the learning-curve and alignment figures draw the mean over seeds
of what the result holds (checked on a made-up result), one line per method or layer."""

import matplotlib
import numpy as np
import pytest

from neurotp.compare import LABELS, plot_alignment, plot_learning_curves

matplotlib.use("Agg")


def made_up_result() -> dict:
    """Two seeds of a 64-16-16-10 compare: circuit, its frozen control, BP; two epochs."""

    def run(acc, angles):
        return {
            "curve": [[100, acc[0]], [200, acc[1]]],
            "alignment": [
                {"epoch": e + 1, "vs_bp": a, "vs_dtp": [x + 1.0 for x in a]}
                for e, a in enumerate(angles)
            ],
        }

    return {
        "arch": "64-16-16-10",
        "sizes": [64, 16, 16, 10],
        "seeds": [0, 1],
        "n_probe": 100,
        "runs": {
            "circuit": [
                run([0.5, 0.7], [[80.0, 60.0, 10.0], [70.0, 50.0, 5.0]]),
                run([0.6, 0.9], [[90.0, 40.0, 20.0], [float("nan"), 30.0, 15.0]]),
            ],
            "circuit_frozen_hidden": [run([0.3, 0.4], []), run([0.5, 0.6], [])],
            "bp": [run([0.8, 0.9], []), run([0.9, 0.95], [])],
        },
    }


@pytest.fixture
def saved_figures(monkeypatch):
    """The figures the plots save (their data stays readable after plt.close)."""
    from matplotlib.figure import Figure

    figures = []
    save = Figure.savefig

    def keep(fig, *args, **kwargs):
        figures.append(fig)
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return figures


def test_learning_curves_are_the_mean_over_seeds(tmp_path, saved_figures):
    path = tmp_path / "curves.png"
    plot_learning_curves(made_up_result(), path)
    assert path.read_bytes()[:4] == b"\x89PNG"
    (ax,) = saved_figures[0].axes
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert list(lines) == [LABELS["circuit"], LABELS["circuit_frozen_hidden"], "BP"]
    np.testing.assert_allclose(lines[LABELS["circuit"]].get_ydata(), [55.0, 80.0])
    np.testing.assert_allclose(lines["BP"].get_ydata(), [85.0, 92.5])
    np.testing.assert_array_equal(lines["BP"].get_xdata(), [100, 200])
    assert lines[LABELS["circuit_frozen_hidden"]].get_linestyle() == "--"
    assert ax.get_title() == "digits 64-16-16-10: mean ± std over 2 seeds"


def test_alignment_is_the_nan_mean_over_seeds_per_layer(tmp_path, saved_figures):
    path = tmp_path / "alignment.png"
    plot_alignment(made_up_result(), path)
    assert path.read_bytes()[:4] == b"\x89PNG"
    vs_bp, vs_dtp = saved_figures[0].axes
    layers = [ln for ln in vs_bp.get_lines() if ln.get_label().startswith("layer")]
    assert [ln.get_label() for ln in layers] == ["layer 1", "layer 2", "layer 3"]
    # layer 1, epoch 2: seed 1's angle is NaN, so the mean is seed 0's alone
    np.testing.assert_allclose(layers[0].get_ydata(), [85.0, 70.0])
    np.testing.assert_allclose(layers[2].get_ydata(), [15.0, 10.0])
    np.testing.assert_array_equal(layers[0].get_xdata(), [1, 2])
    dtp = [ln for ln in vs_dtp.get_lines() if ln.get_label().startswith("layer")]
    np.testing.assert_allclose(dtp[1].get_ydata(), [51.0, 41.0])


def test_a_temporal_circuit_has_its_own_dashed_lines(tmp_path, saved_figures):
    result = made_up_result()
    circuit = result["runs"]["circuit"]
    result["runs"]["temporal:dt"] = [
        {**r, "alignment": [{**a, "vs_bp": [x + 10.0 for x in a["vs_bp"]]} for a in r["alignment"]]}
        for r in circuit
    ]
    plot_alignment(result, tmp_path / "alignment.png")
    plot_learning_curves(result, tmp_path / "curves.png")
    vs_bp = saved_figures[0].axes[0]
    lines = {ln.get_label(): ln for ln in vs_bp.get_lines()}
    mine = lines["dt (section 8 in time), layer 1"]
    np.testing.assert_allclose(mine.get_ydata(), [95.0, 80.0])
    assert mine.get_linestyle() == "--" and lines["layer 1"].get_linestyle() == "-"
    assert mine.get_color() == lines["layer 1"].get_color()
    curves = [ln.get_label() for ln in saved_figures[1].axes[0].get_lines()]
    assert curves[-1] == "dt (section 8 in time)"
