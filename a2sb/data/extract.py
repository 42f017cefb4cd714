"""Safe extraction of zip and tar archives.

Every member is checked before anything is written: absolute names, ``..`` components, NUL
bytes, links (symbolic or hard) that resolve outside the destination, device files and FIFOs
are refused, and so are archives that would expand beyond ``max_bytes`` (declared sizes are
checked up front for zip, as members arrive for tar, and the bytes actually written are
counted as well, so a lying header cannot exceed the cap). Members are extracted into a
temporary directory inside the destination, which is deleted on any failure; only a complete,
checked extraction is moved into place, so a refused archive leaves nothing behind.

Split zip archives (Info-ZIP ``zip -s``: ``NAME.z01`` ... ``NAME.zNN`` then ``NAME.zip``, which
holds the central directory; FSD50K is published so) are read through a merged view of their
segments, with the central directory's per-segment offsets rewritten as ``zip -s 0`` would
(Zip64 included): :func:`safe_extract_split_zip` extracts them with the same checks without
writing a merged copy, :func:`merge_split_zip` writes one.
"""

from __future__ import annotations

import bisect
import io
import json
import os
import re
import shutil
import stat
import struct
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from a2sb.errors import InputError
from a2sb.io.atomic import atomic_write, write_text

MARKER_DIR = ".a2sb-extracted"
_CHUNK = 1 << 20


class UnsafeArchiveError(InputError):
    """An archive that would write outside its destination, or expand beyond the cap."""


class MissingSegmentsError(InputError):
    """A split zip whose earlier segments (``NAME.z01`` ...) are not all there."""


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


def _extract_zip(archive: Path, w: _Writer, source: BinaryIO | None = None) -> None:
    """Extract a zip; ``source`` reads it from a file object (a split zip's merged view)."""
    with zipfile.ZipFile(archive if source is None else source) as zf:
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


def _extract_checked(
    archive: Path, dest: Path, max_bytes: int, run: Callable[[_Writer], None]
) -> list[str]:
    """Run ``run`` into a temporary folder inside ``dest``, move the result into place and
    record ``archive`` (size, mtime) as extracted; nothing is left behind on failure."""
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / f".tmp-extract-{archive.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        w = _Writer(archive, tmp, max_bytes)
        try:
            run(w)
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
    extract = _extract_zip if kind == "zip" else _extract_tar
    return _extract_checked(archive, dest, max_bytes, lambda w: extract(archive, w))


# ------------------------------------------------------------------ split zip archives

_EOCD, _EOCD64, _EOCD64_LOCATOR = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"
_CENTRAL_HEADER = b"PK\x01\x02"
_SPLIT_MARKERS = (b"PK\x07\x08", b"PK00")  # first 4 bytes of a split archive's first segment
_U16, _U32 = 0xFFFF, 0xFFFFFFFF
_CDH = struct.Struct("<4s6H3L5H2L")  # central directory file header (46 bytes)


class _ConcatReader(io.RawIOBase):
    """A read-only, seekable view of byte ranges of files and byte strings, one after another."""

    def __init__(self, pieces: list[tuple[Path | bytes, int, int]]) -> None:
        super().__init__()
        self._pieces = pieces  # (source, start in source, length)
        self._starts = [0]
        for _, _, length in pieces:
            self._starts.append(self._starts[-1] + length)
        self._size, self._pos = self._starts[-1], 0
        self._handles: dict[int, BinaryIO] = {}

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise OSError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer) -> int:  # type: ignore[override]
        view, done = memoryview(buffer).cast("B"), 0
        while done < len(view) and self._pos < self._size:
            i = bisect.bisect_right(self._starts, self._pos) - 1
            source, start, length = self._pieces[i]
            within = self._pos - self._starts[i]
            n = min(len(view) - done, length - within)
            if isinstance(source, bytes):
                data = source[start + within : start + within + n]
            else:
                if i not in self._handles:
                    self._handles[i] = open(source, "rb")
                fh = self._handles[i]
                fh.seek(start + within)
                data = fh.read(n)
                if len(data) != n:
                    raise OSError(f"{source}: file shrank while being read")
            view[done : done + n] = data
            done += n
            self._pos += n
        return done

    def close(self) -> None:
        for fh in self._handles.values():
            fh.close()
        self._handles.clear()
        super().close()


def _read_end_record(head: Path) -> tuple[int, int, int, int, bytes]:
    """``(number of this disk, disk of the central directory, its offset there, its size,
    archive comment)`` from the end record of a split zip's last segment (Zip64 aware)."""
    size = head.stat().st_size
    with open(head, "rb") as f:
        f.seek(max(0, size - (1 << 16) - 22))
        tail = f.read()
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        raise InputError(f"{head}: not a zip archive (no end of central directory record)")
    _, disk, cd_disk, _, entries, cd_size, cd_offset, clen = struct.unpack_from(
        "<4s4H2LH", tail, at
    )
    comment = tail[at + 22 : at + 22 + clen]
    loc = at - 20
    if loc >= 0 and tail[loc : loc + 4] == _EOCD64_LOCATOR:
        _, rec_disk, rec_offset, disks = struct.unpack_from("<4sLQL", tail, loc)
        # the Zip64 end record lives on the last disk (Info-ZIP), i.e. in this segment
        if rec_disk != disks - 1:
            raise InputError(f"{head}: Zip64 end record on another segment is not supported")
        with open(head, "rb") as f:
            f.seek(rec_offset)
            rec = f.read(56)
        if rec[:4] != _EOCD64:
            raise InputError(f"{head}: corrupt Zip64 end of central directory record")
        _, _, _, _, disk, cd_disk, _, entries, cd_size, cd_offset = struct.unpack_from(
            "<4sQ2H2L4Q", rec
        )
    elif _U16 in (disk, cd_disk) or _U32 in (cd_size, cd_offset):
        raise InputError(f"{head}: corrupt zip: Zip64 end record locator missing")
    return disk, cd_disk, cd_offset, cd_size, comment


def split_zip_parts(head: str | Path) -> list[Path]:
    """The segments of a split zip, in order: ``NAME.z01`` ... ``NAME.zNN``, then ``head``
    (``NAME.zip``, whose end record gives the count). Missing segments: one-line error."""
    head = Path(head)
    disk = _read_end_record(head)[0]
    parts = [head.with_suffix(f".z{i:02d}") for i in range(1, disk + 1)] + [head]
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        raise MissingSegmentsError(f"{head}: split zip segment(s) missing: {', '.join(missing)}")
    return parts


def _zip64_fields(extra: bytes) -> tuple[bytes, bytes]:
    """``(Zip64 extended information payload, the other extra fields)`` of an extra block."""
    zip64, others, pos = b"", bytearray(), 0
    while pos + 4 <= len(extra):
        tag, n = struct.unpack_from("<2H", extra, pos)
        if tag == 1:
            zip64 = extra[pos + 4 : pos + 4 + n]
        else:
            others += extra[pos : pos + 4 + n]
        pos += 4 + n
    return zip64, bytes(others)


def _merged_central_directory(
    cd: bytes, disk_starts: list[int], skip: int, where: Path
) -> tuple[bytes, int]:
    """Rewrite a split archive's central directory for one merged file: every entry's
    (disk, offset) becomes one offset into the merged stream (Zip64 where it needs to)."""
    out, pos, count = bytearray(), 0, 0
    while pos < len(cd):
        if cd[pos : pos + 4] != _CENTRAL_HEADER or pos + _CDH.size > len(cd):
            raise InputError(f"{where}: corrupt split zip: bad central directory entry")
        f = list(_CDH.unpack_from(cd, pos))
        nlen, xlen, clen = f[10], f[11], f[12]
        name = cd[pos + 46 : pos + 46 + nlen]
        zip64, others = _zip64_fields(cd[pos + 46 + nlen : pos + 46 + nlen + xlen])
        comment = cd[pos + 46 + nlen + xlen : pos + 46 + nlen + xlen + clen]
        values, at = {}, 0
        for key, width, marker in (("usize", 8, f[9]), ("csize", 8, f[8])):
            if marker == _U32:
                values[key] = zip64[at : at + width]
                at += width
        offset, disk = f[16], f[13]
        if offset == _U32:
            offset = struct.unpack_from("<Q", zip64, at)[0]
            at += 8
        if disk == _U16:
            disk = struct.unpack_from("<L", zip64, at)[0]
        if disk >= len(disk_starts):
            raise InputError(
                f"{where}: corrupt split zip: entry on segment {disk + 1} of {len(disk_starts)}"
            )
        merged = disk_starts[disk] + offset - skip
        payload = values.get("usize", b"") + values.get("csize", b"")
        if merged >= _U32:
            payload += struct.pack("<Q", merged)
        extra = others + (struct.pack("<2H", 1, len(payload)) + payload if payload else b"")
        f[11], f[13], f[16] = len(extra), 0, min(merged, _U32)
        if payload:
            f[2] = max(f[2], 45)  # version needed: Zip64
        out += _CDH.pack(*f) + name + extra + comment
        pos += 46 + nlen + xlen + clen
        count += 1
    return bytes(out), count


def _end_records(entries: int, cd_size: int, cd_offset: int, comment: bytes) -> bytes:
    """End of central directory record (with Zip64 record and locator where needed)."""
    out = b""
    if entries >= _U16 or cd_size >= _U32 or cd_offset >= _U32:
        end64 = cd_offset + cd_size
        out += struct.pack(
            "<4sQ2H2L4Q", _EOCD64, 44, 45, 45, 0, 0, entries, entries, cd_size, cd_offset
        )
        out += struct.pack("<4sLQL", _EOCD64_LOCATOR, 0, end64, 1)
    n16, size32, off32 = min(entries, _U16), min(cd_size, _U32), min(cd_offset, _U32)
    return (
        out + struct.pack("<4s4H2LH", _EOCD, 0, 0, n16, n16, size32, off32, len(comment)) + comment
    )


def open_split_zip(head: str | Path) -> _ConcatReader:
    """A seekable, read-only view of a split zip merged into one ordinary zip archive."""
    parts = split_zip_parts(head)
    head = Path(head)
    sizes = [p.stat().st_size for p in parts]
    disk_starts = [sum(sizes[:i]) for i in range(len(parts))]
    _, cd_disk, cd_offset, cd_size, comment = _read_end_record(head)
    with open(parts[0], "rb") as f:
        skip = 4 if f.read(4) in _SPLIT_MARKERS else 0
    everything = _ConcatReader([(p, 0, n) for p, n in zip(parts, sizes)])
    cd_start = disk_starts[min(cd_disk, len(parts) - 1)] + cd_offset
    with everything:
        everything.seek(cd_start)
        cd = everything.read(cd_size)
    if len(cd) != cd_size:
        raise InputError(f"{head}: corrupt split zip: central directory runs past the last segment")
    new_cd, entries = _merged_central_directory(cd, disk_starts, skip, head)
    pieces: list[tuple[Path | bytes, int, int]] = []
    for part, start, size in zip(parts, disk_starts, sizes):
        lo = skip if start == 0 else 0
        hi = min(size, cd_start - start)
        if hi > lo:
            pieces.append((part, lo, hi - lo))
    tail = new_cd + _end_records(entries, len(new_cd), cd_start - skip, comment)
    pieces.append((tail, 0, len(tail)))
    return _ConcatReader(pieces)


def merge_split_zip(head: str | Path, out: str | Path) -> Path:
    """Merge a split zip into one ordinary zip at ``out``, atomically (``zip -s 0 NAME.zip
    --out OUT``)."""

    def copy(tmp: Path) -> None:
        with open_split_zip(head) as view, open(tmp, "wb") as f:
            shutil.copyfileobj(view, f, 1 << 20)

    return atomic_write(out, copy)


def safe_extract_split_zip(head: str | Path, dest: str | Path, *, max_bytes: int) -> list[str]:
    """:func:`safe_extract` for a split zip given by its last segment ``NAME.zip``: the same
    checks, read through the merged view (no merged copy is written). Idempotent (recorded
    under the last segment's name, size and mtime)."""
    head, dest = Path(head), Path(dest)
    if max_bytes <= 0:
        raise InputError(f"max_bytes must be positive, got {max_bytes}")
    if is_extracted(head, dest):
        return []

    def run(w: _Writer) -> None:
        try:
            view = open_split_zip(head)
        except struct.error:
            raise InputError(f"{head}: corrupt split zip") from None
        with view:
            _extract_zip(head, w, view)

    return _extract_checked(head, dest, max_bytes, run)
