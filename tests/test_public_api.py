import argparse

import pytest

import neurotp


def test_every_public_name_resolves():
    for name in neurotp.__all__:
        assert getattr(neurotp, name) is not None, name


def _commands() -> dict[str, argparse.ArgumentParser]:
    from neurotp.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_cli_lists_commands():
    """The subcommands themselves, not a word that some help text happens to contain."""
    commands = _commands()
    assert {"run", "train", "compare", "bench", "data", "figures"} <= set(commands)
    from neurotp.cli import build_parser

    text = build_parser().format_help()
    for name in commands:  # each listed in the top-level help as a choice
        assert f"    {name} " in text or f"    {name}\n" in text, name


@pytest.mark.parametrize("name", ["train", "compare", "supervised-tp"])
def test_command_help_runs(name, capsys):
    from neurotp.cli import build_parser

    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([name, "--help"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: neurotp {name}")
