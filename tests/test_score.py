import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neurotp.algorithms.score import DenoisingAutoEncoder2D, score_check  # noqa: E402
from neurotp.data.toy import make_mixture  # noqa: E402
from neurotp.metrics.score import score_cosine  # noqa: E402

pytestmark = pytest.mark.torch


def _fig_module():
    from neurotp.commands.figures import load_figure

    return load_figure("score")


def test_dae_score_aligns_with_analytic_score():
    torch.set_num_threads(1)
    res = score_check("ring", sigma=0.2, n_steps=400, grid=25, device="cpu")
    assert res["n_points"] > 100
    assert res["cosine"] >= 0.9, res["cosine"]


def test_untrained_or_wrong_field_fails_the_check():
    mix = make_mixture("two")
    dae = DenoisingAutoEncoder2D(sigma=0.2, device="cpu")  # never trained
    xs, ys = mix.grid(25)
    pts = np.stack([xs.ravel(), ys.ravel()], axis=1)
    dens, true = mix.density(pts), mix.score(pts)
    assert score_cosine(dae.score(pts), true, dens) < 0.5
    # the field pointing away from the data fails too
    assert score_cosine(-true, true, dens) == pytest.approx(-1.0)


def test_fig_score_main_small(tmp_path):
    torch.set_num_threads(1)
    fig = _fig_module()
    out, cache = tmp_path / "score.png", tmp_path / "score.npz"
    res = fig.main(["--steps", "400", "--grid", "21", "--device", "cpu"], out=out, cache=cache)
    assert out.stat().st_size > 10_000
    assert res["cosine"] >= 0.9
    again = fig.main(["--from-cache"], out=tmp_path / "again.png", cache=cache)
    assert again["cosine"] == pytest.approx(res["cosine"])
    np.testing.assert_array_equal(again["estimate"], res["estimate"])


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="sigma"):
        DenoisingAutoEncoder2D(sigma=0.0)
    with pytest.raises(ValueError, match="activation"):
        DenoisingAutoEncoder2D(activation="swish")
    with pytest.raises(ValueError, match="n_steps"):
        DenoisingAutoEncoder2D(device="cpu").fit(lambda n, rng: np.zeros((n, 2)), n_steps=0)
