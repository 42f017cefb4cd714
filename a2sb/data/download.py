"""Verified, resumable HTTP(S) downloads and ``fetch_dataset`` for registry entries.

:func:`download` streams a URL to ``<dest>.part``, resumes an interrupted transfer with a
``Range`` request, retries transient failures (connection errors, short reads, HTTP 408/429/5xx)
with exponential backoff, checks the size and the published checksum (md5, sha1 or sha256), and
only then renames the file into place (atomic). A size or checksum mismatch deletes the partial
file and raises :class:`DownloadError` naming the file, the expected and the actual value. A
verified file is recorded in ``<dest>.verified`` (size, mtime, digest), so a second run does
nothing without re-hashing.

Layout made by :func:`fetch_dataset` under ``ROOT/<name>/``: ``downloads/`` (archives as
published) and ``raw/`` (extracted archives merged, plain files copied; licence metadata paths in
the registry are relative to ``raw/``). A split zip set (``NAME.zip`` with ``NAME.z01`` ...,
FSD50K) is extracted once all its segments are downloaded, read as one merged archive.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from a2sb.errors import A2SBError, InputError
from a2sb.io.atomic import write_text
from a2sb.io.provenance import file_sha256

from .extract import (
    MissingSegmentsError,
    safe_extract,
    safe_extract_split_zip,
    split_zip_parts,
)
from .registry import Checksum, Dataset, RemoteFile

USER_AGENT = "a2sb-repro/0.1 (+https://github.com/NVIDIA/diffusion-audio-restoration reproduction)"
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
DEFAULT_EXTRACT_RATIO = 20
MIN_EXTRACT_CAP = 1 << 30
_CHUNK = 1 << 20


class DownloadError(A2SBError):
    """A download that failed for good (after retries) or did not verify."""


class _Retryable(Exception):
    pass


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def new_hasher(algorithm: str) -> hashlib._Hash:
    """A hashlib object for ``md5``, ``sha1`` or ``sha256``."""
    if algorithm not in ("md5", "sha1", "sha256"):
        raise InputError(f"unsupported checksum algorithm {algorithm!r} (md5, sha1, sha256)")
    return hashlib.new(algorithm)


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file: sha256 by the project's :func:`~a2sb.io.provenance.file_sha256`,
    md5 and sha1 (published checksums of some datasets) by :func:`hashlib.file_digest`."""
    if algorithm == "sha256":
        return file_sha256(path)
    new_hasher(algorithm)  # rejects an unsupported algorithm
    with open(path, "rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


@dataclass
class DownloadResult:
    """What :func:`download` did: ``downloaded``, ``resumed`` or ``present`` (nothing to do)."""

    path: Path
    status: str
    bytes_transferred: int = 0
    digest: str | None = None
    verified: bool = False


def _stamp_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".verified")


def _read_stamp(dest: Path) -> dict | None:
    try:
        return json.loads(_stamp_path(dest).read_text())
    except (OSError, ValueError):
        return None


def _write_stamp(dest: Path, checksum: Checksum | None, digest: str | None) -> None:
    st = dest.stat()
    data = {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "algorithm": checksum.algorithm if checksum else None,
        "value": digest,
    }
    write_text(_stamp_path(dest), json.dumps(data))


def _check_existing(
    dest: Path, checksum: Checksum | None, expected_size: int | None
) -> DownloadResult:
    st = dest.stat()
    if expected_size is not None and st.st_size != expected_size:
        raise DownloadError(
            f"{dest}: existing file has {st.st_size} bytes, expected {expected_size}; delete it to download again"
        )
    if checksum is None or checksum.value is None:
        return DownloadResult(dest, "present", verified=False)
    stamp = _read_stamp(dest)
    if (
        stamp
        and stamp.get("size") == st.st_size
        and stamp.get("mtime_ns") == st.st_mtime_ns
        and stamp.get("algorithm") == checksum.algorithm
        and stamp.get("value") == checksum.value
    ):
        return DownloadResult(dest, "present", digest=checksum.value, verified=True)
    digest = file_digest(dest, checksum.algorithm)
    if digest != checksum.value:
        raise DownloadError(
            f"{dest}: existing file fails {checksum.algorithm} verification (expected {checksum.value}, got {digest}); delete it to download again"
        )
    _write_stamp(dest, checksum, digest)
    return DownloadResult(dest, "present", digest=digest, verified=True)


def _content_range_start(value: str | None) -> int | None:
    # "bytes 100-199/200"
    if not value or not value.startswith("bytes "):
        return None
    try:
        return int(value[6:].split("-", 1)[0])
    except ValueError:
        return None


def _progress(total: int | None, initial: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=desc,
        disable=not enabled,
        leave=False,
        file=sys.stderr,
    )


def _transfer(
    url: str,
    part: Path,
    expected_size: int | None,
    timeout: float,
    progress: bool,
    desc: str,
) -> tuple[int, bool]:
    """One HTTP attempt appending to ``part``; returns (bytes received, resumed?)."""
    offset = part.stat().st_size if part.exists() else 0
    if expected_size is not None and offset > expected_size:
        part.unlink()
        offset = 0
    if expected_size is not None and offset == expected_size and offset > 0:
        return 0, True
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    req = urllib.request.Request(url, headers=headers)
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            return 0, True  # the part is already complete (or the server disagrees: verified next)
        if exc.code in RETRY_STATUS:
            raise _Retryable(f"HTTP {exc.code} {exc.reason}") from None
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise _Retryable(str(getattr(exc, "reason", exc))) from None
    with resp:
        status = getattr(resp, "status", 200)
        resumed = False
        content_range = resp.headers.get("Content-Range")
        if status == 206 and _content_range_start(content_range) != offset:
            part.unlink(missing_ok=True)  # a range we did not ask for: start over
            raise _Retryable(f"unexpected Content-Range {content_range!r}")
        if offset and status == 206:
            mode, resumed = "ab", True
        else:
            mode, offset = "wb", 0  # server ignored the range: start over
        length_header = resp.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        total = offset + length if length is not None else expected_size
        received = 0
        with open(part, mode) as f, _progress(total, offset, desc, progress) as bar:
            while True:
                try:
                    chunk = resp.read(_CHUNK)
                except (http.client.HTTPException, OSError) as exc:
                    f.flush()
                    raise _Retryable(
                        f"transfer interrupted after {offset + received} bytes: {exc}"
                    ) from None
                if not chunk:
                    break
                f.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
            f.flush()
            os.fsync(f.fileno())
        if length is not None and received < length:
            raise _Retryable(
                f"connection closed after {offset + received} of {offset + length} bytes"
            )
    return received, resumed


def download(
    url: str,
    dest: str | Path,
    *,
    checksum: Checksum | None = None,
    expected_size: int | None = None,
    retries: int = 5,
    backoff: float = 1.0,
    max_backoff: float = 60.0,
    timeout: float = 60.0,
    progress: bool = True,
    log: Callable[[str], None] = _stderr,
    sleep: Callable[[float], None] = time.sleep,
) -> DownloadResult:
    """Download ``url`` to ``dest`` (resume, retry, verify, atomic rename); idempotent."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        return _check_existing(dest, checksum, expected_size)
    if checksum is not None and checksum.value is None:
        raise InputError(f"{dest.name}: checksum from {checksum.list_file} was not resolved")
    part = dest.with_name(dest.name + ".part")
    attempt, transferred, any_resumed = 0, 0, False
    while True:
        try:
            received, resumed = _transfer(url, part, expected_size, timeout, progress, dest.name)
            transferred += received
            any_resumed |= resumed
            break
        except _Retryable as exc:
            attempt += 1
            if attempt > retries:
                raise DownloadError(
                    f"{url}: giving up after {retries} retries: {exc} (partial file kept for resuming: {part})"
                ) from None
            delay = min(max_backoff, backoff * 2 ** (attempt - 1))
            log(f"a2sb: {dest.name}: {exc}; retry {attempt}/{retries} in {delay:g} s")
            sleep(delay)
    size = part.stat().st_size if part.exists() else 0
    if expected_size is not None and size != expected_size:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{dest.name}: size mismatch: expected {expected_size} bytes, got {size}; partial file deleted"
        )
    digest = None
    if checksum is not None:
        digest = file_digest(part, checksum.algorithm)
        if digest != checksum.value:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{dest.name}: {checksum.algorithm} mismatch: expected {checksum.value}, got {digest}; partial file deleted"
            )
    os.replace(part, dest)
    _write_stamp(dest, checksum, digest)
    return DownloadResult(
        dest, "resumed" if any_resumed else "downloaded", transferred, digest, checksum is not None
    )


def parse_checksum_list(path: str | Path, algorithm: str) -> dict[str, str]:
    """``{filename: hex}`` from a ``<hex> <name>`` list (sha256sum style; ``*name`` accepted)."""
    width = {"md5": 32, "sha1": 40, "sha256": 64}[algorithm]
    out: dict[str, str] = {}
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        tokens = line.split()
        if not tokens or line.lstrip().startswith("#"):
            continue
        hexes = [
            t for t in tokens if len(t) == width and all(c in "0123456789abcdefABCDEF" for c in t)
        ]
        names = [t.lstrip("*") for t in tokens if t not in hexes]
        if len(hexes) != 1 or len(names) != 1:
            raise InputError(f"{path}:{lineno}: not a '<{algorithm}> <filename>' line")
        out[Path(names[0]).name] = hexes[0].lower()
    return out


@dataclass
class FetchReport:
    """Outcome of :func:`fetch_dataset` for one dataset."""

    dataset: str
    downloaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    extracted: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    manual: str | None = None


def manual_message(ds: Dataset, root: Path) -> str:
    """What to do by hand for a manual dataset, and where to put the files."""
    assert ds.manual is not None
    place = ds.manual.place_files.replace("{root}", str(root))
    return f"{ds.name}: manual download ({ds.manual.reason}): {ds.manual.instructions} Put the files in: {place}"


def _place_plain(src: Path, dst: Path) -> None:
    if dst.exists():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def fetch_dataset(
    ds: Dataset,
    root: str | Path,
    *,
    files: Sequence[str] | None = None,
    extract: bool = True,
    max_extract_bytes: int | None = None,
    retries: int = 5,
    backoff: float = 1.0,
    timeout: float = 60.0,
    progress: bool = True,
    log: Callable[[str], None] = _stderr,
) -> FetchReport:
    """Download (and extract) a dataset's files under ``root/<name>/``.

    Manual sources print what to do and return; files whose URL is unknown are skipped with a
    message; checksum lists (``list_file``) are fetched first. ``max_extract_bytes`` caps each
    archive's expansion (default: 20 x the archive size, at least 1 GiB). A split zip set is
    extracted after the downloads, when every segment is there (else a message says which are
    missing).
    """
    root = Path(root)
    base = root / ds.name
    report = FetchReport(ds.name)
    if ds.manual is not None:
        report.manual = manual_message(ds, root)
        log(f"a2sb: {report.manual}")
    chosen = [ds.file(f) for f in files] if files else list(ds.default_files())
    needed_lists = {f.checksum.list_file for f in chosen if f.checksum and f.checksum.list_file}
    ordered = [ds.file(n) for n in sorted(needed_lists) if n not in {c.filename for c in chosen}]
    ordered += sorted(chosen, key=lambda f: f.kind != "checksums")
    lists: dict[str, dict[str, str]] = {}
    split_heads: list[Path] = []
    for f in ordered:
        if f.url is None:
            report.skipped.append((f.filename, "download URL unknown"))
            log(f"a2sb: {ds.name}: {f.filename}: download URL unknown, skipped")
            continue
        checksum = _resolve_checksum(ds, f, base, lists)
        if checksum is None:
            report.unverified.append(f.filename)
            log(f"a2sb: {ds.name}: {f.filename}: no published checksum; checking the size only")
        res = download(
            f.url,
            base / "downloads" / f.filename,
            checksum=checksum,
            expected_size=f.size_bytes,
            retries=retries,
            backoff=backoff,
            timeout=timeout,
            progress=progress,
            log=log,
        )
        (report.present if res.status == "present" else report.downloaded).append(f.filename)
        if not extract:
            continue
        if f.archive in ("zip", "tar", "tar.gz"):
            cap = max_extract_bytes or max(
                MIN_EXTRACT_CAP, DEFAULT_EXTRACT_RATIO * res.path.stat().st_size
            )
            if safe_extract(res.path, base / "raw", max_bytes=cap):
                report.extracted.append(f.filename)
        elif f.archive == "split-zip" and res.path.suffix.lower() == ".zip":
            split_heads.append(res.path)  # the last segment: extracted once all are here
        elif f.archive == "none":
            _place_plain(res.path, base / "raw" / f.filename)
    for head in split_heads:
        try:
            parts = split_zip_parts(head)
        except MissingSegmentsError as exc:
            report.skipped.append((head.name, "split zip segments missing"))
            log(f"a2sb: {ds.name}: {exc}; fetch them to extract the set")
            continue
        total = sum(p.stat().st_size for p in parts)
        cap = max_extract_bytes or max(MIN_EXTRACT_CAP, DEFAULT_EXTRACT_RATIO * total)
        if safe_extract_split_zip(head, base / "raw", max_bytes=cap):
            report.extracted.append(head.name)
    return report


def _resolve_checksum(
    ds: Dataset, f: RemoteFile, base: Path, lists: dict[str, dict[str, str]]
) -> Checksum | None:
    c = f.checksum
    if c is None or c.value is not None:
        return c
    assert c.list_file is not None
    if c.list_file not in lists:
        path = base / "downloads" / c.list_file
        if not path.exists():
            raise DownloadError(
                f"{ds.name}: checksum list {c.list_file} is missing; fetch it first"
            )
        lists[c.list_file] = parse_checksum_list(path, c.algorithm)
    value = lists[c.list_file].get(f.filename)
    if value is None:
        raise DownloadError(f"{ds.name}: {c.list_file} has no {c.algorithm} for {f.filename}")
    return Checksum(c.algorithm, value)


def fetch(
    names: Sequence[str],
    registry: Mapping[str, Dataset],
    root: str | Path,
    **kwargs,
) -> list[FetchReport]:
    """:func:`fetch_dataset` for several datasets (``all`` for every entry); a failure of one
    dataset is reported and the rest continue; raises at the end if any failed."""
    from .registry import get_dataset

    datasets = (
        list(registry.values())
        if list(names) == ["all"]
        else [get_dataset(n, registry) for n in names]
    )
    log = kwargs.get("log", _stderr)
    reports, failures = [], []
    for ds in datasets:
        try:
            reports.append(fetch_dataset(ds, root, **kwargs))
        except A2SBError as exc:
            failures.append(f"{ds.name}: {exc}")
            log(f"a2sb: error: {ds.name}: {exc}")
    if failures:
        raise DownloadError(f"{len(failures)} dataset(s) failed: " + "; ".join(failures))
    return reports
