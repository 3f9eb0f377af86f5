"""Update alignment: the angle between a circuit's weight change and the backprop gradient
or the difference-target-propagation update of the same network on the same inputs.

The network is read out of a :func:`neurotp.circuit.library.tp_circuit` circuit's state:
forward layers ``h_l = tanh(W_l h_{l-1} + b_l)``, output ``y = sigmoid(W_L h_{L-1} + b_L)``
(the steady state of its forward populations), feedback ``g_l(h) = tanh(V_l h + c_l)``
(another activation where ``Network.feedback`` says so: a compartment's, for the temporal
circuits read by :mod:`neurotp.compare.temporal`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurotp.circuit.activations import activation
from neurotp.circuit.compiled import Compiled, State


@dataclass
class Network:
    W: list[np.ndarray]  # W[l-1]: (n_l, n_{l-1})
    b: list[np.ndarray]
    V: list[np.ndarray | None]  # V[l-1]: feedback from layer l to layer l-1 (None for l=1)
    c: list[np.ndarray | None]
    beta: float
    feedback: str = "tanh"  # the activation of the feedback g_l


def read_network(comp: Compiled, state: State) -> Network:
    """Forward and feedback weights of a ``tp_circuit`` circuit (names fixed by the builder)."""
    c = comp.circuit
    hidden = [
        p.name for p in c.populations if p.name.startswith("H") and not p.name.startswith("HT")
    ]
    fwd = ["X", *hidden, "Y"]
    W, b, V, cc = [], [], [], []
    for l in range(1, len(fwd)):
        W.append(comp.proj_matrix(state.w, f"{fwd[l - 1]}{fwd[l]}").copy())
        b.append(state.b[comp.pop_slice(fwd[l])].copy())
        if l == 1:
            V.append(None)
            cc.append(None)
        else:
            s = fwd[l - 1].replace("H", "")
            V.append(comp.proj_matrix(state.w, f"{fwd[l]}S{s}").copy())
            cc.append(state.b[comp.pop_slice(f"S{s}")].copy())
    beta = float(np.diag(comp.proj_matrix(state.w, "LYT"))[0])
    return Network(W, b, V, cc, beta)


def _forward(net: Network, x: np.ndarray) -> list[np.ndarray]:
    hs = [x]
    for l, (w, b) in enumerate(zip(net.W, net.b, strict=True), start=1):
        a = hs[-1] @ w.T + b
        hs.append(0.5 * (1 + np.tanh(0.5 * a)) if l == len(net.W) else np.tanh(a))
    return hs


def bp_update(net: Network, x: np.ndarray, t: np.ndarray) -> list[np.ndarray]:
    """−∂/∂W_l of the summed binary cross-entropy of the sigmoid outputs (the loss whose
    gradient the output delta rule follows), for every layer."""
    hs = _forward(net, x)
    delta = t - hs[-1]  # −∂BCE/∂a_L for sigmoid outputs
    out = [None] * len(net.W)
    for l in range(len(net.W), 0, -1):
        out[l - 1] = delta.T @ hs[l - 1]
        if l > 1:
            delta = (delta @ net.W[l - 1]) * (1 - hs[l - 1] ** 2)
    return out  # type: ignore[return-value]


def dtp_update(net: Network, x: np.ndarray, t: np.ndarray) -> list[np.ndarray]:
    """Lee et al. (2015) DTP update of this network with its own inverses g_l: top target
    ŷ = y + β(t − y) (the circuit's), ĥ_{l−1} = h_{l−1} + g_l(ĥ_l) − g_l(h_l), and
    −∂/∂W_l ½‖f_l(h_{l−1}) − ĥ_l‖² for every layer."""
    hs = _forward(net, x)
    L = len(net.W)
    phi = activation(net.feedback)
    targets = [None] * (L + 1)
    targets[L] = hs[L] + net.beta * (t - hs[L])
    for l in range(L, 1, -1):
        g = lambda h, l=l: phi(h @ net.V[l - 1].T + net.c[l - 1])  # noqa: E731
        targets[l - 1] = hs[l - 1] + g(targets[l]) - g(hs[l])
    out = []
    for l in range(1, L + 1):
        deriv = hs[l] * (1 - hs[l]) if l == L else 1 - hs[l] ** 2
        out.append(((targets[l] - hs[l]) * deriv).T @ hs[l - 1])
    return out


def hidden_rates(net: Network, x: np.ndarray) -> list[np.ndarray]:
    """Steady-state rates of the hidden layers for inputs ``x``."""
    return _forward(net, x)[1:-1]


def angle_degrees(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two arrays seen as vectors (NaN if either is zero)."""
    a, b = np.ravel(a), np.ravel(b)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(a @ b / (na * nb), -1.0, 1.0))))


def inverse_reconstruction_mse(net: Network, x: np.ndarray) -> list[float]:
    """Per hidden layer l: mean ‖g_{l+1}(f_{l+1}(h_l)) − h_l‖² (the short loop's error)."""
    hs = _forward(net, x)
    phi = activation(net.feedback)
    out = []
    for l in range(1, len(net.W)):
        rec = phi(hs[l + 1] @ net.V[l].T + net.c[l])
        out.append(float(np.mean((rec - hs[l]) ** 2)))
    return out
