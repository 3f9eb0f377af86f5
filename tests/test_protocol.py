"""Drives: what an engine sees, drawn once, in a fixed order."""

import numpy as np
import pytest

from neurotp.circuit import compile_circuit, encode_labels, make_drive
from neurotp.circuit.library import random_circuit


@pytest.fixture(scope="module")
def comp():
    return compile_circuit(random_circuit(0))


def test_encode_labels_is_one_hot_with_the_protocol_rates():
    out = encode_labels(np.array([2, 0]), 4, on=0.9, off=-0.1)
    np.testing.assert_array_equal(out, [[-0.1, -0.1, 0.9, -0.1], [0.9, -0.1, -0.1, -0.1]])


def test_training_drive_corrupts_input_clamps_labels_and_learns(comp):
    x = np.full((3, comp.input_n), 0.5)
    d = make_drive(comp, x, np.array([0, 1, 2]), np.random.default_rng(0), train=True)
    assert d.clamp and d.learn and d.n_presentations == 3
    sigma = comp.circuit.protocol.input_noise
    assert 0.5 * sigma < np.std(d.stim - 0.5) < 1.5 * sigma
    assert d.labels.shape == (3, comp.label_n) and d.labels[1, 1] == 1.0
    assert d.noise.shape == (3 * comp.steps_per_presentation, len(comp.noise_idx))


def test_test_drive_is_clean_free_and_frozen(comp):
    x = np.full((2, comp.input_n), 0.5)
    d = make_drive(comp, x, np.array([0, 1]), np.random.default_rng(0), train=False)
    assert not d.clamp and not d.learn
    np.testing.assert_array_equal(d.stim, x)


def test_same_rng_same_drive_and_draw_order(comp):
    x = np.zeros((2, comp.input_n))
    a = make_drive(comp, x, None, np.random.default_rng(4), train=True)
    b = make_drive(comp, x, None, np.random.default_rng(4), train=True)
    np.testing.assert_array_equal(a.stim, b.stim)
    np.testing.assert_array_equal(a.noise, b.noise)
    # input corruption is drawn first, then the population noise
    rng = np.random.default_rng(4)
    corruption = rng.standard_normal(x.shape) * comp.circuit.protocol.input_noise
    np.testing.assert_array_equal(a.stim, corruption)
    np.testing.assert_array_equal(a.noise, rng.standard_normal(a.noise.shape))


def test_wrong_stimulus_shape_names_the_input_population(comp):
    with pytest.raises(ValueError, match=r"protocol.input 'X' of 12 units"):
        make_drive(comp, np.zeros((2, 5)), None, np.random.default_rng(0), train=False)


def test_jittered_frames_walk_and_keep_the_draw_order():
    from neurotp.circuit.protocol import jittered_frames, shift_images

    img = np.zeros((1, 4, 4))
    img[0, 1, 1] = 1.0
    out = shift_images(img, np.array([1.0]), np.array([0.5]))
    assert out[0, 2, 1] == 0.5 and out[0, 2, 2] == 0.5 and out.sum() == 1.0
    assert shift_images(img, np.array([9.0]), np.array([0.0])).sum() == 0.0  # shifted out
    x = np.random.default_rng(0).random((3, 16))
    rng = np.random.default_rng(1)
    f = jittered_frames(x, 4, 0.5, rng)
    walk = np.cumsum(0.5 * np.random.default_rng(1).standard_normal((3, 4, 2)), axis=1)
    assert f.shape == (3, 4, 16)
    want = shift_images(x[2].reshape(1, 4, 4), walk[2, 3:, 0], walk[2, 3:, 1]).ravel()
    np.testing.assert_allclose(f[2, 3], want, atol=1e-15)
    # no jitter: the same image in every frame and no random numbers drawn
    rng = np.random.default_rng(2)
    np.testing.assert_array_equal(jittered_frames(x, 2, 0.0, rng)[:, 1], x)
    assert rng.random() == np.random.default_rng(2).random()


def test_jitter_needs_square_images():
    c = random_circuit(0, present=20.0, temporal=True)
    c.protocol.jitter = 0.5
    comp = compile_circuit(c)
    from neurotp.circuit import CircuitError

    with pytest.raises(CircuitError, match="protocol.jitter: shifts square images"):
        make_drive(comp, np.zeros((1, comp.input_n)), None, np.random.default_rng(0), train=True)
