"""What each loop contributes to a compartment's learning signal (section 8 in time).

A compartment ``P.apical`` sums the currents of the projections into it, W·r_pre(t − d), one
per loop that returns to P. :func:`record_loops` presents samples to a trained circuit with the
label clamped as in training (from ``protocol.label_delay``) and plasticity off, and records
each projection's current at every step; for a linear compartment it also splits the rule that
reads ``apical`` (the positive term c·a ⊗ pre) into the part each projection produces, by
running each current through the compartment's own Euler filter (the compartment is linear,
so the parts add up to its rate, less its bias and its state at the start).
:func:`loop_summary` reduces that to numbers: the change of each current between before and
after the label arrives (magnitude), when it arrives (latency, peak), how the loops' changes
correlate, and each loop's share of the rule's update.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.protocol import Drive, make_drive
from neurotp.circuit.rules import parse_signal, rule_form
from neurotp.circuit.spec import unit_of


@dataclass
class LoopSignals:
    """Per projection into the compartment, per presentation and step of it, per unit.

    ``currents[p, i, k]``: projection ``names[p]``'s current W·r_pre(t − d) into the
    compartment at step ``k`` of presentation ``i``. ``updates[p, i]``: the positive term of
    ``rule`` (η·c·a ⊗ pre, summed over the presentation) that the part of the compartment's
    rate driven by projection p produces (None if no rule reads ``apical`` or the compartment
    is not linear). ``label_step``: the step the label is clamped from; ``dt`` in ms.
    """

    compartment: str
    names: list[str]
    delays_ms: list[float]
    currents: np.ndarray  # (n_proj, n_pres, steps, n_units)
    label_step: int
    present_steps: int
    dt: float
    rule: str | None = None
    updates: np.ndarray | None = None  # (n_proj, n_pres, n_post, n_pre)

    @property
    def time_ms(self) -> np.ndarray:
        """Time of each step from the presentation's onset (ms)."""
        return np.arange(self.currents.shape[2]) * self.dt


def _hist_rows(comp: Compiled, drive: Drive, before: np.ndarray, record: np.ndarray) -> np.ndarray:
    """r(t) as the projections read it, for t = t0 − (L−1) .. t0 + n_steps − 1: the rates at the
    start of each step with the inputs (and the label while clamped) set for that step."""
    spp, ps = comp.steps_per_presentation, comp.present_steps
    n = record.shape[0]
    rows = np.concatenate([before[None], record[:-1]]) if n else before[None][:0]
    rows = rows.copy()
    inp = comp.pop_slice(comp.circuit.protocol.input)
    for g in range(n):
        i, k = divmod(g, spp)
        rows[g, inp] = drive.frame(i, k, ps) if k < ps else 0.0
        if drive.clamp and drive.labels is not None and k < ps and k >= comp.label_steps:
            rows[g, comp.label_off : comp.label_off + comp.label_n] = drive.labels[i]
    return rows


def _past(state: State, L: int) -> np.ndarray:
    """r(t0 − (L−1)) .. r(t0 − 1) from the ring buffer of ``state`` (oldest first)."""
    t0 = state.t
    return np.array([state.hist[(t0 - j) % L] for j in range(L - 1, 0, -1)]).reshape(
        L - 1, state.hist.shape[1]
    )


def record_loops(
    comp: Compiled,
    state: State,
    x: np.ndarray,
    y: np.ndarray,
    compartment: str,
    rule: str | None = None,
    backend: str = "reference",
) -> LoopSignals:
    """Present rows of ``x`` (labels ``y``, clamped as in training) to a copy of ``state`` with
    plasticity off and record every projection's current into ``compartment`` (``P.apical``).

    ``rule``: the rule whose positive ``apical`` term is split by projection (default: the
    first rule on a projection into P that reads ``apical``; none if there is none).
    ValueError naming the argument if ``compartment`` is no compartment of the circuit.
    """
    from neurotp.engines.registry import get_engine

    c = comp.circuit
    groups = {p.name: p for p in c.groups()}
    if compartment not in groups or groups[compartment].role != "compartment":
        allowed = ", ".join(n for n, p in groups.items() if p.role == "compartment") or "none"
        raise ValueError(f"compartment: {compartment!r} is not a compartment; allowed: {allowed}")
    projs = [i for i, p in enumerate(c.projections) if p.post == compartment]
    if not projs:
        raise ValueError(f"compartment: no projection reaches {compartment!r}")
    drive = replace(make_drive(comp, x, y, np.random.default_rng(0), train=True), learn=False)
    start = state.copy()
    engine = get_engine(backend)(comp, state=state.copy())
    record = engine.run(drive, record_every=1).record
    L = comp.hist_len
    rows = np.concatenate([_past(start, L), _hist_rows(comp, drive, start.r, record)])
    n_steps, spp = record.shape[0], comp.steps_per_presentation
    n_pres = n_steps // spp
    post = comp.pop_slice(compartment)
    currents = np.zeros((len(projs), n_steps, post.stop - post.start))
    for j, p in enumerate(projs):
        d = int(comp.proj_delay[p])
        pre = slice(int(comp.proj_pre_off[p]), int(comp.proj_pre_off[p] + comp.proj_pre_n[p]))
        w = comp.proj_matrix(start.w, c.projections[p].name)
        currents[j] = rows[L - 1 - d : L - 1 - d + n_steps, pre] @ w.T
    sig = LoopSignals(
        compartment=compartment,
        names=[c.projections[p].name for p in projs],
        delays_ms=[float(c.projections[p].delay) for p in projs],
        currents=currents.reshape(len(projs), n_pres, spp, -1),
        label_step=comp.label_steps,
        present_steps=comp.present_steps,
        dt=comp.dt,
    )
    _split_rule(comp, start, rows, sig, compartment, rule)
    return sig


def _split_rule(comp, start, rows, sig: LoopSignals, compartment: str, rule: str | None) -> None:
    """Fill ``sig.rule`` and ``sig.updates`` (see :class:`LoopSignals`)."""
    c = comp.circuit
    unit = unit_of(compartment)
    candidates = [
        r
        for r in c.rules
        if c.projection(r.projection).post == unit
        and (f := rule_form(r)) is not None
        and any(t.post == "apical" for t in f.plus)
    ]
    if rule is not None:
        candidates = [r for r in candidates if r.name == rule]
        if not candidates:
            raise ValueError(f"rule: {rule!r} reads no 'apical' of {unit!r}")
    if not candidates or c.population(compartment).activation != "linear":
        return
    r = candidates[0]
    form = rule_form(r)
    coef = sum(t.coef for t in form.plus if t.post == "apical")
    k = comp.rule_names.index(r.name)
    eta = float(comp.rule_eta[k])
    p = [pr.name for pr in c.projections].index(r.projection)
    L = comp.hist_len
    n_proj, n_pres, spp, _ = sig.currents.shape
    n_steps = n_pres * spp
    # the pre-side signal the rule reads at step s
    ps = parse_signal(form.plus_pre, "pre", "rule")
    pre_sl = slice(int(comp.proj_pre_off[p]), int(comp.proj_pre_off[p] + comp.proj_pre_n[p]))
    d = int(comp.proj_delay[p])
    if ps.kind == "pre":
        pre = rows[L - 1 - d : L - 1 - d + n_steps, pre_sl]
    else:
        i = comp.trace_names.index(ps.name)
        off, n = int(comp.tr_off[i]), int(comp.tr_n[i])
        src, td, alpha = int(comp.tr_src_off[i]), int(comp.tr_delay[i]), float(comp.tr_alpha[i])
        pre = np.zeros((n_steps, n))
        tr = start.tr[off : off + n].copy()
        for s in range(n_steps):
            pre[s] = tr
            tr = tr + alpha * (rows[L - 1 + s - td, src : src + n] - tr)
    # each current through the compartment's Euler filter: the rule at step s reads a(s)
    alpha_a = float(comp.unit_alpha[comp.pop_slice(compartment).start])
    cur = sig.currents.reshape(n_proj, n_steps, -1)
    part = np.zeros_like(cur)
    a = np.zeros((n_proj, cur.shape[2]))
    for s in range(n_steps):
        part[:, s] = a
        a = a + alpha_a * (-a + cur[:, s])
    part = part.reshape(n_proj, n_pres, spp, -1)
    pre = pre.reshape(n_pres, spp, -1)
    sig.rule = r.name
    sig.updates = eta * coef * np.einsum("qiku,ikj->qiuj", part, pre)


def loop_summary(sig: LoopSignals, before_ms: float = 5.0) -> dict:
    """Numbers for each loop and for the first two loops against each other.

    Per projection: ``change_rms`` (the RMS over presentations and units of the current's mean
    after the label minus its mean over the ``before_ms`` before it), ``latency_ms`` (from the
    label's onset until the presentation-averaged RMS deviation from the before-mean first
    reaches half its peak), ``peak_ms``, and, with a split rule, ``update_share`` (⟨U_p, U⟩ /
    ⟨U, U⟩ summed over presentations, U = Σ_p U_p; the shares add up to 1) and ``update_rms``.
    Pairs: ``change_correlation`` (Pearson, over presentations × units) and
    ``update_cosine`` (mean over presentations of the cosine between the two updates).
    """
    k0, k1 = sig.label_step, sig.present_steps
    nb = max(1, int(round(before_ms / sig.dt)))
    if k0 - nb < 0 or k0 >= k1:
        raise ValueError(
            f"before_ms: {before_ms} ms before the label at step {k0} leaves no window; "
            f"allowed: at most {k0 * sig.dt} ms, and a label delay below the presentation"
        )
    cur = sig.currents
    base = cur[:, :, k0 - nb : k0].mean(axis=2)  # (P, n_pres, units)
    change = cur[:, :, k0:k1].mean(axis=2) - base
    dev = np.sqrt(((cur[:, :, k0:k1] - base[:, :, None]) ** 2).mean(axis=(1, 3)))  # (P, steps)
    loops: dict[str, dict] = {}
    for j, name in enumerate(sig.names):
        peak = int(np.argmax(dev[j]))
        above = np.nonzero(dev[j] >= 0.5 * dev[j, peak])[0] if dev[j, peak] > 0 else []
        loops[name] = {
            "delay_ms": sig.delays_ms[j],
            "change_rms": float(np.sqrt(np.mean(change[j] ** 2))),
            "latency_ms": float(above[0] * sig.dt) if len(above) else None,
            "peak_ms": float(peak * sig.dt) if dev[j, peak] > 0 else None,
        }
    out: dict = {"compartment": sig.compartment, "rule": sig.rule, "loops": loops}
    if sig.updates is not None:
        u = sig.updates.reshape(len(sig.names), sig.updates.shape[1], -1)
        total = u.sum(axis=0)
        tt = float((total * total).sum())
        for j, name in enumerate(sig.names):
            share = float((u[j] * total).sum()) / tt if tt > 0 else float("nan")
            loops[name]["update_share"] = share
            loops[name]["update_rms"] = float(np.sqrt(np.mean(u[j] ** 2)))
    if len(sig.names) >= 2:
        a, b = change[0].ravel(), change[1].ravel()
        ok = a.std() > 0 and b.std() > 0
        pair: dict = {
            "pair": [sig.names[0], sig.names[1]],
            "change_correlation": float(np.corrcoef(a, b)[0, 1]) if ok else None,
        }
        if sig.updates is not None:
            na = np.linalg.norm(u[0], axis=1)
            nb_ = np.linalg.norm(u[1], axis=1)
            keep = (na > 0) & (nb_ > 0)
            cos = (u[0][keep] * u[1][keep]).sum(axis=1) / (na[keep] * nb_[keep])
            pair["update_cosine"] = float(cos.mean()) if keep.any() else None
        out["between"] = pair
    return out
