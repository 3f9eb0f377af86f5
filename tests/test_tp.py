import pytest

torch = pytest.importorskip("torch")

from helpers import local_gradient_check  # noqa: E402

from neurotp.algorithms.tp import TargetProp  # noqa: E402

pytestmark = pytest.mark.torch

SIZES = [20, 16, 14, 12, 5]


def _data(n=48, d=20, k=5):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, d, generator=g, dtype=torch.float64), torch.randint(
        0, k, (n,), generator=g
    )


def _frozen(cls=TargetProp, **kw):
    """lr = lr_inv = 0: the step computes and stores gradients but moves nothing."""
    return cls(
        SIZES, device="cpu", seed=2, dtype=torch.float64, lr=0.0, lr_inv=0.0, noise=0.2, **kw
    )


def test_no_gradient_crosses_a_layer():
    x, y = _data()
    local_gradient_check(_frozen(), x, y)
    local_gradient_check(_frozen(sign_layers=(2,)), x, y)


def test_targets_are_decoded_top_target():
    x, y = _data()
    alg = _frozen(eta=0.3)
    rec = {}
    alg.step(x, y, rec)
    hs, t = rec["hs"], rec["targets"]
    L = alg.n_layers
    p = torch.softmax(hs[L], 1)
    p[torch.arange(len(y)), y] -= 1
    torch.testing.assert_close(t[L - 1], hs[L - 1] - 0.3 * p @ alg.W[L - 1])
    for l in range(L - 1, 1, -1):
        torch.testing.assert_close(t[l - 1], alg.g(l, t[l].clone()))


def test_no_autograd_graph_is_built():
    x, y = _data()
    alg = TargetProp(SIZES, device="cpu", dtype=torch.float64)
    rec = {}
    alg.step(x, y, rec)
    made = [*rec["hs"], *rec["targets"].values(), *rec["noisy"].values()]
    assert all(t.grad_fn is None for t in made)
    assert all(p.grad is not None and p.grad.grad_fn is None for p in alg.parameters())


def test_is_an_nn_module_trained_by_torch_optim():
    """Decoders and layers are nn.Linear modules; any torch.optim optimizer can be put in."""
    x, y = _data()
    alg = TargetProp(SIZES, device="cpu", dtype=torch.float64, optimizer=torch.optim.SGD)
    assert isinstance(alg.net.layers[0], torch.nn.Linear)
    assert isinstance(alg.decoders["2"], torch.nn.Linear)
    assert all(isinstance(o, torch.optim.SGD) for o in alg.optimizers())
    names = {n for n, _ in alg.named_parameters()}
    assert {"net.layers.0.weight", "decoders.2.weight", "decoders.3.bias"} <= names
    n_params = sum(len(g["params"]) for o in alg.optimizers() for g in o.param_groups)
    assert n_params == len(list(alg.parameters()))
    before = [p.detach().clone() for p in alg.parameters()]
    alg.train_batch(x, y)
    assert all(not torch.equal(a, p) for a, p in zip(before, alg.parameters(), strict=True))


def test_decoders_learn_to_invert():
    from neurotp.data import load_dataset

    d = load_dataset("digits")
    x = torch.from_numpy(d.x_train)
    y = torch.from_numpy(d.y_train)
    alg = TargetProp([64, 48, 48, 10], device="cpu", seed=0, stats=True, lr_inv=3e-3)
    first = alg.train_batch(x[:64], y[:64])["inverse_loss_2"]
    for _ in range(6):
        for i in range(0, len(x), 64):
            out = alg.train_batch(x[i : i + 64], y[i : i + 64])
    assert out["inverse_loss_2"] < 0.5 * first
    assert alg.accuracy(d.x_test, d.y_test) > 0.6  # chance is 0.1


def test_bad_hyper():
    with pytest.raises(ValueError, match="inv_fraction: must be in"):
        TargetProp(SIZES, inv_fraction=0.0)
    with pytest.raises(ValueError, match="noise: must be >= 0"):
        TargetProp(SIZES, noise=-1.0)
    with pytest.raises(ValueError, match="activation: unknown"):
        TargetProp(SIZES, inv_activation="swish")
