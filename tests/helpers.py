"""Shared test helpers (imported by test modules; no test imports another test module)."""

from __future__ import annotations

import torch


def local_gradient_check(alg, x, y):
    """Every layer's applied gradient equals autograd of that layer's own loss with its
    input and target detached: no gradient crosses a layer (TP and DTP).

    Runs one ``alg.step(x, y, record)`` and returns the record."""
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
