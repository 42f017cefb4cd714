"""The trial list: one trial per excerpt (task, test set, segment) holding every method's
stimulus of it, in a seeded order; and each rater's own order derived from it.

``trials.json`` names stimuli by their file names and is read by the server only: the page never
sees it. Each rater gets a permutation of the trials, and of the stimuli within each trial,
seeded by (list seed, rater id): a rater who comes back gets the same order, and order effects
average out over raters. In MOS the rater's first trial comes back as the last one (stimuli
reshuffled): the repeated trial of the consistency check. In MUSHRA each trial also holds the
hidden reference (the ``reference`` stimulus, unlabelled) and the low-pass anchor, and the open
reference is played from its own button.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from a2sb.errors import InputError
from a2sb.io.atomic import write_json

SCALES = ("mos", "mushra")
ANCHOR_HZ = 3500.0  # BS.1534-3's mandatory low anchor: the reference low-passed at 3.5 kHz
ANCHOR_PREFIX = "anchor3500:"  # ratings' stimulus key of an anchor: prefix + the reference's name
REFERENCE = "reference"  # stimuli.csv's method of the unprocessed excerpt
GROUP_BY = ("task", "dataset", "segment")
LABELS = "ABCDEFGHIJKLMNOPQSTUVWXYZ"  # the page's sample labels; no R (MUSHRA's open reference)
NAME = re.compile(r"[A-Za-z0-9_.-]+\.wav")  # a stimulus file name: no folders, no odd bytes


@dataclass(frozen=True)
class Item:
    """One stimulus to rate: ``key`` is the ratings' stimulus column, ``role`` is ``test``,
    ``hidden_reference`` or ``anchor`` (MUSHRA), ``source`` the file it plays (or low-passes)."""

    key: str
    role: str
    source: str


@dataclass(frozen=True)
class PlannedTrial:
    """One trial of one rater: excerpt id, the items in presentation order, repeat flag, and in
    MUSHRA the open reference's file."""

    excerpt: str
    items: tuple[Item, ...]
    repeat: bool
    reference: str | None = None


def file_sha(path: Path) -> str:
    """SHA-256 (hex) of a file: ties a trial list and the answers to one ``stimuli.csv``."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_stimuli(path: Path) -> list[dict[str, str]]:
    """Rows of ``stimuli.csv``; a one-line :class:`InputError` naming the file (and the row)
    when it is missing, lacks a column, names a file oddly or lists a stimulus twice."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the stimuli list ({exc.strerror})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: not a CSV stimuli list ({exc})") from None
    need = {"stimulus", "method", *GROUP_BY}
    if not rows or not need <= set(rows[0]):
        raise InputError(f"{path}: not a stimuli list (needs rows and the columns "
                         f"{', '.join(sorted(need))})")  # fmt: skip
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        name = row.get("stimulus") or ""
        if not NAME.fullmatch(name):
            raise InputError(f"{path}, line {line}: stimulus {name[:40]!r} is not a .wav file name")
        if any(not row.get(c) for c in ("method", *GROUP_BY)):
            raise InputError(f"{path}, line {line}: empty method, task, dataset or segment")
        if name in seen:
            raise InputError(f"{path}, line {line}: stimulus {name} listed twice")
        seen.add(name)
    return rows


def build(stimuli_csv: Path, seed: int) -> dict:
    """The trial list of ``stimuli_csv``: excerpts in a seeded order, stimuli shuffled in each."""
    rows = read_stimuli(stimuli_csv)
    groups: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for r in rows:
        groups.setdefault(tuple(r[c] for c in GROUP_BY), []).append(r)
    for key, members in groups.items():
        methods = [r["method"] for r in members]
        twice = sorted({m for m in methods if methods.count(m) > 1})
        if twice:
            raise InputError(f"{stimuli_csv}: excerpt {'/'.join(key)} has two stimuli of "
                             f"method {twice[0]}")  # fmt: skip
        if len(members) > len(LABELS) - 1:  # one label left for MUSHRA's anchor
            raise InputError(f"{stimuli_csv}: excerpt {'/'.join(key)} has {len(members)} "
                             f"stimuli; the page labels at most {len(LABELS) - 1}")  # fmt: skip
    rng = np.random.default_rng(seed)
    excerpts = list(groups.values())
    trials = []
    for i in rng.permutation(len(excerpts)):
        names = [r["stimulus"] for r in excerpts[int(i)]]
        trials.append({"id": f"x{int(i):03d}",
                       "stimuli": [names[int(j)] for j in rng.permutation(len(names))]})  # fmt: skip
    return {"version": 1, "seed": int(seed), "stimuli_sha256": file_sha(stimuli_csv),
            "training": trials[0]["id"], "trials": trials}  # fmt: skip


def write(stimuli_csv: Path, seed: int, out: Path) -> dict:
    """Build the trial list of ``stimuli_csv`` and write it to ``out`` atomically."""
    data = build(stimuli_csv, seed)
    write_json(out, data)
    return data


def load(path: Path, stimuli_csv: Path) -> dict:
    """Read ``trials.json`` and check that it was built from this ``stimuli.csv``."""
    if not Path(path).is_file():
        raise InputError(f"{path}: no trial list; write it with "
                         f"`python -m reports.listen trials {Path(path).parent}`")  # fmt: skip
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        trials = data["trials"]
        ids = [t["id"] for t in trials]
        ok = (isinstance(data["seed"], int) and trials and data.get("training") in ids
              and all(isinstance(t["stimuli"], list) and t["stimuli"] for t in trials))  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a trial list ({type(exc).__name__}: {exc})") from None
    if not ok:
        raise InputError(f"{path}: not a trial list (no trials, or a trial without stimuli)")
    if data.get("stimuli_sha256") != file_sha(stimuli_csv):
        raise InputError(f"{path}: built from another stimuli.csv than {stimuli_csv}; rebuild it")
    return data


def list_sha(data: dict) -> str:
    """12 hex digits identifying a trial list (its trials and seed), for resuming."""
    text = json.dumps({"seed": data.get("seed"), "trials": data["trials"]}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _rng(seed: int, rater: str, what: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}\0{rater}\0{what}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def plan(
    data: dict, methods: dict[str, str], rater: str, scale: str, per_rater: int | None = None
) -> list[PlannedTrial]:
    """The trials of ``rater`` in order: the first ``per_rater`` (all when None) of the rater's
    permutation, then in MOS the repeat of the first. ``methods`` maps stimulus -> method (server
    side), used in MUSHRA to find the hidden reference and add the anchor."""
    seed = int(data["seed"])
    trials = data["trials"]
    order = [trials[int(i)] for i in _rng(seed, rater, "order").permutation(len(trials))]
    order = order[:per_rater] if per_rater else order
    out = [_one(t, methods, scale, _rng(seed, rater, t["id"]), False) for t in order]
    if scale == "mos":
        out.append(_one(order[0], methods, scale, _rng(seed, rater, "repeat"), True))
    return out


def _one(
    trial: dict, methods: dict[str, str], scale: str, rng: np.random.Generator, repeat: bool
) -> PlannedTrial:
    items = [Item(s, "test", s) for s in trial["stimuli"]]
    reference = None
    if scale == "mushra":
        refs = [s for s in trial["stimuli"] if methods.get(s) == REFERENCE]
        if not refs:
            raise InputError(f"trial {trial['id']}: no {REFERENCE} stimulus, MUSHRA needs one")
        reference = refs[0]
        items = [Item(i.key, "hidden_reference" if i.key == reference else "test", i.source)
                 for i in items] + [Item(ANCHOR_PREFIX + reference, "anchor", reference)]  # fmt: skip
    shuffled = tuple(items[int(i)] for i in rng.permutation(len(items)))
    return PlannedTrial(trial["id"], shuffled, repeat, reference)


def training(data: dict, methods: dict[str, str], scale: str) -> PlannedTrial:
    """The training page's excerpt: every stimulus of it (and in MUSHRA its anchor), unrated."""
    first = next(t for t in data["trials"] if t["id"] == data["training"])
    return _one(first, methods, scale, np.random.default_rng(int(data["seed"])), False)
