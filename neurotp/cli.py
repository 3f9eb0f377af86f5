"""Command-line entry point: ``neurotp <command> ...``.

Each command lives in its own module under :mod:`neurotp.commands` and exposes
``register(subparsers)``; the module sets ``func`` on its parser. Commands are discovered,
so adding one never edits this file. Heavy imports happen inside the command handlers, which
keeps ``neurotp --help`` fast.

Every user error of every command (the package's :data:`USER_ERRORS`) is printed as one
``error: ...`` line on stderr with exit status 2; ``neurotp --debug COMMAND ...`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from neurotp import __version__, commands

# what commands raise for mistakes a user can act on (CircuitError, CircuitFormatError,
# CheckpointError, DataNotFoundError and StateMismatchError are among their subclasses);
# DivergenceError says which population blew up and where the last good checkpoint is
USER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
    ImportError,
)


def error_line(exc: BaseException) -> str:
    """One line saying what went wrong: ``error: <file>: <reason>`` for OS errors."""
    from neurotp.engines.base import DivergenceError

    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    elif isinstance(exc, DivergenceError):
        text = str(exc)
    else:
        text = str(exc) or type(exc).__name__
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return "error: " + "; ".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurotp",
        description="Target-propagation circuits, engines and baselines (Bengio 2014).",
    )
    parser.add_argument("--version", action="version", version=f"neurotp {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (e.g. to report it)"
    )
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
    from neurotp.engines.base import DivergenceError

    try:
        result = args.func(args)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        print("interrupted", file=sys.stderr)
        return 130
    except (*USER_ERRORS, DivergenceError) as exc:
        if args.debug:
            raise
        print(error_line(exc), file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
