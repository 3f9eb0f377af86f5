"""The rules of a spiking circuit as Brian2 code (:mod:`neurotp.engines.brian2.spiking`).

Each rule's general form (:func:`neurotp.circuit.rules.rule_form`) is lowered by
:mod:`neurotp.engines.brian2.forms`, every factor decoded from exponential spike traces
(``x̂ = lo + (hi − lo)·trace``, the encoding interval [lo, hi] of the group that spiked):

- post side: ``post`` (or ``rate:`` the post population) is the decoded fast trace ``xdec``
  (τ_s) of the post group's own spikes; ``rate:POP`` the same of another group, read by a
  reference; ``apical`` the fast trace of the post population's compartment group
  (``POP.apical``, which spikes like any group); ``trace:NAME`` the slow trace (τ of NAME)
  of its group's spikes;
- pre side: ``pre`` is the per-synapse fast trace ``xs`` and ``trace:NAME`` the per-synapse
  slow trace ``xt_m``, both incremented when the delayed presynaptic spike arrives.
"""

from __future__ import annotations

from collections.abc import Mapping

from neurotp.circuit.compiled import Compiled
from neurotp.circuit.rules import parse_signal, rule_form
from neurotp.circuit.spec import compartment_of
from neurotp.engines.brian2.forms import (
    Factors,
    RuleCode,
    elementwise_code,
    oja_code,
    slope_code,
)


def decoded(lo: float, hi: float, var: str) -> str:
    """The rate a spike trace ``var`` encodes for the encoding interval [lo, hi]."""
    return f"({lo!r} + {hi - lo!r}*{var})"


class SpikingRules:
    """Every rule of ``comp`` lowered for the spiking runner.

    ``code[k]``: rule k's :class:`RuleCode` (an Oja rule: its weight code, a string);
    ``variables[group]``: the post-group variables the coefficients assign; ``refs``: (group,
    name, source group, source variable) references to other groups' variables;
    ``syn_traces[q]``: the trace indices whose per-synapse slow traces projection q keeps.
    ``ranges`` maps each unit group (populations and compartments) to its [lo, hi].
    """

    def __init__(self, comp: Compiled, ranges: Mapping[str, tuple[float, float]]):
        self.comp = comp
        self.ranges = ranges
        circ = comp.circuit
        rt = comp.rules
        self.code: dict[int, RuleCode | str] = {}
        self.variables: dict[str, list[str]] = {name: [] for name in ranges}
        self.refs: list[tuple[str, str, str, str]] = []
        self.syn_traces: dict[int, list[int]] = {q: [] for q in range(len(circ.projections))}
        for k, r in enumerate(circ.rules):
            pr = circ.projection(r.projection)
            lo_x, hi_x = ranges[pr.pre]
            gate, open_flag = f"ntps_gate(t - ntps_t0, {k})", f"ntps_open(t - ntps_t0, {k})"
            lo, hi = float(rt.lo[k]), float(rt.hi[k])
            f = rule_form(r)
            if f is None:  # Oja's rule
                self.code[k] = oja_code(
                    k, gate, open_flag, "xdec_post", decoded(lo_x, hi_x, "xs"), lo, hi
                )
                continue
            plus = tuple(
                (float(t.coef), self._post_signal(k, n, t.post)) for n, t in enumerate(f.plus)
            )
            factors = Factors(
                plus=plus,
                a=self._pre_signal(k, f.plus_pre),
                minus_coef=float(f.minus_coef),
                minus=self._post_signal(k, len(f.plus), f.minus_post),
                b=self._pre_signal(k, f.minus_pre),
                same_pre=bool(rt.same_pre[k]),
                # post_slope: φ′ at the post group's own decoded rate
                slope=slope_code(int(rt.slope_act[k]), "xdec") if rt.slope_off[k] >= 0 else None,
            )
            code = elementwise_code(k, factors, gate, open_flag, lo, hi, bool(r.bias))
            self.code[k] = code
            self.variables[pr.post] += list(code.variables)

    def _post_signal(self, k: int, n: int, text: str) -> str:
        """Post-side signal ``text`` of rule k (its n-th factor) as an expression on the post
        group: a decoded fast or slow trace, read from another group by a reference."""
        circ = self.comp.circuit
        r = circ.rules[k]
        post = circ.projection(r.projection).post
        s = parse_signal(text, "post", r.name)
        if s.kind == "post" or (s.kind == "rate" and s.name == post):
            return "xdec"
        name = f"ls_{k}_{n}"
        if s.kind in ("rate", "apical"):
            src = s.name if s.kind == "rate" else compartment_of(post)
            if src == post:  # a rule on a projection into the compartment reading 'apical'
                return "xdec"
            self.refs.append((post, name, src, "xdec"))
            return name
        m = circ.traces.index(circ.trace(s.name))
        src = circ.traces[m].population
        lo, hi = self.ranges[src]
        if src == post:
            return decoded(lo, hi, f"tr_{m}")
        self.refs.append((post, name, src, f"tr_{m}"))
        return decoded(lo, hi, name)

    def _pre_signal(self, k: int, text: str) -> str:
        """Pre-side signal ``text`` of rule k as its synapses read it: the decoded fast trace
        ``xs`` or the per-synapse slow trace ``xt_m`` of trace m's time constant."""
        circ = self.comp.circuit
        r = circ.rules[k]
        pr = circ.projection(r.projection)
        lo, hi = self.ranges[pr.pre]
        s = parse_signal(text, "pre", r.name)
        if s.kind == "pre":
            return decoded(lo, hi, "xs")
        m = circ.traces.index(circ.trace(s.name))
        q = circ.projections.index(pr)
        if m not in self.syn_traces[q]:
            self.syn_traces[q].append(m)
        return decoded(lo, hi, f"xt_{m}")
