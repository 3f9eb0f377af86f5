"""Shared test helpers (imported by test modules; no test imports another test module)."""

from __future__ import annotations

import numpy as np

from neurotp.circuit import make_drive
from neurotp.circuit.protocol import Drive

# ---- engines: drives and circuits for the engine agreement tests (numba branch) -------------


def one_second_drive(comp, seed: int = 2) -> Drive:
    """A training drive of random inputs and labels covering at least one simulated second."""
    c = comp.circuit
    n_pres = int(np.ceil(1000.0 / (c.protocol.present + c.protocol.gap)))
    rng = np.random.default_rng(seed)
    x = rng.random((n_pres, comp.input_n))
    y = rng.integers(0, max(comp.label_n, 1), n_pres)
    return make_drive(comp, x, y, np.random.default_rng(seed + 1), train=True)


def split_drive(comp, drive: Drive, parts: int = 3, learn: tuple[bool, ...] = ()) -> list[Drive]:
    """``drive`` cut into ``parts`` consecutive drives (presentations and their noise rows);
    ``learn[i]`` (if given) switches learning of part i on or off."""
    n = drive.n_presentations
    spp = comp.steps_per_presentation
    cuts = np.linspace(0, n, parts + 1).astype(int)
    out = []
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        out.append(
            Drive(
                stim=drive.stim[a:b],
                labels=None if drive.labels is None else drive.labels[a:b],
                noise=drive.noise[a * spp : b * spp],
                clamp=drive.clamp,
                learn=learn[i] if learn else drive.learn,
            )
        )
    return out


def scaled_delays(c, factor: float):
    """Circuit ``c`` with every projection and trace delay multiplied by ``factor``."""
    for p in c.projections:
        p.delay *= factor
    for t in c.traces:
        t.delay *= factor
    return c


def max_state_difference(a, b, keys=("r", "hist", "tr", "w", "b")) -> dict[str, float]:
    """Largest absolute difference of each state array of two engines."""
    return {k: float(np.max(np.abs(getattr(a, k) - getattr(b, k)), initial=0.0)) for k in keys}


# ---- baselines: the local-gradient proof of the TP family (algorithms branch) --------------


def local_gradient_check(alg, x, y):
    """Every layer's applied gradient equals autograd of that layer's own loss with its
    input and target detached: no gradient crosses a layer (TP and DTP).

    Runs one ``alg.step(x, y, record)`` and returns the record."""
    import torch

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
