"""Create the separate AudioSR environment: ``python -m baselines.audiosr setup-env --prefix DIR``.

Makes a venv at ``DIR`` with the given interpreter and pip-installs
``baselines/audiosr/requirements.txt`` into it (network access to the package index needed;
never run by the tests). Then point the adapter at it with ``A2SB_AUDIOSR_PYTHON=DIR/bin/python``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REQUIREMENTS = Path(__file__).with_name("requirements.txt")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def setup_commands(
    prefix: Path, python: str = sys.executable, torch_index: str | None = None
) -> list[list[str]]:
    """The commands :func:`setup_env` runs, in order."""
    py = str(Path(prefix) / "bin" / "python")
    install = [py, "-m", "pip", "install", "-r", str(REQUIREMENTS)]
    if torch_index:
        install += ["--extra-index-url", torch_index]
    return [
        [python, "-m", "venv", str(prefix)],
        [py, "-m", "pip", "install", "--upgrade", "pip"],
        install,
    ]


def setup_env(prefix: Path, python: str = sys.executable, torch_index: str | None = None) -> Path:
    """Create the environment; returns its python."""
    for cmd in setup_commands(prefix, python, torch_index):
        print("+", " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True)
    return Path(prefix) / "bin" / "python"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m baselines.audiosr")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("setup-env", help="create the AudioSR venv (needs the package index)")
    s.add_argument("--prefix", required=True, help="folder of the new venv, e.g. .venv-audiosr")
    s.add_argument("--python", default=sys.executable, help="interpreter for the venv (3.9-3.11)")
    s.add_argument(
        "--torch-index",
        help=f"extra index for torch wheels, e.g. {CPU_INDEX} on a machine without CUDA",
    )
    s.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    prefix = Path(args.prefix)
    if args.dry_run:
        for cmd in setup_commands(prefix, args.python, args.torch_index):
            print(" ".join(cmd))
        return 0
    try:
        py = setup_env(prefix, args.python, args.torch_index)
    except subprocess.CalledProcessError as exc:
        print(
            f"audiosr setup-env: error: {' '.join(exc.cmd)} failed ({exc.returncode})",
            file=sys.stderr,
        )
        return 2
    print(f"AudioSR environment ready: export A2SB_AUDIOSR_PYTHON={py}", file=sys.stderr)
    return 0
