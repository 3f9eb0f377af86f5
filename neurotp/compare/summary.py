"""Summary and report of a ``neurotp compare`` result: the per-method summary, the markdown
table (the README's compare table) and the written outputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from neurotp.compare.temporal import RUN_PREFIX


def _averaged(alignment: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The epochs whose angles are averaged: 2..end, or epoch 1 when it is the only one."""
    return alignment[1:] or alignment


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, rs in runs.items():
        final = np.array([r["curve"][-1][1] for r in rs])
        row: dict[str, Any] = {
            "final_test_accuracy_mean": float(final.mean()),
            "final_test_accuracy_std": float(final.std()),
            "samples_seen": rs[0]["curve"][-1][0],
            "seconds_mean": float(np.mean([r["seconds"] for r in rs])),
        }
        if rs[0].get("alignment"):
            # average over epochs after the first (the only one if there is one), then seeds
            for key in ("vs_bp", "vs_dtp", "dtp_vs_bp", "saturated"):
                per_seed = [
                    np.nanmean([a[key] for a in _averaged(r["alignment"])], axis=0) for r in rs
                ]
                row[f"angle_{key}_mean"] = np.mean(per_seed, axis=0).tolist()
                row[f"angle_{key}_std"] = np.std(per_seed, axis=0).tolist()
            if rs[0]["reconstruction_mse"]:
                rec = [r["reconstruction_mse"][-1] for r in rs]
                row["final_reconstruction_mse_mean"] = np.mean(rec, axis=0).tolist()
        if "layers_shared" in rs[0]:
            row["layers_shared_with_circuit_init"] = rs[0]["layers_shared"]
        out[name] = row
    return out


LABELS = {
    "circuit": "circuit (prediction + reconstruction rules)",
    "circuit_frozen_hidden": "circuit, hidden plasticity off (control)",
    "bp": "BP",
    "fa": "FA",
    "tp": "TP",
    "dtp": "DTP",
    "alg5": "Algorithm 5",
}


def label(name: str) -> str:
    """The row label of run ``name`` (``temporal:NAME`` for a section-8-in-time circuit)."""
    if name.startswith(RUN_PREFIX):
        return f"{name[len(RUN_PREFIX) :]} (section 8 in time)"
    return LABELS.get(name, name)


def markdown_table(result: dict[str, Any]) -> str:
    s = result["summary"]
    n_layers = len(result["sizes"]) - 1
    lines = [
        f"### digits {result['arch']} — {len(result['seeds'])} seeds, {result['epochs']} epochs",
        "",
        "| method | test accuracy (%) | samples seen | angle to BP per layer (°) "
        "| angle to DTP per layer (°) | hidden short-loop reconstruction MSE |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in s.items():
        mean, std = 100 * row["final_test_accuracy_mean"], 100 * row["final_test_accuracy_std"]
        acc = f"{mean:.2f} ± {std:.2f}"
        if "angle_vs_bp_mean" in row:
            bp = ", ".join(
                f"{m:.1f} ± {d:.1f}"
                for m, d in zip(row["angle_vs_bp_mean"], row["angle_vs_bp_std"], strict=True)
            )
            dtp = ", ".join(
                f"{m:.1f} ± {d:.1f}"
                for m, d in zip(row["angle_vs_dtp_mean"], row["angle_vs_dtp_std"], strict=True)
            )
            rec = ", ".join(f"{v:.4f}" for v in row.get("final_reconstruction_mse_mean", []))
            rec = rec or "—"
        else:
            bp = dtp = rec = "—"
        text = label(name)
        if row.get("layers_shared_with_circuit_init", n_layers) < n_layers:
            text += (
                f" (first {row['layers_shared_with_circuit_init']} layers from the circuit's init)"
            )
        lines.append(f"| {text} | {acc} | {row['samples_seen']} | {bp} | {dtp} | {rec} |")
    lines.append("")
    epochs = "epochs 2..end" if result["epochs"] > 1 else "epoch 1 (the only one)"
    lines.append(f"Angles: layer 1 first; mean over {epochs}, then mean ± std over seeds.")
    c = s.get("circuit", {})
    if "angle_dtp_vs_bp_mean" in c:
        ref = ", ".join(f"{m:.1f}" for m in c["angle_dtp_vs_bp_mean"])
        sat = ", ".join(f"{100 * m:.0f} %" for m in c["angle_saturated_mean"])
        lines.append(
            f"Reference on the circuit's own network: the DTP update (with φ′) is {ref}° from "
            f"the BP gradient; hidden rates with |h| > 0.99: {sat}."
        )
    for name in result.get("temporal", []):
        row = s.get(RUN_PREFIX + name, {})
        if "angle_dtp_vs_bp_mean" in row:
            ref = ", ".join(f"{m:.1f}" for m in row["angle_dtp_vs_bp_mean"])
            sat = ", ".join(f"{100 * m:.0f} %" for m in row["angle_saturated_mean"])
            lines.append(
                f"{name} (its own initial weights and protocol): its update is its forward "
                "rules' ΔW over the probe batch; its DTP reference takes g from its feedback "
                f"into the hidden compartments. DTP is {ref}° from BP on its network; hidden "
                f"rates with |h| > 0.99: {sat}."
            )
    return "\n".join(lines)
