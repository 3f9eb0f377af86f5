import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neurotp.algorithms.stacked_ae import StackedDenoisingAE  # noqa: E402
from neurotp.data.datasets import load_dataset  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def trained(digits):
    torch.set_num_threads(1)
    model = StackedDenoisingAE(
        [64, 48, 24], device="cpu", input_mask="blocks", walkback=1, lr=3e-3, seed=0
    )
    history = model.fit(digits.x_train, epochs=25, batch_size=32)
    return model, history


def _params(module):
    return [p for p in module.parameters()]


@pytest.mark.parametrize("rule", ["backprop", "recirculation"])
def test_no_gradient_crosses_a_layer(digits, rule):
    model = StackedDenoisingAE([64, 32, 16, 8], device="cpu", local_rule=rule, input_mask="pixels")
    losses = model.local_losses(digits.x_train[:20])
    layer_of = {}
    for l in range(1, model.n_layers + 1):
        for p in _params(model.encoders[l - 1]) + _params(model.decoders[l - 1]):
            layer_of[id(p)] = l
    params = list(model.parameters())
    checked = 0
    for key, loss in losses.items():
        if key == "recon":
            assert not loss.requires_grad
            continue
        own = 1 if key == "input_f" else int(key[-1])
        grads = torch.autograd.grad(loss, params, allow_unused=True, retain_graph=True)
        touched = {
            layer_of[id(p)]
            for p, g in zip(params, grads, strict=True)
            if g is not None and bool(g.abs().sum() > 0)
        }
        assert touched == {own}, (key, touched)
        checked += 1
    assert checked >= 3 * model.n_layers - 1


def test_training_reduces_deep_reconstruction_error(digits, trained):
    model, history = trained
    assert history[-1]["recon"] < 0.5 * history[0]["recon"]
    x = digits.x_test
    mean_err = float(((digits.x_train.mean(0) - x) ** 2).mean())
    err = float(((model.reconstruct(x).numpy() - x) ** 2).mean())
    assert err < 0.6 * mean_err, (err, mean_err)


def test_algorithm6_imputes_lower_half_better_than_the_mean(digits, trained):
    model, _ = trained
    x = digits.x_test
    observed = np.zeros(64, dtype=bool)
    observed[:32] = True
    mean = digits.x_train.mean(0)
    imputed = model.impute(x, observed, init=mean, n_iter=2).numpy()
    np.testing.assert_array_equal(imputed[:, observed], x[:, observed])  # clamped
    mse = float(((imputed[:, ~observed] - x[:, ~observed]) ** 2).mean())
    base = float(((mean[~observed] - x[:, ~observed]) ** 2).mean())
    assert mse < 0.9 * base, (mse, base)
    # zero iterations return the initial fill
    same = model.impute(x, observed, init=mean, n_iter=0).numpy()
    np.testing.assert_allclose(same[:, ~observed], np.broadcast_to(mean[~observed], (len(x), 32)))


def test_algorithm3_sampling(digits, trained):
    model, _ = trained
    h0 = model.encode(digits.x_train[:16], level=model.n_layers - 1)
    chain = model.sample(n_steps=5, h_init=h0, return_chain=True)
    assert len(chain) == 6
    x = chain[-1].numpy()
    assert x.shape == (16, 64)
    assert np.all((x >= 0) & (x <= 1))
    # the noisy chain moves away from its start; without noise it is deterministic
    assert float((chain[-1] - chain[0]).abs().mean()) > 1e-3
    a = model.sample(n_steps=3, h_init=h0, noise=0.0)
    b = model.sample(n_steps=3, h_init=h0, noise=0.0)
    torch.testing.assert_close(a, b)
    assert model.sample(n_steps=2, n=7).shape == (7, 64)


def test_same_seed_same_numbers(digits):
    runs = []
    for _ in range(2):
        m = StackedDenoisingAE([64, 16, 8], device="cpu", seed=3, input_mask="blocks")
        runs.append(m.fit(digits.x_train[:200], epochs=1, batch_size=50)[-1]["loss"])
    assert runs[0] == runs[1]


def test_hidden_block_masks_are_rectangles():
    m = StackedDenoisingAE([784, 8, 4], device="cpu", input_mask="blocks", input_mask_prob=1.0)
    masks = m.hidden_mask(50).reshape(50, 28, 28).numpy()
    for mk in masks:
        rows, cols = np.nonzero(mk.any(1))[0], np.nonzero(mk.any(0))[0]
        assert mk.sum() == len(rows) * len(cols) >= 7 * 7


def test_hidden_halves_are_one_of_four_halves():
    m = StackedDenoisingAE([784, 8, 4], device="cpu", input_mask="halves", input_mask_prob=1.0)
    masks = m.hidden_mask(200).reshape(200, 28, 28).numpy()
    halves = np.zeros((4, 28, 28), dtype=bool)
    halves[0, :14], halves[1, 14:], halves[2, :, :14], halves[3, :, 14:] = True, True, True, True
    which = [next(i for i in range(4) if np.array_equal(mk, halves[i])) for mk in masks]
    assert set(which) == {0, 1, 2, 3}
    none = StackedDenoisingAE([784, 8], device="cpu", input_mask="halves", input_mask_prob=0.0)
    assert not none.hidden_mask(20).any()


def test_bad_arguments_name_the_field():
    with pytest.raises(ValueError, match="sizes"):
        StackedDenoisingAE([64])
    with pytest.raises(ValueError, match="activation"):
        StackedDenoisingAE([64, 8], activation="swish")
    with pytest.raises(ValueError, match="local_rule"):
        StackedDenoisingAE([64, 8], local_rule="hebb")
    with pytest.raises(ValueError, match="input_mask"):
        StackedDenoisingAE([64, 8], input_mask="cutout")
    with pytest.raises(ValueError, match="image_shape"):
        StackedDenoisingAE([64, 8], image_shape=(7, 7))
    m = StackedDenoisingAE([64, 8, 4], device="cpu")
    with pytest.raises(ValueError, match="x"):
        m.train_batch(np.zeros((3, 63), dtype=np.float32))
    with pytest.raises(ValueError, match="level"):
        m.reconstruct(np.zeros((3, 64), dtype=np.float32), level=3)
    with pytest.raises(ValueError, match="observed"):
        m.impute(np.zeros((3, 64), dtype=np.float32), np.ones(10, dtype=bool))
    with pytest.raises(ValueError, match="h_init"):
        m.sample(h_init=np.zeros((2, 5)))


def test_fig_samples_main_small(tmp_path):
    import importlib.util
    from pathlib import Path

    torch.set_num_threads(1)
    path = Path(__file__).resolve().parents[1] / "figures" / "fig_samples.py"
    spec = importlib.util.spec_from_file_location("fig_samples", path)
    fig = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fig)
    args = [
        "--dataset",
        "digits",
        "--sizes",
        "64,32,16",
        "--epochs",
        "2",
        "--n-train",
        "400",
        "--n-test",
        "100",
        "--device",
        "cpu",
        "--n-iter",
        "2",
        "--walkback",
        "1",
    ]
    res = fig.main(args, out_dir=tmp_path, cache=tmp_path / "c.npz")
    assert (tmp_path / "samples.png").stat().st_size > 5_000
    assert (tmp_path / "imputation.png").stat().st_size > 5_000
    grid = [int(k) for k in res["iter_grid"]]
    assert float(res["mse_alg6"]) == pytest.approx(float(res["mse_iters"][grid.index(2)]))
    assert res["chains"].shape == (8, len(res["chain_steps"]), 64)
    # the cache holds plain arrays (no pickle) and re-plots to the same summary
    again = fig.main(["--from-cache"], out_dir=tmp_path, cache=tmp_path / "c.npz")
    assert fig.summary(again) == fig.summary(res)


def test_own_torch_optimizer(digits):
    """Any torch.optim optimizer trains the stack: one SGD step is p - lr * grad."""
    from functools import partial

    model = StackedDenoisingAE(
        [64, 16, 8], seed=0, device="cpu", optimizer=partial(torch.optim.SGD, lr=0.5)
    )
    assert isinstance(model.optimizer, torch.optim.SGD)
    before = [p.detach().clone() for p in model.parameters()]
    model.train_batch(digits.x_train[:20])
    for p, b in zip(model.parameters(), before, strict=True):
        torch.testing.assert_close(p.detach(), b - 0.5 * p.grad)
    with pytest.raises(ValueError, match="optimizer: the factory returned"):
        StackedDenoisingAE([64, 8], device="cpu", optimizer=lambda params: None)
