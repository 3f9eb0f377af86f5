"""CLI commands, one module each; each module exposes ``register(subparsers)``."""
