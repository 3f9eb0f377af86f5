"""The locality audit: every signal a circuit's plasticity reads that is not local.

The contract (README, "Locality"): a rule may read its synapse's presynaptic rate or trace and
the state of its own postsynaptic unit (rate, trace, its compartment ``POP.apical`` and that
compartment's traces); everything else reaches a unit through projections. What breaks it
is allowed in the format but reported here:

- ``tie`` — a projection that shares another's weights (weight transport);
- ``index read`` — a rule that reads another population's rate or trace unit by unit, with no
  projection behind the read (e.g. a prediction rule's targets, a reconstruction rule's
  ``forward_trace`` of another population);
- ``non-local sum`` — Oja's rule reads Σₖ wₖⱼ·pₖ, the other post units' weights and rates;
- ``global gate`` — a rule window (learning switched on and off by a clock shared by all
  synapses), the label clamp, the learning switch between training and testing, and
  plasticity switched off during the gaps between presentations.

:func:`audit` returns the findings; :func:`audit_table` formats them. NumPy-free, engine-free.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from neurotp.circuit.rules import parse_signal, rule_form
from neurotp.circuit.spec import Circuit, unit_of

KINDS: tuple[str, ...] = ("tie", "index read", "non-local sum", "global gate")


@dataclass(frozen=True)
class Finding:
    """One non-local signal: ``kind`` (one of :data:`KINDS`), ``where`` (the field), ``what``."""

    kind: str
    where: str
    what: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def audit(c: Circuit) -> list[Finding]:
    """Every non-local signal of circuit ``c`` (see the module docstring), in file order."""
    out: list[Finding] = []
    pops = {p.name: p for p in c.populations}
    traces = {t.name: t for t in c.traces}
    for i, pr in enumerate(c.projections):
        if pr.tie is not None:
            owner = c.projection(pr.tie)
            out.append(
                Finding(
                    "tie",
                    f"projections[{i}] ({pr.name}).tie",
                    f"{pr.pre}→{pr.post} uses the weights of {owner.name} "
                    f"({owner.pre}→{owner.post}): weight transport",
                )
            )
    for i, r in enumerate(c.rules):
        where = f"rules[{i}] ({r.name})"
        proj = c.projection(r.projection)
        f = rule_form(r)
        if f is None:
            out.append(
                Finding(
                    "non-local sum",
                    f"{where}.kind",
                    f"Oja's rule on {proj.name} reads Σₖ wₖⱼ·pₖ over every unit of {proj.post}",
                )
            )
        else:
            for fld, text in [(f"form.plus[{k}]", t.post) for k, t in enumerate(f.plus)] + [
                ("form.minus_post", f.minus_post)
            ]:
                s = parse_signal(text, "post", where)
                source = None
                own = unit_of(proj.post)  # a unit's soma and its compartment are one unit
                if s.kind == "rate" and unit_of(s.name) != own:
                    source = f"the rate of {s.name}"
                elif s.kind == "trace" and unit_of(traces[s.name].population) != own:
                    source = f"trace {s.name} of {traces[s.name].population}"
                if source is not None:
                    out.append(
                        Finding(
                            "index read",
                            f"{where}.{_field(r, text) or fld}",
                            f"synapses onto {proj.post} read {source} unit by unit "
                            "(no projection behind the read)",
                        )
                    )
        if r.window is not None:
            out.append(
                Finding(
                    "global gate",
                    f"{where}.window",
                    f"learning on {proj.name} only {r.window[0]:g}–{r.window[1]:g} ms after "
                    "each onset (a clock shared by every synapse)",
                )
            )
    p = c.protocol
    if p.label is not None and p.label in pops:
        out.append(
            Finding(
                "global gate",
                "protocol.label",
                f"{p.label} is clamped to the label while training and free while testing",
            )
        )
    if c.rules:
        out.append(
            Finding(
                "global gate",
                "protocol",
                "plasticity is on while training and off while testing (a global switch)",
            )
        )
        if p.gap > 0:
            out.append(
                Finding(
                    "global gate",
                    "protocol.gap",
                    f"plasticity is off during the {p.gap:g} ms gap after each presentation",
                )
            )
    return out


def _field(r, text: str) -> str | None:
    """The preset field a signal comes from, for the report (``targets[k]``, a trace)."""
    for name in ("pre_trace", "forward_trace", "post_trace"):
        if getattr(r, name) is not None and text == f"trace:{getattr(r, name)}":
            return name
    for k, t in enumerate(r.targets):
        if text == f"rate:{t.population}":
            return f"targets[{k}]"
    return None


def audit_table(c: Circuit, findings: list[Finding] | None = None) -> str:
    """A Markdown table of the findings (one line saying so when there are none)."""
    findings = audit(c) if findings is None else findings
    if not findings:
        return f"{c.name}: every plasticity signal is local"
    rows = [f"{c.name}: {summary(findings)}", "", "| kind | where | what |", "|---|---|---|"]
    rows += [f"| {f.kind} | `{f.where}` | {f.what} |" for f in findings]
    return "\n".join(rows)


def summary(findings: list[Finding]) -> str:
    """One line: how many findings of each kind (``"local"`` when none)."""
    if not findings:
        return "local"
    counts = {k: sum(f.kind == k for f in findings) for k in KINDS}
    return ", ".join(f"{n} {k}{'s' if n > 1 else ''}" for k, n in counts.items() if n)
