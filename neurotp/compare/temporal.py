"""The section-8-in-time circuits in ``neurotp compare`` (e.g. ``circuits/digits_temporal.yaml``).

Such a circuit has no target populations: its hidden units carry a second compartment
(``H.apical``) fed back from the layer above, and its forward synapses learn from how the
unit changes as the loops return. To compare its updates with the BP gradient and the DTP
update, the network is read out of the circuit by its wiring, not by fixed names: the forward
chain runs from ``protocol.input`` through hidden populations to ``protocol.readout`` (one
projection between each pair), and the feedback ``g_l`` of hidden layer ``l`` is the projection
into its compartment from the layer above (or from that layer's compartment), with the
compartment's bias and activation. The top target's ``β`` is the gain of the readout's
compartment (the label's nudge), 1 without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.spec import COMPARTMENT_SUFFIX, Circuit
from neurotp.metrics.alignment import Network

# the repository's circuit, found from a source checkout (absent from an installed wheel)
DEFAULT_TEMPORAL = Path(__file__).resolve().parents[2] / "circuits" / "digits_temporal.yaml"
RUN_PREFIX = "temporal:"  # runs of temporal circuits are keyed "temporal:NAME"


def forward_chain(c: Circuit) -> list[str]:
    """Population names from ``protocol.input`` to ``protocol.readout`` along the projections
    between populations (compartments and the label left out); ValueError when the chain is
    broken or branches."""
    p = c.protocol
    if p.readout is None:
        raise ValueError(f"circuit {c.name!r}: protocol.readout is not set; compare needs it")
    skip = {p.label}
    chain = [p.input]
    while chain[-1] != p.readout:
        nxt = [
            pr.post
            for pr in c.projections
            if pr.pre == chain[-1]
            and not pr.post.endswith(COMPARTMENT_SUFFIX)
            and pr.post not in skip
            and pr.post not in chain
        ]
        if len(nxt) != 1:
            found = ", ".join(nxt) if nxt else "none"
            raise ValueError(
                f"circuit {c.name!r}: the forward chain from {p.input!r} to {p.readout!r} "
                f"needs one projection out of {chain[-1]!r} into the next layer; found {found}"
            )
        chain.append(nxt[0])
    return chain


def temporal_sizes(c: Circuit) -> tuple[int, ...]:
    """Layer sizes along the forward chain, e.g. (64, 16, 10)."""
    return tuple(c.population(n).size for n in forward_chain(c))


def _projection(c: Circuit, pre: tuple[str, ...], post: str) -> str | None:
    names = [pr.name for pr in c.projections if pr.pre in pre and pr.post == post]
    return names[0] if len(names) == 1 else None


def check_temporal(c: Circuit, where: str = "--temporal") -> None:
    """Refuse a circuit whose network compare cannot read (each problem named)."""
    try:
        chain = forward_chain(c)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    acts = [c.population(n).activation for n in chain]
    if acts[-1] != "sigmoid" or any(a != "tanh" for a in acts[1:-1]):
        raise ValueError(
            f"{where}: circuit {c.name!r} has activations {acts[1:]} along {chain[1:]}; "
            "compare's BP gradient needs tanh hidden layers and a sigmoid output"
        )
    if c.protocol.dataset != "digits":
        raise ValueError(
            f"{where}: circuit {c.name!r} is for data set {c.protocol.dataset!r}; "
            "compare runs on digits"
        )
    fb = []
    for l in range(1, len(chain) - 1):
        h, up = chain[l], chain[l + 1]
        pop = c.population(h)
        name = _projection(c, (up, up + COMPARTMENT_SUFFIX), h + COMPARTMENT_SUFFIX)
        if pop.apical is None or name is None:
            raise ValueError(
                f"{where}: circuit {c.name!r}: hidden layer {h!r} needs a compartment "
                f"({h}{COMPARTMENT_SUFFIX}) fed by one projection from {up!r} or "
                f"{up}{COMPARTMENT_SUFFIX} (its feedback g); found none"
            )
        fb.append(pop.apical.activation)
    if len(set(fb)) > 1:
        raise ValueError(
            f"{where}: circuit {c.name!r}: the hidden compartments have activations {fb}; "
            "compare's DTP reference needs one feedback activation"
        )


def feedback_is_inverse(c: Circuit) -> bool:
    """Whether every hidden compartment is fed from the layer above's *rates* (then g is a
    decoder of that layer and its reconstruction error means something), rather than from
    that layer's compartment (a feedback of changes, e.g. a learned transpose)."""
    chain = forward_chain(c)
    return all(
        _projection(c, (chain[l + 1],), chain[l] + COMPARTMENT_SUFFIX) is not None
        for l in range(1, len(chain) - 1)
    )


def read_temporal_network(comp: Compiled, state: State) -> Network:
    """The forward and feedback weights of a temporal circuit (see the module doc)."""
    c = comp.circuit
    check_temporal(c, where="read_temporal_network")
    chain = forward_chain(c)
    W, b, V, cc = [], [], [], []
    for l in range(1, len(chain)):
        pre, post = chain[l - 1], chain[l]
        W.append(comp.proj_matrix(state.w, _projection(c, (pre,), post)).copy())
        b.append(state.b[comp.pop_slice(post)].copy())
        if l == 1:
            V.append(None)
            cc.append(None)
        else:
            apical = pre + COMPARTMENT_SUFFIX
            name = _projection(c, (post, post + COMPARTMENT_SUFFIX), apical)
            V.append(comp.proj_matrix(state.w, name).copy())
            cc.append(state.b[comp.pop_slice(apical)].copy())
    top = c.population(chain[-1]).apical
    hidden_apical = c.population(chain[1]).apical
    return Network(
        W,
        b,
        V,
        cc,
        beta=1.0 if top is None else float(top.gain),
        feedback=hidden_apical.activation if hidden_apical is not None else "tanh",
    )


def load_temporal(paths: Sequence[str | Path]) -> list[Circuit]:
    """Load and check each temporal circuit file (ValueError naming ``--temporal``)."""
    from neurotp.circuit import load_circuit

    out = []
    for path in paths:
        if not Path(path).is_file():
            raise ValueError(f"--temporal: no circuit file {str(path)!r}")
        try:
            c = load_circuit(path)
        except Exception as exc:  # a circuit error names its field; say which option gave it
            raise ValueError(f"--temporal: {path}: {exc}") from None
        check_temporal(c)
        out.append(c)
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise ValueError(f"--temporal: two circuits share a name: {names}; each row needs its own")
    return out
