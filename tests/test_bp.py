import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neurotp.algorithms.bp import Backprop  # noqa: E402

pytestmark = pytest.mark.torch


def _data(n=64, d=20, k=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, d, generator=g), torch.randint(0, k, (n,), generator=g)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "linear"])
@pytest.mark.parametrize("sign_layers,ste", [((), False), ((1,), True), ((2,), True)])
def test_manual_gradients_equal_autograd(activation, sign_layers, ste):
    x, y = _data()
    kw = dict(seed=3, device="cpu", sign_layers=sign_layers, ste=ste, dtype=torch.float64)
    a = Backprop([20, 16, 12, 5], activation, **kw)
    b = Backprop([20, 16, 12, 5], activation, backend="autograd", **kw)
    gW, gb, loss = a.gradients(x.double(), y)
    b.zero_grad(set_to_none=True)
    ref = b.autograd_loss(x.double(), y)
    ref.backward()
    assert float(loss) == pytest.approx(float(ref.detach()), rel=1e-12)
    for g, w in zip(gW, b.W, strict=True):
        torch.testing.assert_close(g, w.grad, rtol=1e-9, atol=1e-12)
    for g, w in zip(gb, b.b, strict=True):
        torch.testing.assert_close(g, w.grad, rtol=1e-9, atol=1e-12)


def test_sign_layer_without_ste_blocks_lower_layers():
    x, y = _data()
    a = Backprop([20, 16, 12, 5], sign_layers=(1,), ste=False, device="cpu")
    gW, _, _ = a.gradients(x, y)
    assert float(gW[0].abs().max()) == 0.0  # nothing reaches below the sign
    assert float(gW[1].abs().max()) > 0.0
    a2 = Backprop([20, 16, 12, 5], sign_layers=(1,), ste=True, device="cpu")
    assert float(a2.gradients(x, y)[0][0].abs().max()) > 0.0


def test_learns_digits():
    from neurotp.data import load_dataset

    d = load_dataset("digits")
    alg = Backprop([64, 32, 10], device="cpu", seed=0, lr=3e-3)
    x, y = torch.from_numpy(d.x_train), torch.from_numpy(d.y_train)
    for _ in range(8):
        for i in range(0, len(x), 32):
            alg.train_batch(x[i : i + 32], y[i : i + 32])
    assert alg.accuracy(d.x_test, d.y_test) > 0.93


def test_same_seed_same_numbers_and_state_roundtrip():
    x, y = _data()
    runs = []
    for _ in range(2):
        alg = Backprop([20, 8, 5], device="cpu", seed=7)
        losses = [alg.train_batch(x, y)["loss"] for _ in range(5)]
        runs.append((losses, alg))
    assert runs[0][0] == runs[1][0]
    trained = runs[0][1]
    state = trained.state_dict()
    other = Backprop([20, 8, 5], device="cpu", seed=8)
    assert not torch.equal(other.predict(x), trained.predict(x))
    other.load_state_dict(state)
    assert torch.equal(other.predict(x), trained.predict(x))
    assert list(state) == [f"net.layers.{i}.{k}" for i in (0, 1) for k in ("weight", "bias")]
    with pytest.raises(RuntimeError, match="size mismatch for net.layers.0.weight"):
        other.load_state_dict({**state, "net.layers.0.weight": torch.zeros(3, 3)})
    with pytest.raises(RuntimeError, match="Missing key"):
        other.load_state_dict({"net.layers.0.weight": state["net.layers.0.weight"]})


def test_own_network_and_optimizer():
    """A user's nn.Linear layers and torch.optim optimizer: plain SGD on the gradients."""
    from functools import partial

    from neurotp.algorithms.network import FeedforwardNet

    x, y = _data()
    torch.manual_seed(0)
    net = FeedforwardNet([torch.nn.Linear(20, 8), torch.nn.Linear(8, 5)], "tanh")
    w0 = net.layers[0].weight.detach().clone()
    alg = Backprop(net=net, device="cpu", optimizer=partial(torch.optim.SGD, lr=0.5))
    assert alg.net is net and alg.sizes == (20, 8, 5)
    gW, _, _ = alg.gradients(x, y)
    alg.opt.step()
    torch.testing.assert_close(net.layers[0].weight, w0 - 0.5 * gW[0])
    torch.testing.assert_close(alg(x), alg.predict(x))  # nn.Module call = forward pass
    with pytest.raises(ValueError, match="net: must be a FeedforwardNet"):
        Backprop(net=torch.nn.Linear(3, 2))
    with pytest.raises(ValueError, match="optimizer: the factory returned"):
        Backprop([4, 3], optimizer=lambda groups: None)


def test_forward_layers_and_predict_shapes():
    x, _ = _data(n=7)
    alg = Backprop([20, 9, 8, 5], device="cpu")
    hs = alg.forward_layers(x.numpy())
    assert [tuple(h.shape) for h in hs] == [(7, 20), (7, 9), (7, 8), (7, 5)]
    assert float(hs[1].abs().max()) <= 1.0  # tanh
    torch.testing.assert_close(alg.predict(x), hs[-1])


def test_errors_name_field_and_allowed_values():
    with pytest.raises(ValueError, match="unknown hyper-parameter.*'lrr'.*allowed:.*lr"):
        Backprop([4, 3], lrr=0.1)
    with pytest.raises(ValueError, match="activation: unknown 'tahn'; allowed: tanh"):
        Backprop([4, 3], "tahn")
    with pytest.raises(ValueError, match="sizes"):
        Backprop([4])
    with pytest.raises(ValueError, match=r"sign_layers: \[3\] out of range; allowed hidden"):
        Backprop([4, 3, 3, 2], sign_layers=(3,))
    with pytest.raises(ValueError, match="optimizer: unknown 'adamw'; allowed: adam, sgd"):
        Backprop([4, 3], optimizer="adamw")
    with pytest.raises(ValueError, match="backend"):
        Backprop([4, 3], backend="jax")
    with pytest.raises(ValueError, match="device: unknown 'tpu'"):
        Backprop([4, 3], device="tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")
def test_cuda_request_without_cuda_is_clear():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        Backprop([4, 3], device="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_batch_matches_cpu():
    x, y = _data(n=128, d=50, k=10)
    cpu = Backprop([50, 64, 64, 10], device="cpu", seed=1, dtype=torch.float64)
    gpu = Backprop([50, 64, 64, 10], device="cuda", seed=1, dtype=torch.float64)
    for _ in range(3):
        lc = cpu.train_batch(x, y)["loss"]
        lg = gpu.train_batch(x, y)["loss"]
        assert lg == pytest.approx(lc, rel=1e-9)
    for k, v in cpu.state_dict().items():
        np.testing.assert_allclose(gpu.state_dict()[k].numpy(), v.numpy(), rtol=1e-7, atol=1e-9)
