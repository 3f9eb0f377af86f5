"""neurotp/algorithms/layers.py: activations and their derivatives, seeded initialisation,
size and sign-layer checks, devices, optimizers and the softmax cross-entropy gradient, each
against a hand computation."""

import math

import pytest

torch = pytest.importorskip("torch", reason="pip install 'neurotp[torch]'")

from neurotp.algorithms.layers import (  # noqa: E402
    ACTIVATIONS,
    check_sign_layers,
    check_sizes,
    init_weight,
    make_activation,
    make_optimizer,
    resolve_device,
    softmax_xent_grad,
)

pytestmark = pytest.mark.torch


def test_activations_and_their_derivatives_by_hand():
    a = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.5], dtype=torch.float64)
    grad = torch.tensor([1.0, -2.0, 0.5, 3.0, -1.0], dtype=torch.float64)
    by_hand = {  # (h, grad · f'(a) written with h)
        "tanh": (torch.tanh(a), grad * (1 - torch.tanh(a) ** 2)),
        "sigmoid": (1 / (1 + torch.exp(-a)), grad * torch.exp(-a) / (1 + torch.exp(-a)) ** 2),
        "relu": (a.clamp(min=0), grad * (a > 0)),
        "linear": (a, grad),
        "sign": (torch.sign(a), grad),  # straight-through
    }
    assert set(by_hand) == set(ACTIVATIONS)
    for name, (h, dh) in by_hand.items():
        act = make_activation(name)
        assert act.name == name
        torch.testing.assert_close(act.fn(a), h)
        torch.testing.assert_close(act.fn_(a.clone()), h)
        torch.testing.assert_close(act.backward(grad, act.fn(a)), dh)
    with pytest.raises(ValueError, match="activation: unknown 'elu'; allowed: tanh, sigmoid"):
        make_activation("elu")


def test_seeded_initialisation():
    def draw(scheme, fan_out, fan_in, seed=0, gain=1.0):
        return init_weight(fan_out, fan_in, torch.Generator().manual_seed(seed), scheme, gain)

    w = draw("glorot", 30, 20, gain=2.0)
    assert w.shape == (30, 20) and w.dtype == torch.float64
    bound = 2.0 * math.sqrt(6.0 / 50)
    assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.9 * bound
    assert torch.equal(w, draw("glorot", 30, 20, gain=2.0))
    assert not torch.equal(w, draw("glorot", 30, 20, seed=1, gain=2.0))
    wide = draw("orthogonal", 3, 5, gain=0.5)  # orthonormal rows, times the gain
    torch.testing.assert_close(wide @ wide.T, 0.25 * torch.eye(3, dtype=torch.float64))
    tall = draw("orthogonal", 5, 3)  # orthonormal columns
    torch.testing.assert_close(tall.T @ tall, torch.eye(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="init: unknown 'he'; allowed: glorot, orthogonal"):
        draw("he", 2, 2)


def test_sizes_and_sign_layers_are_checked():
    assert check_sizes([64, 16, 10]) == (64, 16, 10)
    for bad in ([3], [3, 0], [3, 2.5]):
        with pytest.raises(ValueError, match="sizes: need >= 2 positive ints"):
            check_sizes(bad)
    with pytest.raises(ValueError, match="sizes: must be a sequence of positive ints"):
        check_sizes(["a", 2])
    assert check_sign_layers([2, 1, 1], 3) == frozenset({1, 2})
    with pytest.raises(ValueError, match=r"sign_layers: \[0, 3\] out of range; allowed .* 1..2"):
        check_sign_layers([0, 1, 3], 3)


def test_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    auto = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == auto
    with pytest.raises(ValueError, match="device: unknown 'tpu'; allowed: auto, cpu, cuda"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            resolve_device("cuda")


def test_optimizers_by_name_or_factory():
    p, q = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))

    def groups():  # fresh dicts: an optimizer fills its defaults into the groups it is given
        return [{"params": [p]}, {"params": [q], "lr": 0.5}, {"params": []}]

    sgd = make_optimizer(groups(), "sgd", lr=0.1, weight_decay=0.01)
    assert isinstance(sgd, torch.optim.SGD) and len(sgd.param_groups) == 2  # empty dropped
    assert [g["lr"] for g in sgd.param_groups] == [0.1, 0.5]
    assert sgd.param_groups[0]["momentum"] == 0.9 and sgd.param_groups[0]["weight_decay"] == 0.01
    assert isinstance(make_optimizer(groups(), "rmsprop", lr=0.1), torch.optim.RMSprop)
    mine = make_optimizer(groups(), lambda g: torch.optim.Adagrad(g, lr=0.2), lr=0.1)
    assert isinstance(mine, torch.optim.Adagrad) and mine.param_groups[0]["lr"] == 0.2
    with pytest.raises(ValueError, match="optimizer: unknown 'lbfgs'; allowed: adam, sgd"):
        make_optimizer(groups(), "lbfgs", lr=0.1)
    with pytest.raises(ValueError, match="the factory returned list, not a torch.optim"):
        make_optimizer(groups(), lambda g: g, lr=0.1)


def test_softmax_cross_entropy_gradient_by_hand():
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], dtype=torch.float64)
    y = torch.tensor([1, 0])
    d, loss = softmax_xent_grad(logits.clone(), y)
    p = torch.exp(logits) / torch.exp(logits).sum(1, keepdim=True)
    onehot = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(d, p - onehot)
    expected = -(torch.log(p[0, 1]) + torch.log(p[1, 0])) / 2
    torch.testing.assert_close(loss, expected)
