import numpy as np
import pytest

from neurotp.metrics.score import cosine_rows, dae_score, density_mask, score_cosine


def test_cosine_rows_values():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [2.0, 0.0]])
    b = np.array([[3.0, 0.0], [-1.0, -1.0], [1.0, 0.0], [0.0, 5.0]])
    np.testing.assert_allclose(cosine_rows(a, b), [1.0, -1.0, 0.0, 0.0])


def test_score_cosine_uses_only_dense_points():
    est = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    true = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    dens = np.array([1.0, 0.5, 0.001])
    # the third point is below 1 % of the peak and is ignored
    assert score_cosine(est, true, dens) == pytest.approx(0.5)
    assert score_cosine(est, true, dens, threshold=0.0) == pytest.approx(0.0)
    assert score_cosine(est, true, dens, threshold=0.6) == pytest.approx(1.0)
    # an explicit, larger peak removes more points
    assert score_cosine(est, true, dens, threshold=0.01, peak=60.0) == pytest.approx(1.0)


def test_cosine_ignores_positive_scale():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 2))
    s = rng.normal(size=(20, 2))
    r = x + 0.01 * s
    np.testing.assert_allclose(dae_score(r, x, 0.1), s, rtol=1e-9)
    assert score_cosine(r - x, s, np.ones(20)) == pytest.approx(1.0)
    assert score_cosine(-(r - x), s, np.ones(20)) == pytest.approx(-1.0)


def test_density_mask_and_errors():
    np.testing.assert_array_equal(density_mask(np.array([1.0, 0.02, 0.005])), [True, True, False])
    with pytest.raises(ValueError, match="threshold"):
        density_mask(np.ones(3), threshold=1.5)
    with pytest.raises(ValueError, match="threshold"):
        score_cosine(np.ones((2, 2)), np.ones((2, 2)), np.array([1.0, 1.0]), peak=1e9)
    with pytest.raises(ValueError, match="density"):
        score_cosine(np.ones((2, 2)), np.ones((2, 2)), np.ones(3))
    with pytest.raises(ValueError, match="sigma"):
        dae_score(np.ones((2, 2)), np.ones((2, 2)), 0.0)
    with pytest.raises(ValueError, match="reconstruction"):
        dae_score(np.ones((2, 2)), np.ones((3, 2)), 0.1)
