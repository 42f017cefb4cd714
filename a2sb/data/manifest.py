"""Manifest CSVs: one per dataset and split, written atomically and validated on read.

Columns, in this order: ``dataset, split, path, duration, sample_rate, channels,
estimated_true_sr, license, license_class, sha256``. ``path`` is relative to the manifest's
directory unless absolute; ``duration`` in seconds; ``estimated_true_sr`` in Hz (2 x the
estimated bandwidth, capped at ``sample_rate``; see :mod:`a2sb.data.bandwidth`); ``sha256`` of
the audio file's bytes. Items that cannot be used go to ``<stem>.dropped.csv`` beside the
manifest (``path, reason``): unreadable, empty or corrupt audio is listed there, never a crash.

The columns ``license`` and ``license_class`` keep the spelling of the published data (the
project's own identifiers say "licence"): manifests on disk and :mod:`reports.licences` read
them by these names.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from a2sb.errors import InputError
from a2sb.io.atomic import write_text
from a2sb.io.audio import AUDIO_EXTENSIONS
from a2sb.io.provenance import file_sha256

from .bandwidth import SpectrumAccumulator
from .licences import CLASSES, classify

COLUMNS = (
    "dataset",
    "split",
    "path",
    "duration",
    "sample_rate",
    "channels",
    "estimated_true_sr",
    "license",
    "license_class",
    "sha256",
)
DROPPED_COLUMNS = ("path", "reason")
_SHA = re.compile(r"^[0-9a-f]{64}$")


def dropped_path(manifest_path: str | Path) -> Path:
    """Where the dropped list of a manifest lives: ``<dir>/<stem>.dropped.csv``."""
    p = Path(manifest_path)
    return p.with_name(p.stem + ".dropped.csv")


def _fmt_float(x: float) -> str:
    return format(float(x), ".10g")


def _validate_row(row: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Type-check one row (strings from CSV or Python values); return typed values."""
    missing = [c for c in COLUMNS if c not in row]
    if missing:
        raise InputError(f"{where}: missing column(s) {', '.join(missing)}")
    out: dict[str, Any] = {}
    for col in ("dataset", "split", "path"):
        v = str(row[col]).strip()
        if not v:
            raise InputError(f"{where}: {col} is empty")
        out[col] = v
    try:
        out["duration"] = float(row["duration"])
        out["sample_rate"] = int(str(row["sample_rate"]))
        out["channels"] = int(str(row["channels"]))
        out["estimated_true_sr"] = float(row["estimated_true_sr"])
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: bad number ({exc})") from None
    if not (math.isfinite(out["duration"]) and out["duration"] > 0):
        raise InputError(f"{where}: duration must be > 0, got {row['duration']!r}")
    if out["sample_rate"] <= 0 or out["channels"] <= 0:
        raise InputError(f"{where}: sample_rate and channels must be positive")
    if not (0 <= out["estimated_true_sr"] <= out["sample_rate"]):
        raise InputError(
            f"{where}: estimated_true_sr {out['estimated_true_sr']} is not within [0, sample_rate]"
        )
    out["license"] = str(row["license"]) if row["license"] is not None else ""
    lc = str(row["license_class"])
    if lc not in CLASSES:
        raise InputError(f"{where}: license_class {lc!r} is not one of {', '.join(CLASSES)}")
    out["license_class"] = lc
    sha = str(row["sha256"]).lower()
    if not _SHA.match(sha):
        raise InputError(f"{where}: sha256 {row['sha256']!r} is not 64 hex digits")
    out["sha256"] = sha
    return out


def write_manifest(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validate ``rows`` and write them atomically as a manifest CSV; return the typed rows."""
    path = Path(path)
    typed = [_validate_row(r, f"{path}: row {i + 1}") for i, r in enumerate(rows)]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in typed:
        w.writerow(
            [
                r["dataset"],
                r["split"],
                r["path"],
                _fmt_float(r["duration"]),
                r["sample_rate"],
                r["channels"],
                _fmt_float(r["estimated_true_sr"]),
                r["license"],
                r["license_class"],
                r["sha256"],
            ]
        )
    write_text(path, buf.getvalue())
    return typed


def read_manifest(path: str | Path, *, resolve_paths: bool = False) -> list[dict[str, Any]]:
    """Read and validate a manifest; one-line :class:`InputError` naming the file and row.

    With ``resolve_paths`` each ``path`` becomes absolute (relative to the manifest's directory).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read manifest: {exc.strerror or exc}") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != COLUMNS:
        raise InputError(
            f"{path}: header must be {','.join(COLUMNS)}, got {','.join(header or [])!r}"
        )
    rows = []
    for lineno, values in enumerate(reader, start=2):
        if not values:
            continue
        if len(values) != len(COLUMNS):
            raise InputError(
                f"{path}: row {lineno}: expected {len(COLUMNS)} fields, got {len(values)}"
            )
        row = _validate_row(dict(zip(COLUMNS, values)), f"{path}: row {lineno}")
        if resolve_paths and not os.path.isabs(row["path"]):
            row["path"] = str((path.parent / row["path"]).resolve())
        rows.append(row)
    return rows


def write_dropped(path: str | Path, dropped: Iterable[tuple[str, str]]) -> None:
    """Write a ``path, reason`` CSV atomically."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(DROPPED_COLUMNS)
    for p, reason in dropped:
        w.writerow([p, " ".join(str(reason).split())])
    write_text(path, buf.getvalue())


def read_dropped(path: str | Path) -> list[tuple[str, str]]:
    """Rows of a dropped CSV."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    if not rows or tuple(rows[0]) != DROPPED_COLUMNS:
        raise InputError(f"{path}: header must be path,reason")
    return [(r[0], r[1]) for r in rows[1:] if r]


@dataclass
class AudioFacts:
    """What :func:`probe_audio` measured from one file."""

    duration: float
    sample_rate: int
    channels: int
    estimated_true_sr: float
    sha256: str


def probe_audio(path: str | Path, *, block_seconds: float = 30.0) -> AudioFacts:
    """Read a file in blocks: duration, rate, channels, estimated_true_sr, sha256.

    Raises :class:`InputError` (one line) for unreadable, empty or corrupt audio.
    """
    import numpy as np
    import soundfile as sf

    path = Path(path)
    try:
        sha256 = file_sha256(path)
    except OSError as exc:
        raise InputError(f"unreadable: {exc.strerror or exc}") from None
    if path.stat().st_size == 0:
        raise InputError("empty file (0 bytes)")
    try:
        with sf.SoundFile(str(path)) as snd:
            rate, channels = int(snd.samplerate), int(snd.channels)
            acc = SpectrumAccumulator(rate)
            frames = 0
            block = max(int(block_seconds * rate), acc.n_fft)
            while True:
                data = snd.read(block, dtype="float32", always_2d=True)
                if len(data) == 0:
                    break
                if not np.all(np.isfinite(data)):
                    raise InputError("corrupt audio: non-finite samples")
                frames += len(data)
                acc.add(data, max_frames=256)
    except InputError:
        raise
    except (sf.LibsndfileError, RuntimeError, ValueError, OSError) as exc:
        raise InputError(f"corrupt or unsupported audio: {' '.join(str(exc).split())}") from None
    if frames == 0:
        raise InputError("empty audio (0 samples)")
    return AudioFacts(frames / rate, rate, channels, acc.estimate_true_sr(), sha256)


def find_audio(
    paths: Sequence[str | Path], extensions: Sequence[str] = AUDIO_EXTENSIONS
) -> list[Path]:
    """Audio files among ``paths`` (directories are walked), sorted, without duplicates."""
    found: set[Path] = set()
    for p in map(Path, paths):
        if p.is_dir():
            found.update(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in extensions)
        elif p.exists():
            found.add(p)
        else:
            raise InputError(f"{p}: no such file or directory")
    return sorted(found)


def build_manifest(
    manifest_path: str | Path,
    files: Sequence[str | Path],
    *,
    dataset: str,
    split: str | Callable[[Path], str],
    licence: str | Callable[[Path], str | None] | None,
    licence_class: Callable[[str | None], str] | None = None,
    allowed_classes: Collection[str] | None = ("permissive",),
    progress: bool = True,
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Probe ``files`` and write the manifest and its dropped list atomically.

    ``split`` and ``licence`` are values or functions of the file path. Items whose licence
    class is not in ``allowed_classes`` (None: keep every class, e.g. for the research-use
    Maestro manifest) are dropped before their audio is read. Returns (rows, dropped).
    """
    from tqdm import tqdm

    manifest_path = Path(manifest_path)
    base = manifest_path.parent.resolve()
    to_class = licence_class or (lambda text: classify(text).licence_class)
    rows: list[dict[str, Any]] = []
    dropped: list[tuple[str, str]] = []
    for f in tqdm(
        [Path(x) for x in files],
        desc=f"manifest {dataset}",
        unit="file",
        disable=not progress,
        file=None,
    ):
        rel = os.path.relpath(f.resolve(), base)
        lic = licence(f) if callable(licence) else licence
        lclass = to_class(lic)
        if allowed_classes is not None and lclass not in allowed_classes:
            dropped.append((rel, f"licence class {lclass}: {lic or 'no licence'}"))
            continue
        try:
            facts = probe_audio(f)
        except InputError as exc:
            dropped.append((rel, str(exc)))
            continue
        rows.append(
            {
                "dataset": dataset,
                "split": split(f) if callable(split) else split,
                "path": rel,
                "duration": facts.duration,
                "sample_rate": facts.sample_rate,
                "channels": facts.channels,
                "estimated_true_sr": facts.estimated_true_sr,
                # published column names (see the module docstring)
                "license": lic or "",
                "license_class": lclass,
                "sha256": facts.sha256,
            }
        )
    write_manifest(manifest_path, rows)
    write_dropped(dropped_path(manifest_path), dropped)
    return rows, dropped
