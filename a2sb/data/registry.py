"""The dataset registry: where each dataset of the paper comes from and under which licence.

The built-in registry is ``a2sb/data/registry.yaml``; ``a2sb data fetch --registry FILE`` takes
any file in the same format. Facts that were not found are the literal string ``unknown`` and
load as ``None``; they are never guessed. Every fact carries a verification tag from
``shared/DATASETS.md``: ``V`` (verified in a primary source), ``3P`` (third party), ``U``
(unverified).

Format (YAML)::

    schema_version: 1
    datasets:
      <name>:
        title: str
        role: finetune | pretrain | test | modelcard-only
        homepage: url
        audio_format: {container, sample_rate, channels, bit_depth}   # values or unknown
        files:                     # may be empty (manual datasets)
          - {url, filename, size_bytes, checksum: {algorithm, value} | {algorithm, list_file}
             | unknown, archive, kind, default, approx_size, verification: {fact: tag}}
        file_sets:                 # optional: numbered shards expanded into files
          - {url_template, filename_template, indices: [first, last], ...same keys as files}
        license:
          kind: dataset | per_item | none
          license: str | unknown   # dataset-level licence string (kind dataset)
          source_url: url | unknown
          metadata_file, field, format, key   # kind per_item: where each item's licence is
        manual: {reason, instructions, place_files} | false
        research_use_only: bool    # may be used only by the separate research-use experiment
        splits: {metadata_file, key, field}   # optional: the dataset's own train/validation/test
        verification: {fact: V | 3P | U}
        notes: [str]

The YAML keys keep the spelling of the published format (``license:``, and ``license`` inside
it); the Python names say "licence": :attr:`Dataset.licence` is a :class:`LicenceSource`
whose dataset-level string is :attr:`LicenceSource.licence` (mapped in :func:`_licence`).

Roles: ``finetune`` datasets form the fine-tuning set and are also pre-trained on;
``pretrain`` ones are pre-training only; ``test`` ones are evaluation sets; ``modelcard-only``
ones appear in the official model card but not in the paper.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from a2sb.errors import InputError

UNKNOWN = "unknown"
ROLES = ("finetune", "pretrain", "test", "modelcard-only")
ARCHIVE_TYPES = ("zip", "tar", "tar.gz", "split-zip", "none", "unknown")
CHECKSUM_ALGORITHMS = ("md5", "sha1", "sha256")
LICENCE_KINDS = ("dataset", "per_item", "none")
VERIFICATION_TAGS = ("V", "3P", "U")
FILE_KINDS = ("audio", "metadata", "midi", "checksums", "index", "docs")
BUILTIN_REGISTRY = "registry.yaml"

_FILE_KEYS = {
    "url",
    "filename",
    "size_bytes",
    "checksum",
    "archive",
    "kind",
    "default",
    "approx_size",
    "verification",
    "note",
}
_FILE_SET_KEYS = (_FILE_KEYS - {"url", "filename"}) | {
    "url_template",
    "filename_template",
    "indices",
}
_DATASET_KEYS = {
    "title",
    "role",
    "homepage",
    "audio_format",
    "files",
    "file_sets",
    "license",
    "manual",
    "research_use_only",
    "splits",
    "verification",
    "notes",
    "hours",
}
#: keys of a dataset's ``license:`` mapping in the YAML (published spelling)
_LICENCE_KEYS = {"kind", "license", "source_url", "metadata_file", "field", "format", "key", "note"}


@dataclass(frozen=True)
class Checksum:
    """A published checksum: ``value`` is the hex digest, or ``None`` when it is read from
    ``list_file`` (another file of the dataset, ``<hex>  <filename>`` per line)."""

    algorithm: str
    value: str | None = None
    list_file: str | None = None


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file. ``url``/``size_bytes``/``checksum`` are ``None`` when unknown."""

    filename: str
    url: str | None
    size_bytes: int | None
    checksum: Checksum | None
    archive: str = "none"
    kind: str = "audio"
    default: bool = True
    approx_size: str | None = None
    verification: Mapping[str, str] = field(default_factory=dict)
    note: str | None = None


@dataclass(frozen=True)
class LicenceSource:
    """Where items' licences come from: one dataset-level licence, a per-item metadata file, or
    nothing usable (``none``: e.g. YouTube audio). ``licence`` is the YAML key ``license``."""

    kind: str
    licence: str | None = None
    source_url: str | None = None
    metadata_file: str | None = None
    field: str | None = None
    format: str | None = None
    key: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Manual:
    """A source that cannot be fetched automatically (Kaggle, YouTube, token-gated, web form)."""

    reason: str
    instructions: str
    place_files: str


@dataclass(frozen=True)
class SplitSource:
    """Where a dataset names each item's split: ``field`` of the CSV row whose ``key`` column
    holds the item's path (a suffix of it, e.g. MAESTRO's ``audio_filename``)."""

    metadata_file: str
    key: str
    field: str


@dataclass(frozen=True)
class Dataset:
    """One registry entry."""

    name: str
    title: str
    role: str
    homepage: str | None
    audio_format: Mapping[str, Any]
    files: tuple[RemoteFile, ...]
    licence: LicenceSource  # the YAML key ``license``
    manual: Manual | None = None
    research_use_only: bool = False
    splits: SplitSource | None = None
    verification: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    hours: Mapping[str, Any] = field(default_factory=dict)

    def default_files(self) -> tuple[RemoteFile, ...]:
        """Files fetched when no ``--file`` is given."""
        return tuple(f for f in self.files if f.default)

    def file(self, filename: str) -> RemoteFile:
        """The file entry named ``filename``."""
        for f in self.files:
            if f.filename == filename:
                return f
        names = ", ".join(f.filename for f in self.files) or "none"
        raise InputError(f"dataset {self.name!r} has no file {filename!r} (files: {names})")


def _unknown(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() == UNKNOWN)


def _opt_str(value: Any) -> str | None:
    return None if _unknown(value) else str(value)


def _check_keys(where: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise InputError(f"{where}: unknown key(s) {', '.join(extra)}")


def _verification(where: str, data: Any) -> dict[str, str]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise InputError(f"{where}: verification must be a mapping of fact -> V/3P/U")
    out = {}
    for fact, tag in data.items():
        tag = str(tag)
        if tag not in VERIFICATION_TAGS:
            raise InputError(f"{where}: verification of {fact!r} is {tag!r}, not one of V, 3P, U")
        out[str(fact)] = tag
    return out


def _checksum(where: str, data: Any) -> Checksum | None:
    if _unknown(data):
        return None
    if not isinstance(data, Mapping) or "algorithm" not in data:
        raise InputError(f"{where}: checksum must be unknown or {{algorithm, value|list_file}}")
    algorithm = str(data["algorithm"]).lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise InputError(f"{where}: checksum algorithm {algorithm!r} is not md5, sha1 or sha256")
    value, list_file = _opt_str(data.get("value")), _opt_str(data.get("list_file"))
    if (value is None) == (list_file is None):
        raise InputError(f"{where}: checksum needs exactly one of value or list_file")
    if value is not None:
        value = value.lower()
        width = {"md5": 32, "sha1": 40, "sha256": 64}[algorithm]
        if len(value) != width or any(c not in "0123456789abcdef" for c in value):
            raise InputError(f"{where}: {algorithm} value {value!r} is not {width} hex digits")
    return Checksum(algorithm, value, list_file)


def _remote_file(where: str, data: Mapping[str, Any], default_archive: str) -> RemoteFile:
    _check_keys(where, data, _FILE_KEYS)
    filename = data.get("filename")
    if _unknown(filename) or "/" in str(filename) or str(filename) in ("", ".", ".."):
        raise InputError(f"{where}: filename must be a plain file name")
    size = data.get("size_bytes")
    if not _unknown(size):
        if not isinstance(size, int) or size < 0:
            raise InputError(f"{where}: size_bytes must be a non-negative integer or unknown")
    archive = str(data.get("archive", default_archive))
    if archive not in ARCHIVE_TYPES:
        raise InputError(f"{where}: archive {archive!r} is not one of {', '.join(ARCHIVE_TYPES)}")
    kind = str(data.get("kind", "audio"))
    if kind not in FILE_KINDS:
        raise InputError(f"{where}: kind {kind!r} is not one of {', '.join(FILE_KINDS)}")
    url = _opt_str(data.get("url"))
    if url is not None and not url.startswith(("http://", "https://")):
        raise InputError(f"{where}: url {url!r} is not http(s)")
    return RemoteFile(
        filename=str(filename),
        url=url,
        size_bytes=None if _unknown(size) else int(size),
        checksum=_checksum(where, data.get("checksum", UNKNOWN)),
        archive=archive,
        kind=kind,
        default=bool(data.get("default", True)),
        approx_size=_opt_str(data.get("approx_size")),
        verification=_verification(where, data.get("verification")),
        note=_opt_str(data.get("note")),
    )


def _expand_file_set(where: str, data: Mapping[str, Any], default_archive: str) -> list[RemoteFile]:
    _check_keys(where, data, _FILE_SET_KEYS)
    indices = data.get("indices")
    if not (
        isinstance(indices, list) and len(indices) == 2 and all(isinstance(i, int) for i in indices)
    ):
        raise InputError(f"{where}: indices must be [first, last] integers")
    base = {
        k: v for k, v in data.items() if k not in ("url_template", "filename_template", "indices")
    }
    out = []
    for index in range(indices[0], indices[1] + 1):
        entry = dict(base)
        entry["url"] = str(data["url_template"]).format(index=index)
        entry["filename"] = str(data["filename_template"]).format(index=index)
        out.append(_remote_file(f"{where}[{index}]", entry, default_archive))
    return out


def _licence(where: str, data: Any) -> LicenceSource:
    # The YAML spells its keys "license" (published format); the Python names say "licence".
    if not isinstance(data, Mapping):
        raise InputError(f"{where}: license must be a mapping with a kind")
    _check_keys(where, data, _LICENCE_KEYS)
    kind = str(data.get("kind"))
    if kind not in LICENCE_KINDS:
        raise InputError(f"{where}: licence kind {kind!r} is not one of {', '.join(LICENCE_KINDS)}")
    lic = LicenceSource(
        kind=kind,
        licence=_opt_str(data.get("license")),
        source_url=_opt_str(data.get("source_url")),
        metadata_file=_opt_str(data.get("metadata_file")),
        field=_opt_str(data.get("field")),
        format=_opt_str(data.get("format")),
        key=_opt_str(data.get("key")),
        note=_opt_str(data.get("note")),
    )
    if kind == "per_item" and (lic.metadata_file is None or lic.format is None):
        raise InputError(f"{where}: a per_item licence needs metadata_file and format")
    return lic


def _manual(where: str, data: Any) -> Manual | None:
    if data in (None, False):
        return None
    if not isinstance(data, Mapping) or not {"reason", "instructions", "place_files"} <= set(data):
        raise InputError(f"{where}: manual must be false or {{reason, instructions, place_files}}")
    return Manual(str(data["reason"]), str(data["instructions"]).strip(), str(data["place_files"]))


def _splits(where: str, data: Any) -> SplitSource | None:
    if data in (None, False):
        return None
    keys = {"metadata_file", "key", "field"}
    if not isinstance(data, Mapping) or set(data) != keys:
        raise InputError(f"{where}: splits must be false or {{metadata_file, key, field}}")
    return SplitSource(str(data["metadata_file"]), str(data["key"]), str(data["field"]))


def _dataset(name: str, data: Any) -> Dataset:
    where = f"dataset {name!r}"
    if not isinstance(data, Mapping):
        raise InputError(f"{where}: entry must be a mapping")
    _check_keys(where, data, _DATASET_KEYS)
    role = str(data.get("role"))
    if role not in ROLES:
        raise InputError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
    archive_default = "none"
    files: list[RemoteFile] = []
    for i, f in enumerate(data.get("files") or []):
        if not isinstance(f, Mapping):
            raise InputError(f"{where}: files[{i}] must be a mapping")
        files.append(_remote_file(f"{where} files[{i}]", f, archive_default))
    for i, fs in enumerate(data.get("file_sets") or []):
        if not isinstance(fs, Mapping):
            raise InputError(f"{where}: file_sets[{i}] must be a mapping")
        files.extend(_expand_file_set(f"{where} file_sets[{i}]", fs, archive_default))
    names = [f.filename for f in files]
    if len(set(names)) != len(names):
        raise InputError(f"{where}: duplicate file names")
    for f in files:
        if f.checksum and f.checksum.list_file and f.checksum.list_file not in names:
            raise InputError(
                f"{where}: {f.filename} takes its checksum from {f.checksum.list_file}, which is not a file of the dataset"
            )
    audio_format = data.get("audio_format") or {}
    if not isinstance(audio_format, Mapping):
        raise InputError(f"{where}: audio_format must be a mapping")
    return Dataset(
        name=name,
        title=str(data.get("title", name)),
        role=role,
        homepage=_opt_str(data.get("homepage")),
        audio_format={str(k): (None if _unknown(v) else v) for k, v in audio_format.items()},
        files=tuple(files),
        licence=_licence(f"{where} license", data.get("license")),
        manual=_manual(f"{where} manual", data.get("manual")),
        research_use_only=bool(data.get("research_use_only", False)),
        splits=_splits(f"{where} splits", data.get("splits")),
        verification=_verification(where, data.get("verification")),
        notes=tuple(str(n) for n in data.get("notes") or ()),
        hours=dict(data.get("hours") or {}),
    )


def parse_registry(data: Any, source: str = "<registry>") -> dict[str, Dataset]:
    """Validate a parsed registry document and return its datasets by name."""
    if not isinstance(data, Mapping) or not isinstance(data.get("datasets"), Mapping):
        raise InputError(f"{source}: not a registry (expected a mapping with 'datasets')")
    if data.get("schema_version", 1) != 1:
        raise InputError(
            f"{source}: schema_version {data.get('schema_version')!r} is not supported (1)"
        )
    out: dict[str, Dataset] = {}
    for name, entry in data["datasets"].items():
        try:
            out[str(name)] = _dataset(str(name), entry)
        except InputError as exc:
            raise InputError(f"{source}: {exc}") from None
    return out


def load_registry(path: str | Path | None = None) -> dict[str, Dataset]:
    """Load a registry file (the built-in one when ``path`` is None)."""
    if path is None:
        text = resources.files("a2sb.data").joinpath(BUILTIN_REGISTRY).read_text(encoding="utf-8")
        source = f"a2sb/data/{BUILTIN_REGISTRY}"
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{source}: cannot read registry: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: invalid YAML: {str(exc).splitlines()[0]}") from None
    return parse_registry(data, source)


def get_dataset(name: str, registry: Mapping[str, Dataset]) -> Dataset:
    """The entry ``name`` (case-insensitive), with a one-line error listing the known names."""
    key = name.lower()
    for n, d in registry.items():
        if n.lower() == key:
            return d
    raise InputError(f"unknown dataset {name!r} (known: {', '.join(sorted(registry))})")


def summary_rows(registry: Mapping[str, Dataset]) -> list[dict[str, str]]:
    """One row per dataset for ``a2sb data list``: role, licence, files, what is verified/unknown."""
    rows = []
    for d in registry.values():
        unknown = []
        for f in d.files:
            for fact, value in (("url", f.url), ("size", f.size_bytes), ("checksum", f.checksum)):
                if value is None:
                    unknown.append(f"{f.filename}:{fact}")
        unknown += [f"audio_format.{k}" for k, v in d.audio_format.items() if v is None]
        if d.licence.kind == "dataset" and d.licence.licence is None:
            unknown.append("license")  # the YAML key
        verified = sorted(k for k, v in d.verification.items() if v == "V")
        rows.append(
            {
                "name": d.name,
                "role": d.role,
                "license": d.licence.licence if d.licence.kind == "dataset" else d.licence.kind,
                "files": str(len(d.files)),
                "manual": d.manual.reason if d.manual else "",
                "verified": ",".join(verified),
                "unknown": ",".join(unknown),
            }
        )
    return rows
