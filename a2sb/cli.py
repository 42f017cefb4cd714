"""The ``a2sb`` command: restore, convert-checkpoint, train, bundle and data sub-commands.

Every failure the user can fix is reported as one line ``a2sb: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .errors import A2SBError, report_error

# Modules that contribute sub-commands through ``register_cli(subparsers)``.
COMMAND_MODULES = (
    "a2sb.restore_cli",
    "a2sb.convert",
    "a2sb.training.cli",
    "a2sb.data.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="a2sb", description="A2SB: audio restoration with Schroedinger bridges (reproduction)."
    )
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


if __name__ == "__main__":
    sys.exit(main())
