"""``neurotp audit CIRCUIT ...``: list every non-local signal a circuit's plasticity uses."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        help="list the non-local signals (ties, index reads, global gates) of circuits",
        description="The locality audit (docs/circuit-format.md, 'Locality'): ties, index reads "
        "of other populations, Oja's non-local sum and global gates of each circuit.",
    )
    p.add_argument("circuits", nargs="+", metavar="CIRCUIT", help="circuit YAML file(s)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a circuit field before auditing (as for neurotp run)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from neurotp.circuit import load_circuit
    from neurotp.circuit.audit import audit, audit_table, summary

    report = {}
    for path in args.circuits:
        circuit = load_circuit(path, args.overrides)
        findings = audit(circuit)
        report[path] = (circuit, findings)
    if args.json:
        payload = {
            path: {
                "circuit": c.name,
                "summary": summary(f),
                "findings": [x.to_dict() for x in f],
            }
            for path, (c, f) in report.items()
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        print("\n\n".join(audit_table(c, f) for c, f in report.values()))
    return 0
