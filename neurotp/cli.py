"""Command-line entry point: ``neurotp <command> ...``.

Each command lives in its own module under :mod:`neurotp.commands` and exposes
``register(subparsers)``; the module sets ``func`` on its parser. Commands are discovered,
so adding one never edits this file. Heavy imports happen inside the command handlers, which
keeps ``neurotp --help`` fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from neurotp import __version__, commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurotp",
        description="Target-propagation circuits, engines and baselines (Bengio 2014).",
    )
    parser.add_argument("--version", action="version", version=f"neurotp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"neurotp.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        result = args.func(args)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        print("interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
