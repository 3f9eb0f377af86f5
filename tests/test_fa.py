import pytest

torch = pytest.importorskip("torch")

from neurotp.algorithms.bp import Backprop  # noqa: E402
from neurotp.algorithms.fa import FeedbackAlignment  # noqa: E402

pytestmark = pytest.mark.torch


def _data(n=64, d=20, k=5):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, d, generator=g), torch.randint(0, k, (n,), generator=g)


def test_feedback_is_fixed_random_and_differs_from_bp():
    x, y = _data()
    fa = FeedbackAlignment([20, 16, 12, 5], device="cpu", seed=1, dtype=torch.float64)
    bp = Backprop([20, 16, 12, 5], device="cpu", seed=1, dtype=torch.float64)
    g_fa, _, _ = fa.gradients(x.double(), y)
    g_bp, _, _ = bp.gradients(x.double(), y)
    torch.testing.assert_close(g_fa[-1], g_bp[-1])  # output layer: exact gradient
    assert not torch.allclose(g_fa[0], g_bp[0])  # lower layers: random feedback
    B0 = [b.clone() for b in fa.B]
    for _ in range(5):
        fa.train_batch(x, y)
    for b0, b in zip(B0, fa.B, strict=True):
        assert torch.equal(b0, b)  # feedback weights never learn


def test_with_feedback_equal_to_weights_it_is_backprop():
    x, y = _data()
    fa = FeedbackAlignment([20, 16, 12, 5], device="cpu", seed=1, dtype=torch.float64)
    bp = Backprop([20, 16, 12, 5], device="cpu", seed=1, dtype=torch.float64)
    with torch.no_grad():
        for l, w in enumerate(fa.W, start=1):
            getattr(fa, f"B{l}").copy_(w)
    for a, b in zip(fa.gradients(x.double(), y)[0], bp.gradients(x.double(), y)[0], strict=True):
        torch.testing.assert_close(a, b)


def test_learns_digits_and_aligns():
    from neurotp.data import load_dataset

    d = load_dataset("digits")
    alg = FeedbackAlignment([64, 64, 10], device="cpu", seed=0, lr=3e-3)
    x, y = torch.from_numpy(d.x_train), torch.from_numpy(d.y_train)
    for _ in range(10):
        for i in range(0, len(x), 32):
            alg.train_batch(x[i : i + 32], y[i : i + 32])
    assert alg.accuracy(d.x_test, d.y_test) > 0.9
    # Lillicrap et al.: W_2 comes to align with B_2 (angle well below 90 degrees).
    w, b = alg.W[1].detach().flatten(), alg.B[1].flatten()
    cos = float(w @ b / (w.norm() * b.norm()))
    assert cos > 0.2
    assert "B2" in alg.state_dict()  # a buffer: saved, not a parameter, never optimised
    assert all(p is not alg.B2 for p in alg.parameters())
