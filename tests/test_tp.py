import pytest

torch = pytest.importorskip("torch")

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


def local_gradient_check(alg, x, y):
    """Every layer's applied gradient equals autograd of that layer's own loss with its
    input and target detached: no gradient crosses a layer."""
    rec = {}
    alg.step(x, y, rec)
    L = alg.n_layers
    for l in range(1, L + 1):
        inp = rec["inputs"][l - 1].detach()
        W = alg.W[l - 1].detach().clone().requires_grad_(True)
        b = alg.b[l - 1].detach().clone().requires_grad_(True)
        a = inp @ W.T + b
        if l == L:
            loss = torch.nn.functional.cross_entropy(a, y)
        else:
            tgt = rec["targets"][l].detach()
            loss = 0.5 * ((alg.act.fn(a) - tgt) ** 2).sum(1).mean()
        gW, gb = torch.autograd.grad(loss, (W, b))
        torch.testing.assert_close(alg.W[l - 1].grad, gW, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(alg.b[l - 1].grad, gb, rtol=1e-9, atol=1e-12)
    # Decoders: ½‖g_l(f_l(h̃)) - h̃‖² with f_l's output treated as a constant input.
    for l in range(2, L):
        hn = rec["noisy"][l].detach()
        s = alg.f(l, hn.clone()).detach()
        V = alg.V[l].detach().clone().requires_grad_(True)
        c = alg.c[l].detach().clone().requires_grad_(True)
        r = alg.inv_act.fn(s @ V.T + c)
        loss = 0.5 * ((r - hn) ** 2).sum(1).mean()
        gV, gc = torch.autograd.grad(loss, (V, c))
        torch.testing.assert_close(alg.V[l].grad, gV, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(alg.c[l].grad, gc, rtol=1e-9, atol=1e-12)
    return rec


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
    alg = TargetProp(SIZES, device="cpu")
    alg.train_batch(x.float(), y)
    tensors = list(alg.named_tensors().values())
    assert not any(t.requires_grad for t in tensors)


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
