"""Shared helpers for the torch algorithms: activations with closed-form derivatives,
seeded initialisation, device resolution and optimizers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

ACTIVATIONS: tuple[str, ...] = ("tanh", "sigmoid", "relu", "linear", "sign")
OPTIMIZERS: tuple[str, ...] = ("adam", "sgd", "rmsprop")
INITS: tuple[str, ...] = ("glorot", "orthogonal")


@dataclass(frozen=True)
class Activation:
    """An elementwise nonlinearity ``h = fn(a)`` (``fn_`` works in place) and
    ``backward(grad, h) = grad ⊙ fn'(a)`` written in terms of the output ``h``, one fused
    kernel where torch has one (``tanh_backward``, ``sigmoid_backward``,
    ``threshold_backward``). For ``sign`` the derivative is straight-through (1).
    """

    name: str
    fn: Callable[[Tensor], Tensor]
    fn_: Callable[[Tensor], Tensor]
    backward: Callable[[Tensor, Tensor], Tensor]


def _identity(a: Tensor) -> Tensor:
    return a


def _pass_grad(grad: Tensor, h: Tensor) -> Tensor:
    return grad


def _tanh_backward(grad: Tensor, h: Tensor) -> Tensor:
    return torch.ops.aten.tanh_backward(grad, h)


def _sigmoid_backward(grad: Tensor, h: Tensor) -> Tensor:
    return torch.ops.aten.sigmoid_backward(grad, h)


def _relu_backward(grad: Tensor, h: Tensor) -> Tensor:
    return torch.ops.aten.threshold_backward(grad, h, 0)


_TABLE: dict[str, Activation] = {
    "tanh": Activation("tanh", torch.tanh, torch.tanh_, _tanh_backward),
    "sigmoid": Activation("sigmoid", torch.sigmoid, torch.sigmoid_, _sigmoid_backward),
    "relu": Activation("relu", torch.relu, torch.relu_, _relu_backward),
    "linear": Activation("linear", _identity, _identity, _pass_grad),
    "sign": Activation("sign", torch.sign, lambda a: a.sign_(), _pass_grad),
}


def make_activation(name: str) -> Activation:
    """Return the :class:`Activation` called ``name`` (one of :data:`ACTIVATIONS`)."""
    try:
        return _TABLE[name]
    except KeyError:
        raise ValueError(
            f"activation: unknown {name!r}; allowed: {', '.join(ACTIVATIONS)}"
        ) from None


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> cuda if available else cpu; ``"cuda"`` without CUDA raises ``RuntimeError``."""
    if isinstance(device, torch.device):
        dev = device
    elif device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    elif isinstance(device, str) and (device == "cpu" or device.startswith("cuda")):
        dev = torch.device(device)
    else:
        raise ValueError(f"device: unknown {device!r}; allowed: auto, cpu, cuda, cuda:N")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device: {device!r} requested but CUDA is not available on this machine "
            f"(torch {torch.__version__}); use --device cpu or auto"
        )
    return dev


def check_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    """Validate layer sizes ``(n_0, ..., n_L)``: at least two positive ints."""
    try:
        out = tuple(int(s) for s in sizes)
    except (TypeError, ValueError):
        raise ValueError(f"sizes: must be a sequence of positive ints, got {sizes!r}") from None
    if len(out) < 2 or any(s <= 0 for s in out) or any(int(s) != s for s in sizes):
        raise ValueError(f"sizes: need >= 2 positive ints (input ... output), got {sizes!r}")
    return out


def check_sign_layers(sign_layers: Iterable[int], n_layers: int) -> frozenset[int]:
    """Hidden layers ``l`` (1-based, ``1 <= l <= L-1``) whose output is fed on as ``sign(h_l)``."""
    out = frozenset(int(v) for v in sign_layers)
    bad = sorted(v for v in out if not 1 <= v <= n_layers - 1)
    if bad:
        raise ValueError(
            f"sign_layers: {bad} out of range; allowed hidden layers 1..{n_layers - 1}"
        )
    return out


def init_weight(
    fan_out: int,
    fan_in: int,
    generator: torch.Generator,
    scheme: str = "glorot",
    gain: float = 1.0,
) -> Tensor:
    """Seeded weight matrix ``(fan_out, fan_in)`` on the CPU (so every device starts equal)."""
    if scheme == "glorot":
        bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
        u = torch.rand(fan_out, fan_in, generator=generator, dtype=torch.float64)
        return (u * 2 - 1) * bound
    if scheme == "orthogonal":
        a = torch.randn(
            max(fan_out, fan_in), min(fan_out, fan_in), generator=generator, dtype=torch.float64
        )
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r))
        q = q if fan_out >= fan_in else q.T
        return gain * q[:fan_out, :fan_in].contiguous()
    raise ValueError(f"init: unknown {scheme!r}; allowed: {', '.join(INITS)}")


OptimizerFactory = Callable[[list[dict[str, Any]]], torch.optim.Optimizer]


def make_optimizer(
    groups: list[dict[str, Any]],
    name: str | OptimizerFactory,
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
) -> torch.optim.Optimizer:
    """A ``torch.optim`` optimizer over parameter ``groups`` (dicts with ``params`` and, when
    they differ from ``lr`` / ``weight_decay``, their own ``lr`` / ``weight_decay``).

    ``name`` is one of :data:`OPTIMIZERS` (Adam and SGD use the fused kernel where torch has
    one for the device, else the multi-tensor (foreach) version) or any callable taking the
    groups and returning an optimizer, e.g. ``lambda g: torch.optim.SGD(g, lr=0.1)`` or
    ``functools.partial(torch.optim.AdamW, lr=1e-3)``.
    """
    groups = [g for g in groups if g["params"]]
    if callable(name):
        opt = name(groups)
        if not isinstance(opt, torch.optim.Optimizer):
            raise ValueError(
                f"optimizer: the factory returned {type(opt).__name__}, not a torch.optim.Optimizer"
            )
        return opt
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: unknown {name!r}; allowed: {', '.join(OPTIMIZERS)}")
    cls = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop}[name]
    kw: dict[str, Any] = {"lr": lr, "weight_decay": weight_decay}
    if name == "sgd":
        kw["momentum"] = momentum
    if name in ("adam", "sgd"):
        try:
            return cls(groups, fused=True, **kw)
        except (RuntimeError, ValueError, TypeError):
            pass
    return cls(groups, foreach=True, **kw)


def softmax_xent_grad(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Per-example ``d loss / d logits = softmax - onehot`` and the mean cross-entropy."""
    logp = torch.log_softmax(logits, dim=1)
    loss = -logp.gather(1, y[:, None]).mean()
    d = logp.exp_()
    d[torch.arange(len(y), device=y.device), y] -= 1.0
    return d, loss
