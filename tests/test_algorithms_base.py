"""neurotp/algorithms/base.py: the base every baseline builds on — the network's forward pass,
predictions and accuracy (checked by hand), hyper-parameters checked by name, a net of your
own, the optimizers it owns and the gradient buffers it writes."""

import re

import pytest

torch = pytest.importorskip("torch", reason="pip install 'neurotp[torch]'")

from neurotp.algorithms.base import Algorithm  # noqa: E402
from neurotp.algorithms.network import FeedforwardNet  # noqa: E402

pytestmark = pytest.mark.torch


def test_forward_predict_and_accuracy_by_hand():
    alg = Algorithm([3, 4, 2], "tanh", device="cpu", seed=1, dtype=torch.float64)
    with torch.no_grad():
        alg.b[0].copy_(torch.tensor([0.1, -0.2, 0.3, 0.0]))
        alg.b[1].copy_(torch.tensor([0.5, -0.5]))
    (w1, w2), (b1, b2) = [w.detach() for w in alg.W], [b.detach() for b in alg.b]
    x = torch.rand(5, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    h1 = torch.tanh(x @ w1.T + b1)
    logits = h1 @ w2.T + b2
    torch.testing.assert_close(alg(x), logits)
    torch.testing.assert_close(alg.predict(x.numpy()), logits)  # arrays are accepted
    hs = alg.forward_layers(x)
    assert len(hs) == 3
    torch.testing.assert_close(hs[1], h1)
    y = logits.argmax(1)
    y[:2] = 1 - y[:2]  # two of five wrong
    assert alg.accuracy(x, y, batch_size=2) == pytest.approx(3 / 5)  # in chunks of 2
    with pytest.raises(NotImplementedError):
        alg.train_batch(x, y)


def test_hyper_parameters_are_checked_by_name():
    assert Algorithm([3, 2], device="cpu", lr="1e-2").hyper["lr"] == 0.01  # YAML text
    with pytest.raises(ValueError, match=r"unknown hyper-parameter\(s\) \['lrr'\]; allowed: "):
        Algorithm([3, 2], device="cpu", lrr=1)
    with pytest.raises(ValueError, match="lr: must be a number, got 'fast'"):
        Algorithm([3, 2], device="cpu", lr="fast")
    with pytest.raises(ValueError, match="init: unknown 'he'; allowed: glorot, orthogonal"):
        Algorithm([3, 2], device="cpu", init="he")
    with pytest.raises(ValueError, match="sizes: give the layer sizes"):
        Algorithm(device="cpu")


def test_a_net_of_your_own():
    net = FeedforwardNet.build([3, 4, 2], "relu")
    alg = Algorithm(net=net, device="cpu")
    assert alg.net is net and alg.sizes == (3, 4, 2) and alg.activation_name == "relu"
    assert [w.data_ptr() for w in alg.W] == [w.data_ptr() for w in net.W]
    with pytest.raises(ValueError, match=re.escape("sizes: [3, 5, 2] disagree")):
        Algorithm([3, 5, 2], net=net, device="cpu")
    with pytest.raises(ValueError, match="net: must be a FeedforwardNet, got Linear"):
        Algorithm(net=torch.nn.Linear(3, 2), device="cpu")


def test_optimizers_and_gradient_buffers():
    alg = Algorithm([3, 2], device="cpu", optimizer="sgd", weight_decay=0.1, dtype=torch.float64)
    alg.opt = alg.make_optimizer([{"params": list(alg.net.parameters())}], lr=0.5)
    assert alg.optimizers() == [alg.opt] and isinstance(alg.opt, torch.optim.SGD)
    group = alg.opt.param_groups[0]
    assert (group["lr"], group["weight_decay"], group["momentum"]) == (0.5, 0.1, 0.9)
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(2, 4, generator=g), torch.rand(4, 3, generator=g)
    p = torch.zeros(2, 3)
    Algorithm._set_grad_mm(p, a, b, 0.5)
    buffer = p.grad.data_ptr()
    torch.testing.assert_close(p.grad, 0.5 * a @ b)
    Algorithm._set_grad_mm(p, 2 * a, b, -1.0)  # written again into the same buffer
    assert p.grad.data_ptr() == buffer
    torch.testing.assert_close(p.grad, -2 * a @ b)
    e, q = torch.rand(5, 3, generator=g), torch.zeros(3)
    alg._set_grad_sum(q, e, 2.0)
    torch.testing.assert_close(q.grad, 2.0 * e.sum(0))
