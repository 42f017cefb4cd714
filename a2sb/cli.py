"""The ``a2sb`` command: restore, convert-checkpoint, train, bundle and data sub-commands.

Every failure the user can fix is reported as one line ``a2sb: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from .allocator import keep_freed_blocks
from .errors import A2SBError, report_error

#: the distribution's name in pyproject.toml (``[project] name``)
DISTRIBUTION = "a2sb-repro"

# Modules that contribute sub-commands through ``register_cli(subparsers)``.
COMMAND_MODULES = (
    "a2sb.restore_cli",
    "a2sb.convert",
    "a2sb.training.cli",
    "a2sb.data.cli",
)


def package_version() -> str:
    """The installed distribution's version, else (a checkout on ``sys.path``) ``a2sb.__version__``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        from . import __version__

        return __version__


def add_version(parser: argparse.ArgumentParser) -> None:
    """``--version``: print ``<prog> <version>`` and exit 0 (every CLI of the project)."""
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {package_version()}",
        help="print the program's version and exit",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="a2sb", description="A2SB: audio restoration with Schroedinger bridges (reproduction)."
    )
    add_version(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise  # a missing dependency inside the module is a real error
            continue  # that part of the library is not installed in this checkout
        module.register_cli(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except A2SBError as exc:
        return report_error("a2sb", exc)
    except KeyboardInterrupt:
        print("a2sb: interrupted", file=sys.stderr)
        return 130


#: sub-commands whose process keeps freed blocks in the C heap (:mod:`a2sb.allocator`)
KEEP_FREED_COMMANDS = ("train",)


def run_program(entry: Callable[[], int], argv: Sequence[str] | None = None) -> NoReturn:
    """A command's process: for training, the C heap set up to keep freed blocks
    (:mod:`a2sb.allocator`); then ``entry``'s exit status. ``argv``: the command line after
    the program's name (``sys.argv[1:]``)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in KEEP_FREED_COMMANDS:
        keep_freed_blocks()
    sys.exit(entry())


def run() -> NoReturn:
    """The ``a2sb`` program (console script, ``python -m a2sb``)."""
    run_program(main)


if __name__ == "__main__":
    run()
