"""Licence filtering per dataset, and the licence report reviewers read.

The paper trains on permissively licensed items only: NC, ND, SA, unknown (and ``other``)
licences are dropped (:mod:`a2sb.data.licences`). Where the licence comes from is the
registry's ``license`` entry (:attr:`Dataset.licence`):

- ``dataset``: one licence for every item (GTZAN has none, so all of it is dropped as unknown);
- ``per_item``: a metadata file read by a format-specific reader (FMA ``tracks.csv``,
  MTG-Jamendo ``audio_licenses.txt``, a CSV column, a JSON field, MUSAN ``LICENSE`` files);
  an item missing from the metadata is unknown;
- ``none``: no usable licence (MusicCaps: YouTube audio), everything is dropped.

Datasets marked ``research_use_only`` (Maestro, CC BY-NC-SA 4.0) never enter the permissive set;
``research_use=True`` keeps them for the separate research-use experiment only (SPEC 10).

The report per dataset counts items and hours kept and dropped, by class and by reason;
:func:`report_table` turns reports into one table (CSV/Markdown) for reviewers.

Files written here keep the published spelling of their fields: ``kept.csv`` has the columns
``license`` and ``license_class`` (read back by ``a2sb data manifest --kept``), the reports the
keys ``license_source`` and ``license``; the Python names say "licence".
"""

from __future__ import annotations

import csv
import glob
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from a2sb.errors import InputError
from a2sb.io.atomic import write_json, write_text
from a2sb.io.audio import AUDIO_EXTENSIONS

from .licences import CLASSES, PERMISSIVE, UNKNOWN, LicenceVerdict, classify
from .registry import Dataset


@dataclass(frozen=True)
class Item:
    """One audio item: path (relative to the dataset's raw dir), duration (s, None if unknown),
    licence string (None if none was found), the dataset's own split (None if it names none)."""

    path: str
    duration: float | None
    licence: str | None
    split: str | None = None


@dataclass(frozen=True)
class Decision:
    """The filter's decision on one item."""

    item: Item
    licence_class: str
    reason: str
    kept: bool


# ------------------------------------------------------------------ metadata readers


def read_fma_tracks(path: str | Path) -> dict[str, tuple[str | None, float | None]]:
    """FMA ``tracks.csv`` (2-row header): ``{track_id: (track.license, track.duration)}``."""
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        try:
            top, sub = next(reader), next(reader)
        except StopIteration:
            raise InputError(f"{path}: not an FMA tracks.csv (needs a 2-row header)") from None
        cols = {(a.strip(), b.strip()): i for i, (a, b) in enumerate(zip(top, sub))}
        lic_col = cols.get(("track", "license"))
        dur_col = cols.get(("track", "duration"))
        if lic_col is None:
            raise InputError(f"{path}: no ('track', 'license') column")
        out: dict[str, tuple[str | None, float | None]] = {}
        for row in reader:
            if not row or not row[0].strip().isdigit():
                continue  # the 'track_id' index-name row
            lic = row[lic_col].strip() if lic_col < len(row) and row[lic_col].strip() else None
            dur = None
            if dur_col is not None and dur_col < len(row):
                try:
                    dur = float(row[dur_col])
                except ValueError:
                    dur = None
            out[str(int(row[0]))] = (lic, dur)
    return out


def read_jamendo_licences(path: str | Path) -> dict[str, str]:
    """MTG-Jamendo ``audio_licenses.txt`` blocks: ``{"NN/ID.mp3": licence line}``."""
    out: dict[str, str] = {}
    current: str | None = None
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        s = line.strip()
        if re.fullmatch(r"\d+/\d+\.(mp3|low\.mp3)", s):
            current = s
        elif current and ("creativecommons.org" in s or s.lower().startswith("available under")):
            out[current] = s
            current = None
    return out


def read_csv_column(path: str | Path, key: str, field: str) -> dict[str, str]:
    """``{row[key]: row[field]}`` from a CSV with a header."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if (
            reader.fieldnames is None
            or key not in reader.fieldnames
            or field not in reader.fieldnames
        ):
            raise InputError(f"{path}: needs columns {key!r} and {field!r}")
        return {row[key].strip(): row[field] for row in reader if row.get(key)}


def read_json_field(paths: Iterable[str | Path], field: str) -> dict[str, str]:
    """``{key: entry[field]}`` from JSON objects keyed by item id (FSD50K clip info)."""
    out: dict[str, str] = {}
    for p in paths:
        try:
            data = json.loads(Path(p).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{p}: cannot read JSON: {exc}") from None
        if not isinstance(data, Mapping):
            raise InputError(f"{p}: expected a JSON object keyed by item id")
        for k, v in data.items():
            if isinstance(v, Mapping) and v.get(field) is not None:
                out[str(k)] = str(v[field])
    return out


_LICENCE_TOKEN = re.compile(
    r"((?:https?:)?//(?:www\.)?creativecommons\.org/\S+|creativecommons\.org/\S+|"
    r"\bCC[ -]?0\b|\bCC[ -]BY(?:[ -](?:NC|ND|SA))*\b|\bpublic domain\b|Attribution[\w\- ]*)",
    re.IGNORECASE,
)


def read_musan_licences(paths: Iterable[str | Path]) -> dict[str, str]:
    """MUSAN ``LICENSE`` files (format unverified): ``{file stem: licence text}`` for lines
    naming a file stem and a licence; a file-less line applies to its whole directory
    (key ``<dir>/*``)."""
    out: dict[str, str] = {}
    for p in map(Path, paths):
        for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
            m = _LICENCE_TOKEN.search(line)
            if not m:
                continue
            stems = re.findall(r"\bmusic-[\w-]+-\d{4}\b", line)
            for stem in stems:
                out[stem] = m.group(1)
            if not stems:
                out.setdefault(f"{p.parent.name}/*", m.group(1))
    return out


def read_kaggle_licence(path: str | Path) -> str | None:
    """The licence name of a Kaggle ``dataset-metadata.json`` (``licenses[0].name``), applied
    to every item of the dataset; None when absent."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read Kaggle metadata: {exc}") from None
    licences = data.get("licenses") if isinstance(data, Mapping) else None  # Kaggle's key
    if isinstance(licences, list) and licences and isinstance(licences[0], Mapping):
        name = licences[0].get("name")
        return str(name) if name else None
    return None


# ------------------------------------------------------------------ licence lookup


def licence_lookup(ds: Dataset, raw_dir: str | Path) -> Callable[[str], str | None]:
    """A function from an item path (relative to ``raw_dir``) to its licence string."""
    raw_dir = Path(raw_dir)
    lic = ds.licence
    if lic.kind == "dataset":
        return lambda _p: lic.licence
    if lic.kind == "none":
        return lambda _p: None
    pattern = str(raw_dir / (lic.metadata_file or ""))
    files = sorted(glob.glob(pattern))
    if not files:
        raise InputError(
            f"{ds.name}: licence metadata {lic.metadata_file} not found under {raw_dir}"
        )
    fmt = lic.format
    if fmt == "fma_tracks_csv":
        tracks = read_fma_tracks(files[0])
        return lambda p: (
            tracks.get(str(int(Path(p).stem)), (None, None))[0] if Path(p).stem.isdigit() else None
        )
    if fmt == "jamendo_audio_licenses":
        table = read_jamendo_licences(files[0])
        return lambda p: table.get("/".join(Path(p).parts[-2:]))
    if fmt == "csv_column":
        table = read_csv_column(files[0], lic.key or "", lic.field or "")
        return lambda p: table.get(Path(p).name)
    if fmt == "json_field":
        table = read_json_field(files, lic.field or "license")  # the metadata's field name
        return lambda p: table.get(Path(p).stem)
    if fmt == "musan_license_files":
        table = read_musan_licences(files)
        return lambda p: table.get(Path(p).stem) or table.get(f"{Path(p).parent.name}/*")
    if fmt == "kaggle_metadata":
        name = read_kaggle_licence(files[0])
        return lambda _p: name
    raise InputError(f"{ds.name}: unknown licence metadata format {fmt!r}")


def split_lookup(ds: Dataset, raw_dir: str | Path) -> Callable[[str], str | None]:
    """A function from an item path to the split the dataset's metadata names for it (the
    registry's ``splits``: the CSV row whose ``key`` column is a suffix of the path), or None."""
    source = ds.splits
    if source is None:
        return lambda _p: None
    path = Path(raw_dir) / source.metadata_file
    if not path.is_file():
        raise InputError(
            f"{ds.name}: split metadata {source.metadata_file} not found under {raw_dir}"
        )
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {source.key, source.field} <= set(reader.fieldnames):
            raise InputError(f"{path}: needs the columns {source.key} and {source.field}")
        table = {row[source.key].strip(): row[source.field].strip() for row in reader}

    def lookup(p: str) -> str | None:
        parts = Path(p).parts
        for i in range(len(parts)):
            found = table.get("/".join(parts[i:]))
            if found:
                return found
        return None

    return lookup


def metadata_durations(ds: Dataset, raw_dir: str | Path) -> dict[str, float]:
    """Durations known from metadata (FMA ``tracks.csv``), keyed like the licence lookup."""
    if ds.licence.format != "fma_tracks_csv":
        return {}
    files = sorted(glob.glob(str(Path(raw_dir) / (ds.licence.metadata_file or ""))))
    if not files:
        return {}
    return {k: d for k, (_, d) in read_fma_tracks(files[0]).items() if d is not None}


def discover_items(ds: Dataset, raw_dir: str | Path, *, probe_durations: bool = True) -> list[Item]:
    """Audio items under ``raw_dir`` with their licences (and durations when cheap).

    Items are the files with the registry's ``audio_format.container`` extension, restricted to
    ``audio_format.items_glob`` when given (e.g. Slakh mixtures ``**/mix.flac``, not stems).
    """
    import soundfile as sf

    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise InputError(f"{ds.name}: {raw_dir} does not exist (fetch the dataset first)")
    container = ds.audio_format.get("container")
    exts = (f".{container}",) if isinstance(container, str) and container else AUDIO_EXTENSIONS
    pattern = ds.audio_format.get("items_glob")
    candidates = raw_dir.glob(pattern) if isinstance(pattern, str) else raw_dir.rglob("*")
    lookup = licence_lookup(ds, raw_dir)
    split_of = split_lookup(ds, raw_dir)
    known = metadata_durations(ds, raw_dir)
    items = []
    for p in sorted(q for q in candidates if q.is_file() and q.suffix.lower() in exts):
        rel = p.relative_to(raw_dir).as_posix()
        dur = known.get(str(int(p.stem))) if p.stem.isdigit() and known else None
        if dur is None and probe_durations:
            try:
                dur = float(sf.info(str(p)).duration)
            except Exception:  # unreadable files are the manifest's business
                dur = None
        items.append(Item(rel, dur, lookup(rel), split_of(rel)))
    return items


# ------------------------------------------------------------------ filtering and report


def decide(
    ds: Dataset, item: Item, *, allow_sampling_plus: bool = False, research_use: bool = False
) -> Decision:
    """Keep or drop one item of ``ds`` under the permissive policy."""
    if ds.licence.kind == "none":
        note = ds.licence.note or "no usable licence"
        return Decision(item, UNKNOWN, f"no per-item licence: {note}", False)
    if ds.licence.kind == "dataset" and ds.licence.licence is None:
        return Decision(item, UNKNOWN, "dataset licence unknown", False)
    verdict: LicenceVerdict = classify(item.licence, allow_sampling_plus=allow_sampling_plus)
    if ds.research_use_only:
        if research_use:
            return Decision(
                item, verdict.licence_class, f"research-use experiment only: {verdict.reason}", True
            )
        return Decision(
            item,
            verdict.licence_class,
            f"research-use only, never in the permissive set: {verdict.reason}",
            False,
        )
    return Decision(
        item, verdict.licence_class, verdict.reason, verdict.licence_class == PERMISSIVE
    )


def filter_items(
    ds: Dataset,
    items: Iterable[Item],
    *,
    allow_sampling_plus: bool = False,
    research_use: bool = False,
) -> list[Decision]:
    """:func:`decide` for every item."""
    return [
        decide(ds, it, allow_sampling_plus=allow_sampling_plus, research_use=research_use)
        for it in items
    ]


def _hours(decisions: Sequence[Decision]) -> float:
    return round(sum(d.item.duration or 0.0 for d in decisions) / 3600.0, 4)


def licence_report(
    ds: Dataset,
    decisions: Sequence[Decision],
    *,
    allow_sampling_plus: bool = False,
    research_use: bool = False,
) -> dict[str, Any]:
    """Items and hours kept and dropped, by class and by reason, and the licence strings seen."""
    kept = [d for d in decisions if d.kept]
    dropped = [d for d in decisions if not d.kept]
    by_class: dict[str, list[Decision]] = defaultdict(list)
    by_reason: dict[str, list[Decision]] = defaultdict(list)
    for d in dropped:
        by_class[d.licence_class].append(d)
        by_reason[d.reason].append(d)
    strings: dict[tuple[str, str], list[Decision]] = defaultdict(list)
    for d in decisions:
        strings[(d.item.licence or "", d.licence_class)].append(d)
    source = ds.licence.kind
    if ds.licence.kind == "dataset":
        source += f": {ds.licence.licence or 'unknown'}"
    elif ds.licence.kind == "per_item":
        source += f": {ds.licence.metadata_file} ({ds.licence.field or ds.licence.format})"
    # the report's keys are a published format (see the module docstring)
    return {
        "dataset": ds.name,
        "role": ds.role,
        "license_source": source,
        "policy": {"allow_sampling_plus": allow_sampling_plus, "research_use": research_use},
        "items": len(decisions),
        "items_without_duration": sum(1 for d in decisions if d.item.duration is None),
        "kept": {"items": len(kept), "hours": _hours(kept)},
        "dropped": {"items": len(dropped), "hours": _hours(dropped)},
        "dropped_by_class": {
            c: {"items": len(v), "hours": _hours(v)} for c, v in sorted(by_class.items())
        },
        "dropped_by_reason": {
            r: {"items": len(v), "hours": _hours(v)}
            for r, v in sorted(by_reason.items(), key=lambda kv: -len(kv[1]))
        },
        "licence_strings": [
            {"license": s, "class": c, "items": len(v), "hours": _hours(v)}
            for (s, c), v in sorted(strings.items(), key=lambda kv: -len(kv[1]))[:100]
        ],
    }


TABLE_COLUMNS = (
    "dataset",
    "role",
    "license_source",
    "items_kept",
    "hours_kept",
    "items_dropped",
    "hours_dropped",
    *(f"dropped_{c}" for c in CLASSES if c != PERMISSIVE),
)


def report_table(reports: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per dataset report (columns :data:`TABLE_COLUMNS`; dropped_* count items)."""
    rows = []
    for r in reports:
        row = {
            "dataset": r["dataset"],
            "role": r["role"],
            "license_source": r["license_source"],
            "items_kept": r["kept"]["items"],
            "hours_kept": r["kept"]["hours"],
            "items_dropped": r["dropped"]["items"],
            "hours_dropped": r["dropped"]["hours"],
        }
        for c in CLASSES:
            if c != PERMISSIVE:
                row[f"dropped_{c}"] = r["dropped_by_class"].get(c, {}).get("items", 0)
        rows.append(row)
    return rows


def write_report_table(path: str | Path, reports: Iterable[Mapping[str, Any]]) -> None:
    """Write the table as CSV (``.csv``) or Markdown (``.md``), atomically."""
    rows = report_table(reports)
    path = Path(path)
    if path.suffix == ".md":
        lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
        lines += ["| " + " | ".join(str(r[c]) for c in TABLE_COLUMNS) + " |" for r in rows]
        write_text(path, "\n".join(lines) + "\n")
        return
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=TABLE_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_text(path, buf.getvalue())


def write_filter_outputs(
    out_dir: str | Path, ds: Dataset, decisions: Sequence[Decision], report: Mapping[str, Any]
) -> None:
    """``kept.csv`` (path, duration, license, license_class, reason, split), ``dropped.csv``
    (path, reason) and ``licence_report.json`` in ``out_dir``, each written atomically."""
    out_dir = Path(out_dir)
    kept = io.StringIO()
    w = csv.writer(kept, lineterminator="\n")
    w.writerow(["path", "duration", "license", "license_class", "reason", "split"])
    dropped = io.StringIO()
    wd = csv.writer(dropped, lineterminator="\n")
    wd.writerow(["path", "reason"])
    for d in decisions:
        if d.kept:
            w.writerow(
                [
                    d.item.path,
                    "" if d.item.duration is None else f"{d.item.duration:.6g}",
                    d.item.licence or "",
                    d.licence_class,
                    d.reason,
                    d.item.split or "",
                ]
            )
        else:
            wd.writerow([d.item.path, f"{d.licence_class}: {d.reason}"])
    write_text(out_dir / "kept.csv", kept.getvalue())
    write_text(out_dir / "dropped.csv", dropped.getvalue())
    write_json(out_dir / "licence_report.json", report)


def read_kept(path: str | Path) -> dict[str, tuple[str, str]]:
    """``{path: (license, license_class)}`` from a ``kept.csv``."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"path", "license", "license_class"} <= set(
            reader.fieldnames
        ):
            raise InputError(f"{path}: not a kept.csv (needs path, license, license_class)")
        return {row["path"]: (row["license"], row["license_class"]) for row in reader}


def read_kept_splits(path: str | Path) -> dict[str, str]:
    """``{path: split}`` of the items of a ``kept.csv`` whose dataset names their split."""
    with open(path, encoding="utf-8", newline="") as f:
        return {row["path"]: row["split"] for row in csv.DictReader(f) if row.get("split")}
