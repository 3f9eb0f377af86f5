"""BP with a circuit's optimiser, on the circuits' validation split: a 784-k-10 (any size)
tanh network trained by plain SGD (or Adam) on mini-batches, the rate multiplied by ``decay``
after each epoch, as ``protocol.lr_decay`` does for a circuit; sigmoid outputs with binary
cross-entropy (``bce``: the loss the difference-target circuits' output rule follows) or
softmax cross-entropy (``ce``). The validation split is the circuits' own
(``load_dataset(validation=...)``, seed 0); the test split is never scored.

    python sweeps/calibrate_bp_sgd.py 0.2:bce:sgd 0.5:bce:sgd 0.001:ce:adam
        [--dataset fashion-mnist] [--hidden 64] [--epochs 10] [--batch 32] [--decay 0.8]

Each RATE:LOSS:OPTIMISER prints one JSON line: the validation accuracy after each epoch.
"""

from __future__ import annotations

import argparse
import json
import sys

LOSSES, OPTIMISERS = ("bce", "ce"), ("sgd", "adam")


def parse_spec(spec: str) -> tuple[float, str, str]:
    """'0.2:bce:sgd' → (0.2, 'bce', 'sgd'), each part checked."""
    parts = spec.split(":")
    if len(parts) != 3:
        raise ValueError(f"{spec!r}: expected RATE:LOSS:OPTIMISER, e.g. 0.2:bce:sgd")
    rate, loss, opt = parts
    try:
        lr = float(rate)
    except ValueError:
        raise ValueError(f"{spec!r}: the rate {rate!r} is not a number") from None
    if not lr > 0:
        raise ValueError(f"{spec!r}: the rate must be positive")
    if loss not in LOSSES:
        raise ValueError(f"{spec!r}: loss {loss!r}; allowed: {', '.join(LOSSES)}")
    if opt not in OPTIMISERS:
        raise ValueError(f"{spec!r}: optimiser {opt!r}; allowed: {', '.join(OPTIMISERS)}")
    return lr, loss, opt


def train(data, lr, loss, opt, hidden=64, epochs=10, batch=32, decay=0.8, seed=0):
    """Validation accuracy (%) after each epoch."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    xt, yt = torch.tensor(data.x_train), torch.tensor(data.y_train)
    xv, yv = torch.tensor(data.x_val), torch.tensor(data.y_val)
    k = data.n_classes
    net = torch.nn.Sequential(
        torch.nn.Linear(xt.shape[1], hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, k)
    )
    make = torch.optim.SGD if opt == "sgd" else torch.optim.Adam
    optimiser = make(net.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    vals = []
    for epoch in range(epochs):
        for group in optimiser.param_groups:
            group["lr"] = lr * decay**epoch
        perm = torch.randperm(len(xt), generator=order)
        for i in range(0, len(xt), batch):
            idx = perm[i : i + batch]
            out = net(xt[idx])
            if loss == "ce":
                value = F.cross_entropy(out, yt[idx])
            else:
                value = F.binary_cross_entropy_with_logits(out, F.one_hot(yt[idx], k).float())
            optimiser.zero_grad()
            value.backward()
            optimiser.step()
        with torch.no_grad():
            vals.append(round(100 * (net(xv).argmax(1) == yv).float().mean().item(), 2))
    return vals


def main(argv: list[str] | None = None) -> int:
    import torch

    from neurotp.data import load_dataset

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("specs", nargs="+", metavar="RATE:LOSS:OPTIMISER")
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--n-train", type=int, default=None)
    ap.add_argument("--validation", type=float, default=0.1)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--decay", type=float, default=0.8)
    args = ap.parse_args(argv)
    try:
        specs = [parse_spec(s) for s in args.specs]
    except ValueError as exc:
        ap.error(str(exc))
    torch.set_num_threads(1)
    data = load_dataset(args.dataset, n_train=args.n_train, validation=args.validation)
    for lr, loss, opt in specs:
        vals = train(data, lr, loss, opt, args.hidden, args.epochs, args.batch, args.decay)
        print(json.dumps({"lr": lr, "loss": loss, "optimiser": opt, "validation_accuracy": vals}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
