"""Hashing and provenance: file and config digests, the git state of the code, package versions.

Every checkpoint sidecar, run summary and result table records these, so a number can be traced
to the code, the config, the data and the weights that made it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

#: The folder holding the project's packages (the git work tree of an editable install).
PROJECT_ROOT = Path(__file__).resolve().parents[2]

#: Packages whose versions a checkpoint or a result records.
CORE_PACKAGES = ("a2sb-repro", "torch", "numpy", "safetensors", "soundfile", "soxr")


class GitState(NamedTuple):
    """``commit`` (None outside a git work tree) and ``dirty`` (tracked files differ from it)."""

    commit: str | None
    dirty: bool | None


def file_sha256(path: str | os.PathLike[str], chunk_bytes: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def _canonical_json(data: Any) -> str:
    """The JSON text that :func:`config_hash` digests: sorted keys, no spaces."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def config_hash(data: Any) -> str:
    """sha256 of ``data`` as canonical JSON (key order and formatting do not matter)."""
    return hashlib.sha256(_canonical_json(data).encode()).hexdigest()


@functools.lru_cache(maxsize=8)
def git_state(repo_dir: str | os.PathLike[str] | None = None) -> GitState:
    """The git commit and dirty flag (untracked files do not count) of ``repo_dir``, by default
    the work tree holding this package; ``(None, None)`` outside git or without git. Read once
    per process (the code a process runs is what it loaded), so a run's step checkpoints do not
    call git again."""
    cwd = Path(repo_dir) if repo_dir is not None else PROJECT_ROOT

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=20, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if not commit:
        return GitState(None, None)
    status = git("status", "--porcelain", "--untracked-files=no")
    return GitState(commit, bool(status) if status is not None else None)


def package_versions(names: Iterable[str] = CORE_PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution (None when not installed)."""
    return dict(_versions(tuple(names)))


@functools.lru_cache(maxsize=8)
def _versions(names: tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return tuple(out.items())


def hash_files(paths: Iterable[str | os.PathLike[str]]) -> dict[str, str]:
    """``{path: sha256}`` of the files that exist among ``paths``."""
    return {str(p): file_sha256(p) for p in paths if Path(p).is_file()}
