import neurotp


def test_every_public_name_resolves():
    for name in neurotp.__all__:
        assert getattr(neurotp, name) is not None, name


def test_cli_lists_commands():
    from neurotp.cli import build_parser

    text = build_parser().format_help()
    for cmd in ("run", "train", "bench", "data"):
        assert cmd in text
