import pytest

torch = pytest.importorskip("torch")

from neurotp.algorithms.network import FeedforwardNet, seeded_linear  # noqa: E402

pytestmark = pytest.mark.torch


def test_build_is_seeded_and_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    a = FeedforwardNet.build([6, 5, 3], generator=torch.Generator().manual_seed(4))
    b = FeedforwardNet.build([6, 5, 3], generator=torch.Generator().manual_seed(4))
    assert torch.equal(torch.get_rng_state(), state)  # nn.Linear's own init never ran
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    assert all(isinstance(m, torch.nn.Linear) for m in a.layers)
    assert float(a.layers[0].bias.abs().max()) == 0.0
    assert a.sizes == (6, 5, 3) and [tuple(w.shape) for w in a.W] == [(5, 6), (3, 5)]


def test_forward_matches_forward_full_and_sign_layers():
    x = torch.rand(7, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    net = FeedforwardNet.build([6, 5, 4, 3], "tanh", sign_layers=(1,), dtype=torch.float64)
    hs, inputs = net.forward_full(x)
    torch.testing.assert_close(net(x), hs[-1])
    assert torch.equal(inputs[1], torch.sign(hs[1]))  # layer 2 sees sign(h_1)
    loss = net(x, ste=False).sum()
    loss.backward()
    assert net.layers[0].weight.grad is None  # nothing crosses the sign
    net.zero_grad()
    net(x, ste=True).sum().backward()
    assert float(net.layers[0].weight.grad.abs().max()) > 0.0  # straight-through


def test_bad_layers_name_the_problem():
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="layer 1 has 5 outputs but layer 2 takes 4 inputs"):
        FeedforwardNet([seeded_linear(6, 5, gen), seeded_linear(4, 3, gen)])
    with pytest.raises(ValueError, match="every nn.Linear needs a bias"):
        FeedforwardNet([torch.nn.Linear(6, 5, bias=False)])
    with pytest.raises(ValueError, match="one or more nn.Linear"):
        FeedforwardNet([])
    with pytest.raises(ValueError, match=r"sign_layers: \[2\] out of range"):
        FeedforwardNet.build([6, 5, 3], sign_layers=(2,))
