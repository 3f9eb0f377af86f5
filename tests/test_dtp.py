import pytest

torch = pytest.importorskip("torch")

from helpers import local_gradient_check  # noqa: E402

from neurotp.algorithms.bp import Backprop  # noqa: E402
from neurotp.algorithms.dtp import DifferenceTargetProp  # noqa: E402

pytestmark = pytest.mark.torch

SIZES = [20, 16, 14, 12, 5]


def _data(n=48, d=20, k=5, dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, d, generator=g, dtype=dtype), torch.randint(0, k, (n,), generator=g)


def _frozen(**kw):
    return DifferenceTargetProp(
        SIZES, device="cpu", seed=2, dtype=torch.float64, lr=0.0, lr_inv=0.0, noise=0.2, **kw
    )


def test_difference_targets():
    x, y = _data()
    alg = _frozen(eta=0.3)
    rec = {}
    alg.step(x, y, rec)
    hs, t = rec["hs"], rec["targets"]
    for l in range(alg.n_layers - 1, 1, -1):
        expect = hs[l - 1] + alg.g(l, t[l].clone()) - alg.g(l, hs[l].clone())
        torch.testing.assert_close(t[l - 1], expect)


def test_zero_top_step_gives_zero_hidden_updates():
    x, y = _data()
    alg = _frozen(eta=0.0)
    alg.step(x, y)
    for l in range(1, alg.n_layers):  # ĥ = h everywhere, even with imperfect decoders
        assert float(alg.W[l - 1].grad.abs().max()) == 0.0
    assert float(alg.W[-1].grad.abs().max()) > 0.0  # the output layer still learns


@pytest.mark.parametrize(
    "kw", [{}, {"sign_layers": (1,)}, {"inv_fraction": 0.5}, {"activation": "sigmoid"}]
)
def test_no_gradient_crosses_a_layer(kw):
    x, y = _data()
    act = kw.pop("activation", "tanh")
    alg = DifferenceTargetProp(
        SIZES, act, device="cpu", seed=2, dtype=torch.float64, lr=0.0, lr_inv=0.0, noise=0.2, **kw
    )
    rec = local_gradient_check(alg, x, y)
    if "inv_fraction" in kw:
        assert rec["noisy"][2].shape[0] == 24


def test_exact_inverses_make_lower_targets_reach_upper_targets():
    """With invertible linear layers and exact decoders g_l = f_l^{-1}, the difference
    target of layer l-1 is mapped by f_l exactly onto ĥ_l (Lee et al. 2015, Sec. 2)."""
    x, y = _data(d=6, k=6)
    alg = DifferenceTargetProp(
        [6, 6, 6, 6, 6],
        "linear",
        device="cpu",
        seed=1,
        dtype=torch.float64,
        lr=0.0,
        lr_inv=0.0,
        noise=0.0,
        eta=0.5,
    )
    with torch.no_grad():
        for l in (2, 3):
            alg.V[l].copy_(torch.linalg.inv(alg.W[l - 1]))
            alg.c[l].copy_(-(alg.V[l] @ alg.b[l - 1]))
    rec = {}
    alg.step(x, y, rec)
    t = rec["targets"]
    for l in (2, 3):
        torch.testing.assert_close(alg.f(l, t[l - 1].clone()), t[l])
    # The inverse phase saw zero error: exact decoders get zero gradient.
    assert float(alg.V[2].grad.abs().max()) < 1e-10


def test_learns_digits():
    from neurotp.data import load_dataset

    d = load_dataset("digits")
    x, y = torch.from_numpy(d.x_train), torch.from_numpy(d.y_train)
    alg = DifferenceTargetProp([64, 64, 64, 64, 10], device="cpu", seed=0)
    for _ in range(10):
        perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(_))
        for i in range(0, len(x), 32):
            idx = perm[i : i + 32]
            alg.train_batch(x[idx], y[idx])
    assert alg.accuracy(d.x_test, d.y_test) > 0.93


def test_sign_layer_trains():
    from neurotp.data import load_dataset

    d = load_dataset("digits")
    x, y = torch.from_numpy(d.x_train), torch.from_numpy(d.y_train)
    alg = DifferenceTargetProp([64, 64, 64, 10], device="cpu", seed=0, sign_layers=(1,))
    bp = Backprop([64, 64, 64, 10], device="cpu", seed=0, sign_layers=(1,), ste=False)
    for _ in range(8):
        for i in range(0, len(x), 32):
            alg.train_batch(x[i : i + 32], y[i : i + 32])
            bp.train_batch(x[i : i + 32], y[i : i + 32])
    w0 = DifferenceTargetProp([64, 64, 64, 10], device="cpu", seed=0).W[0]
    assert not torch.equal(alg.W[0], w0)  # the layer below the sign learned
    assert torch.equal(bp.W[0], w0)  # plain BP cannot cross the sign
    assert alg.accuracy(d.x_test, d.y_test) > 0.85


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_batch_matches_cpu():
    x, y = _data(n=128, d=20, k=5)
    kw = dict(seed=1, dtype=torch.float64, noise=0.0)
    cpu = DifferenceTargetProp(SIZES, device="cpu", **kw)
    gpu = DifferenceTargetProp(SIZES, device="cuda", **kw)
    for _ in range(3):
        assert gpu.train_batch(x, y)["loss"] == pytest.approx(
            cpu.train_batch(x, y)["loss"], rel=1e-9
        )
    for k, v in cpu.state_dict().items():
        torch.testing.assert_close(gpu.state_dict()[k], v, rtol=1e-7, atol=1e-9)
