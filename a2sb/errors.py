"""Exceptions of the a2sb library: every user-facing failure is one of these, with a one-line message."""

from __future__ import annotations

import sys


class A2SBError(Exception):
    """Base class of the library's errors (CLI: one line on stderr, exit status 2)."""


class InputError(A2SBError):
    """Bad user input: a file, an audio signal or a task parameter that cannot be used."""


class CheckpointError(A2SBError):
    """A checkpoint or partition bundle that is missing, corrupt or does not match."""


def report_error(prog: str, exc: BaseException) -> int:
    """Print the one-line error every CLI of the project uses, ``<prog>: error: <message>``
    (the message names the file first where there is one), and return its exit status, 2."""
    print(f"{prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
    return 2
