"""Safe extraction of zip and tar archives.

Every member is checked before anything is written: absolute names, ``..`` components, NUL
bytes, links (symbolic or hard) that resolve outside the destination, device files and FIFOs
are refused, and so are archives that would expand beyond ``max_bytes`` (declared sizes are
checked up front for zip, as members arrive for tar, and the bytes actually written are
counted as well, so a lying header cannot exceed the cap). Members are extracted into a
temporary directory inside the destination, which is deleted on any failure; only a complete,
checked extraction is moved into place, so a refused archive leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from a2sb.errors import InputError
from a2sb.io.atomic import write_text

MARKER_DIR = ".a2sb-extracted"
_CHUNK = 1 << 20


class UnsafeArchiveError(InputError):
    """An archive that would write outside its destination, or expand beyond the cap."""


def archive_kind(path: Path) -> str:
    """``zip`` or ``tar`` from the file's content (not its name)."""
    if zipfile.is_zipfile(path):
        return "zip"
    if tarfile.is_tarfile(path):
        return "tar"
    raise InputError(f"{path}: not a zip or tar archive")


def _member_parts(archive: Path, name: str) -> tuple[str, ...]:
    """Validated path components of a member name (empty for the archive's root entry)."""
    if "\x00" in name:
        raise UnsafeArchiveError(f"{archive}: refusing to extract: member {name!r} has a NUL byte")
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        raise UnsafeArchiveError(
            f"{archive}: refusing to extract: member {name!r} is an absolute path"
        )
    parts = tuple(p for p in PurePosixPath(norm).parts if p not in ("", "."))
    if ".." in parts:
        raise UnsafeArchiveError(f"{archive}: refusing to extract: member {name!r} contains '..'")
    return parts


def _inside(root_real: str, path: str) -> bool:
    return path == root_real or path.startswith(root_real + os.sep)


class _Writer:
    """Writes checked members below ``tmp`` and counts the bytes against the cap."""

    def __init__(self, archive: Path, tmp: Path, max_bytes: int) -> None:
        self.archive, self.tmp, self.max_bytes = archive, tmp, max_bytes
        self.root_real = os.path.realpath(tmp)
        self.written = 0
        self.names: list[str] = []

    def _target(self, name: str, parts: tuple[str, ...]) -> Path:
        target = self.tmp.joinpath(*parts)
        parent_real = os.path.realpath(target.parent)
        if not _inside(self.root_real, parent_real):
            raise UnsafeArchiveError(
                f"{self.archive}: refusing to extract: member {name!r} would be written through a link outside the destination"
            )
        if target.is_symlink():
            target.unlink()
        return target

    def check_declared(self, name: str, size: int, total: int) -> None:
        if total > self.max_bytes:
            raise UnsafeArchiveError(
                f"{self.archive}: refusing to extract: expands beyond the cap of {self.max_bytes} bytes "
                f"(at member {name!r}, {total} bytes declared)"
            )

    def directory(self, name: str, parts: tuple[str, ...]) -> None:
        if parts:
            target = self._target(name, parts)
            target.mkdir(parents=True, exist_ok=True)

    def file(self, name: str, parts: tuple[str, ...], src: BinaryIO, declared: int) -> None:
        target = self._target(name, parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        count = 0
        with open(target, "wb") as out:
            while chunk := src.read(_CHUNK):
                count += len(chunk)
                self.written += len(chunk)
                if count > declared or self.written > self.max_bytes:
                    raise UnsafeArchiveError(
                        f"{self.archive}: refusing to extract: member {name!r} expands beyond its declared size or the cap of {self.max_bytes} bytes"
                    )
                out.write(chunk)
        self.names.append("/".join(parts))

    def symlink(self, name: str, parts: tuple[str, ...], link_target: str) -> None:
        if not parts:
            raise UnsafeArchiveError(
                f"{self.archive}: refusing to extract: link member {name!r} has no name"
            )
        if (
            os.path.isabs(link_target)
            or re.match(r"^[A-Za-z]:", link_target)
            or "\x00" in link_target
        ):
            raise UnsafeArchiveError(
                f"{self.archive}: refusing to extract: link {name!r} -> {link_target!r} is absolute"
            )
        base = self.tmp.joinpath(*parts[:-1])
        lexical = os.path.normpath(os.path.join(self.root_real, *parts[:-1], link_target))
        resolved = os.path.realpath(os.path.join(base, link_target))
        if not (_inside(self.root_real, lexical) and _inside(self.root_real, resolved)):
            raise UnsafeArchiveError(
                f"{self.archive}: refusing to extract: link {name!r} -> {link_target!r} escapes the destination"
            )
        target = self._target(name, parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink()
        os.symlink(link_target, target)
        self.names.append("/".join(parts))

    def hardlink(self, name: str, parts: tuple[str, ...], link_name: str) -> None:
        src_parts = _member_parts(self.archive, link_name)
        src = self.tmp.joinpath(*src_parts)
        src_real = os.path.realpath(src)
        if not src_parts or not _inside(self.root_real, src_real) or not os.path.isfile(src_real):
            raise UnsafeArchiveError(
                f"{self.archive}: refusing to extract: hard link {name!r} -> {link_name!r} escapes the destination or has no target"
            )
        size = os.path.getsize(src_real)
        self.written += size
        if self.written > self.max_bytes:
            raise UnsafeArchiveError(
                f"{self.archive}: refusing to extract: expands beyond the cap of {self.max_bytes} bytes"
            )
        target = self._target(name, parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src_real, target)
        self.names.append("/".join(parts))


def _extract_tar(archive: Path, w: _Writer) -> None:
    declared = 0
    with tarfile.open(archive, mode="r:*") as tar:
        for m in tar:
            parts = _member_parts(archive, m.name)
            if m.ischr() or m.isblk() or m.isfifo() or m.isdev():
                raise UnsafeArchiveError(
                    f"{archive}: refusing to extract: member {m.name!r} is a device or FIFO"
                )
            if m.isdir():
                w.directory(m.name, parts)
            elif m.issym():
                w.symlink(m.name, parts, m.linkname)
            elif m.islnk():
                w.hardlink(m.name, parts, m.linkname)
            elif m.isreg():
                declared += m.size
                w.check_declared(m.name, m.size, declared)
                src = tar.extractfile(m)
                if src is None:
                    raise UnsafeArchiveError(f"{archive}: cannot read member {m.name!r}")
                with src:
                    w.file(m.name, parts, src, m.size)
            else:
                raise UnsafeArchiveError(
                    f"{archive}: refusing to extract: member {m.name!r} has an unsupported type"
                )


def _extract_zip(archive: Path, w: _Writer) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        total = 0
        for info in infos:  # everything is checked before the first byte is written
            _member_parts(archive, info.filename)
            mode = (info.external_attr >> 16) & 0xFFFF
            if mode and (
                stat.S_ISCHR(mode)
                or stat.S_ISBLK(mode)
                or stat.S_ISFIFO(mode)
                or stat.S_ISSOCK(mode)
            ):
                raise UnsafeArchiveError(
                    f"{archive}: refusing to extract: member {info.filename!r} is a device or FIFO"
                )
            total += info.file_size
            w.check_declared(info.filename, info.file_size, total)
        for info in infos:
            parts = _member_parts(archive, info.filename)
            mode = (info.external_attr >> 16) & 0xFFFF
            if info.is_dir():
                w.directory(info.filename, parts)
            elif mode and stat.S_ISLNK(mode):
                if info.file_size > 4096:
                    raise UnsafeArchiveError(
                        f"{archive}: refusing to extract: link {info.filename!r} has an oversized target"
                    )
                target = zf.read(info).decode("utf-8", errors="strict")
                w.symlink(info.filename, parts, target)
            else:
                with zf.open(info) as src:
                    w.file(info.filename, parts, src, info.file_size)


def _merge_move(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``: directories are merged, files and links replace files and links
    (re-extracting a re-downloaded archive); a file/directory clash is an error."""
    if not dst.exists() and not dst.is_symlink():
        os.replace(src, dst)
        return
    src_dir = src.is_dir() and not src.is_symlink()
    dst_dir = dst.is_dir() and not dst.is_symlink()
    if src_dir and dst_dir:
        for child in sorted(src.iterdir()):
            _merge_move(child, dst / child.name)
        src.rmdir()
        return
    if not src_dir and not dst_dir:
        os.replace(src, dst)
        return
    kind = "directory" if dst_dir else "file"
    raise InputError(f"{dst}: already exists as a {kind}; remove it to extract again")


def _marker(dest: Path, archive: Path) -> Path:
    return dest / MARKER_DIR / f"{archive.name}.json"


def is_extracted(archive: Path, dest: Path) -> bool:
    """Whether ``archive`` (same size and mtime) was already extracted into ``dest``."""
    marker = _marker(dest, archive)
    if not marker.exists():
        return False
    try:
        info = json.loads(marker.read_text())
        st = archive.stat()
    except (OSError, ValueError):
        return False
    return info.get("size") == st.st_size and info.get("mtime_ns") == st.st_mtime_ns


def safe_extract(archive: str | Path, dest: str | Path, *, max_bytes: int) -> list[str]:
    """Extract ``archive`` (zip or any tar) into ``dest`` safely; return the member paths.

    Idempotent: an archive already extracted into ``dest`` (see :func:`is_extracted`) is
    skipped and ``[]`` returned. Raises :class:`UnsafeArchiveError` on a refused archive.
    """
    archive, dest = Path(archive), Path(dest)
    if max_bytes <= 0:
        raise InputError(f"max_bytes must be positive, got {max_bytes}")
    if is_extracted(archive, dest):
        return []
    kind = archive_kind(archive)
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / f".tmp-extract-{archive.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        w = _Writer(archive, tmp, max_bytes)
        try:
            (_extract_zip if kind == "zip" else _extract_tar)(archive, w)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, UnicodeDecodeError) as exc:
            raise InputError(f"{archive}: corrupt archive: {exc}") from None
        for child in sorted(tmp.iterdir()):
            _merge_move(child, dest / child.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    st = archive.stat()
    record = {
        "archive": archive.name,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "members": len(w.names),
    }
    write_text(_marker(dest, archive), json.dumps(record))
    return w.names
