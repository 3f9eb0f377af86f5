"""``neurotp data list`` / ``neurotp data download NAME [--dir DIR]``."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("data", help="list or download data sets")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION")
    p_list = sub.add_parser("list", help="show where each data set was found")
    p_list.add_argument("--data-dir", default=None, help="extra folder to search first")
    p_list.set_defaults(func=_list)
    p_dl = sub.add_parser("download", help="download and verify the IDX files of a data set")
    p_dl.add_argument("name", choices=["fashion-mnist", "mnist"])
    p_dl.add_argument(
        "--dir", default=None, help="destination folder (default: ~/.cache/neurotp/NAME)"
    )
    p_dl.add_argument("--force", action="store_true", help="download even if present")
    p_dl.set_defaults(func=_download)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _list(args: argparse.Namespace) -> int:
    from neurotp.data.datasets import DATASET_NAMES, DataNotFoundError, find_idx_files

    for name in DATASET_NAMES:
        if name == "digits":
            print(f"{name:14s} built in (scikit-learn load_digits)")
            continue
        try:
            files = find_idx_files(name, args.data_dir)
        except DataNotFoundError as exc:
            first = str(exc).splitlines()
            print(f"{name:14s} NOT FOUND; " + first[-1].strip())
            continue
        print(f"{name:14s} {files['train_images'].parent}")
    return 0


def _download(args: argparse.Namespace) -> int:
    from neurotp.data.download import download

    try:
        files = download(args.name, args.dir, force=args.force)
    except RuntimeError as exc:  # every mirror failed: one line naming them (cli.error_line)
        raise ValueError(str(exc)) from exc
    print(f"{args.name}: {len(files)} files in {next(iter(files.values())).parent}")
    return 0
