"""Atomic writes: nothing is ever left half-written under a final name.

Every writer of the project goes through :func:`atomic_write`: the content is written to a
temporary file in the target's folder (so the rename stays on one file system), flushed to disk
with ``fsync``, given ordinary permissions (``0666`` minus the umask, where ``mkstemp`` would leave
``0600``), renamed over the target with ``os.replace``, and the folder entry is synced too. A
failure or a kill at any point leaves either the old file or the new one, never a partial one;
the temporary file is removed on failure. :func:`atomic_dir` does the same for a folder built
file by file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import InputError

PathLike = str | os.PathLike[str]


def _ordinary_mode() -> int:
    """``0666`` minus the process umask: the mode ``open()`` would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (not possible on every platform)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def scratch_file(path: PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """A new empty hidden file beside ``path`` (its folder made if missing), removed on exit
    unless it was renamed away: the temporary file of :func:`atomic_write`, and scratch space
    on the target's file system."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: PathLike, write: Callable[[Path], None], *, suffix: str = ".tmp") -> Path:
    """Run ``write(tmp)`` on a temporary file beside ``path``, fsync it, give it ordinary
    permissions and rename it over ``path``. Returns ``path``.

    ``suffix`` ends the temporary name (a writer that infers the format from the extension,
    such as soundfile, needs the real one).
    """
    path = Path(path)
    with scratch_file(path, suffix) as tmp:
        write(tmp)
        os.chmod(tmp, _ordinary_mode())
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    fsync_dir(path.parent)
    return path


def write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""))


def write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_json(
    path: PathLike, data: Mapping[str, Any] | list[Any], *, sort_keys: bool = False
) -> Path:
    """Write ``data`` as indented JSON (one trailing newline) atomically."""
    text = json.dumps(data, indent=2, sort_keys=sort_keys) + "\n"  # fails before writing
    return write_text(path, text)


@contextmanager
def atomic_dir(path: PathLike) -> Iterator[Path]:
    """Build a folder in a temporary sibling and rename it to ``path`` when the block succeeds.

    Yields the temporary folder (``.<name>.tmp`` beside ``path``, emptied first). On success an
    existing ``path`` is replaced; on failure the temporary folder is removed and ``path`` is left
    as it was.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def check_not_inputs(outputs: Iterable[PathLike], inputs: Iterable[PathLike]) -> None:
    """Refuse (one-line :class:`InputError`) any of ``outputs`` that is one of the ``inputs``
    (after resolving links): a command must never write over what it reads."""
    resolved = {Path(source).resolve(): source for source in inputs}
    for output in outputs:
        source = resolved.get(Path(output).resolve())
        if source is not None:
            raise InputError(f"{output}: would overwrite the input {source}")


def check_output_path(path: PathLike) -> Path:
    """Check, before any work, that a file can be created at ``path``: not an existing folder,
    no existing file where a parent folder must be, the nearest existing parent writable.
    One-line :class:`InputError` otherwise; returns ``path`` as a ``Path``."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an output file")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{path}: cannot be created, {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{path}: cannot be created, the folder {parent} is not writable")
    return path
