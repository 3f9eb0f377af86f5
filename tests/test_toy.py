import numpy as np
import pytest

from neurotp.data.toy import MIXTURE_NAMES, GaussianMixture2D, make_mixture


@pytest.mark.parametrize("name", MIXTURE_NAMES)
def test_score_matches_finite_differences(name):
    mix = make_mixture(name)
    x = mix.sample(50, 1)
    eps = 1e-5
    num = np.stack(
        [
            (mix.log_density(x + [eps, 0]) - mix.log_density(x - [eps, 0])) / (2 * eps),
            (mix.log_density(x + [0, eps]) - mix.log_density(x - [0, eps])) / (2 * eps),
        ],
        axis=1,
    )
    np.testing.assert_allclose(mix.score(x), num, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", MIXTURE_NAMES)
def test_density_integrates_to_one(name):
    mix = make_mixture(name)
    xs, ys = mix.grid(301, margin=6.0)
    dens = mix.density(np.stack([xs.ravel(), ys.ravel()], axis=1))
    area = (xs[0, 1] - xs[0, 0]) * (ys[1, 0] - ys[0, 0])
    assert dens.sum() * area == pytest.approx(1.0, abs=2e-3)


def test_single_gaussian_closed_form():
    cov = np.array([[[2.0, 0.5], [0.5, 1.0]]])
    mix = GaussianMixture2D(np.array([[1.0, -1.0]]), cov, np.array([1.0]))
    x = np.array([[0.0, 0.0], [2.0, 1.0]])
    expected = -(np.linalg.inv(cov[0]) @ (x - [1.0, -1.0]).T).T
    np.testing.assert_allclose(mix.score(x), expected, atol=1e-12)
    np.testing.assert_allclose(mix.smoothed(0.5).covariances[0], cov[0] + 0.25 * np.eye(2))


def test_samples_match_moments():
    mix = make_mixture("two")
    x = mix.sample(200_000, 0)
    mean = (mix.weights[:, None] * mix.means).sum(0)
    np.testing.assert_allclose(x.mean(0), mean, atol=0.01)
    assert np.array_equal(mix.sample(10, 3), mix.sample(10, 3))


def test_peak_density_is_the_largest_value():
    mix = make_mixture("ring")
    pts = mix.sample(5000, 0)
    assert mix.peak_density() >= mix.density(pts).max() * 0.999
    # one isotropic component of std 0.35 with weight 1/6 gives at most this at a mean
    assert mix.peak_density() == pytest.approx(1 / 6 / (2 * np.pi * 0.35**2), rel=0.02)


def test_invalid_arguments_name_the_field():
    with pytest.raises(ValueError, match="name"):
        make_mixture("moons")
    with pytest.raises(ValueError, match="weights"):
        GaussianMixture2D(np.zeros((2, 2)), np.tile(np.eye(2), (2, 1, 1)), np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match="covariances"):
        GaussianMixture2D(np.zeros((1, 2)), -np.eye(2)[None], np.array([1.0]))
    with pytest.raises(ValueError, match="means"):
        GaussianMixture2D(np.zeros((1, 3)), np.eye(2)[None], np.array([1.0]))
    with pytest.raises(ValueError, match="x"):
        make_mixture().score(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="scale"):
        make_mixture("ring", scale=0.0)
