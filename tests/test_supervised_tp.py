import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neurotp.algorithms.registry import get_algorithm  # noqa: E402
from neurotp.algorithms.supervised_tp import (  # noqa: E402
    SupervisedTargetProp,
    labeled_mask,
)
from neurotp.data.datasets import load_dataset  # noqa: E402
from neurotp.train import train_supervised_tp  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_registered_as_alg5():
    assert get_algorithm("alg5") is SupervisedTargetProp


def test_no_gradient_crosses_a_level(digits):
    alg = SupervisedTargetProp([64, 20, 16, 12, 10], device="cpu", seed=1)
    y = digits.y_train[:40].copy()
    y[::3] = -1  # some unlabelled examples
    losses = alg.local_losses(digits.x_train[:40], y)
    groups = alg.module_params()
    owner = {id(t): name for name, ts in groups.items() for t in ts}
    params = [t for ts in groups.values() for t in ts]
    expected = {"f1": {"f1"}, "f2": {"f2"}, "f3": {"f3"}, "top": {"top"}}
    # decoders g_l: their own parameters, plus f_l only through the layer-wise AE term
    expected.update({f"g{l}": {f"g{l}", f"f{l}"} for l in (1, 2, 3)})
    for key, loss in losses.items():
        if key == "pred":
            assert not loss.requires_grad
            continue
        grads = torch.autograd.grad(loss, params, allow_unused=True, retain_graph=True)
        touched = {
            owner[id(p)]
            for p, g in zip(params, grads, strict=True)
            if g is not None and bool(g.abs().sum() > 0)
        }
        assert touched == expected[key], (key, touched)
    # without the layer-wise reconstruction term a decoder touches only itself
    alg0 = SupervisedTargetProp([64, 20, 16, 10], device="cpu", encoder_ae_weight=0.0)
    loss = alg0.local_losses(digits.x_train[:10], digits.y_train[:10])["g2"]
    grads = torch.autograd.grad(loss, alg0.W + alg0.b, allow_unused=True)
    assert all(g is None for g in grads)


def test_prediction_ignores_the_label_inputs(digits):
    alg = SupervisedTargetProp([64, 16, 10], device="cpu")
    x = digits.x_test[:30]
    before = alg.predict(x).clone()
    with torch.no_grad():
        alg.top_y.weight.add_(5.0)
        alg.top_m.add_(5.0)
    torch.testing.assert_close(alg.predict(x), before)
    hs = alg.forward_layers(x)
    assert [t.shape[1] for t in hs] == [64, 16, 16, 10]
    manual = alg.g_top_y(alg.f_top(alg.f(1, torch.as_tensor(x))))
    torch.testing.assert_close(hs[-1], manual)


def test_learns_digits_and_targets_matter():
    torch.set_num_threads(1)
    kw = dict(hidden=(32, 32), epochs=12, lr=3e-3, device="cpu")
    full = train_supervised_tp("digits", **kw)
    assert full["test_accuracy"] >= 0.9, full["test_accuracy"]
    # With the layer-wise reconstruction term off, the propagated targets are the only signal
    # reaching the hidden levels: switching them off (gain 0) leaves random hidden features.
    kw["encoder_ae_weight"] = 0.0
    targets_only = train_supervised_tp("digits", **kw)
    frozen = train_supervised_tp("digits", target_gain=0.0, **kw)
    assert targets_only["test_accuracy"] > frozen["test_accuracy"] + 0.08, (targets_only, frozen)


def test_semi_supervised_mask_and_negative_labels(digits):
    alg = SupervisedTargetProp([64, 16, 10], device="cpu", seed=0)
    x, y = digits.x_train[:32], digits.y_train[:32]
    lab = np.zeros(32, dtype=bool)
    out = alg.train_batch(x, y, lab)  # nothing labelled: no classification signal
    assert out["loss"] == 0.0
    alg2 = SupervisedTargetProp([64, 16, 10], device="cpu", seed=0)
    out2 = alg2.train_batch(x, np.full(32, -1))  # y < 0 means unlabelled too
    assert out2 == out
    mask = labeled_mask(1000, 0.1, seed=2)
    assert mask.sum() == 100 and mask.dtype == bool
    assert np.array_equal(mask, labeled_mask(1000, 0.1, seed=2))


def test_alpha_changes_the_target_only_for_labelled(digits):
    x, y = digits.x_train[:16], digits.y_train[:16]
    a = SupervisedTargetProp(
        [64, 16, 10], device="cpu", alpha=0.0, top_input_noise=0.0, top_noise=0.0, noise=0.0
    )
    b = SupervisedTargetProp(
        [64, 16, 10], device="cpu", alpha=1.0, top_input_noise=0.0, top_noise=0.0, noise=0.0
    )
    la, lb = a.local_losses(x, y)["f1"], b.local_losses(x, y)["f1"]
    assert float(la.detach()) != pytest.approx(float(lb.detach()))
    ua = a.local_losses(x, np.full(16, -1))["f1"]
    ub = b.local_losses(x, np.full(16, -1))["f1"]
    assert float(ua.detach()) == pytest.approx(float(ub.detach()))


def test_state_dict_roundtrip(digits):
    a = SupervisedTargetProp([64, 16, 10], device="cpu", seed=0)
    a.train_batch(digits.x_train[:32], digits.y_train[:32])
    b = SupervisedTargetProp([64, 16, 10], device="cpu", seed=5)
    b.load_state_dict(a.state_dict())
    torch.testing.assert_close(a.predict(digits.x_test), b.predict(digits.x_test))
    assert {"top_y.weight", "top_m", "decoders.0.weight"} <= set(a.state_dict())
    assert "net.layers.1.weight" not in a.state_dict()  # the top level replaced layer L


def test_bad_hyper_parameters_name_the_field():
    with pytest.raises(ValueError, match="alpha"):
        SupervisedTargetProp([64, 16, 10], alpha=1.5)
    with pytest.raises(ValueError, match="propagation"):
        SupervisedTargetProp([64, 16, 10], propagation="backwards")
    with pytest.raises(ValueError, match="sizes"):
        SupervisedTargetProp([64, 10])
    with pytest.raises(ValueError, match="unknown hyper"):
        SupervisedTargetProp([64, 16, 10], gamma=1.0)
    alg = SupervisedTargetProp([64, 16, 10], device="cpu")
    with pytest.raises(ValueError, match="y"):
        alg.train_batch(np.zeros((4, 64), np.float32), np.array([0, 1, 2, 10]))
    with pytest.raises(ValueError, match="labeled"):
        alg.train_batch(np.zeros((4, 64), np.float32), np.zeros(4, int), np.ones(3, bool))
