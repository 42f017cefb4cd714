"""Public-domain scores from music21's bundled corpus, as note events.

Pools are fixed lists of corpus files, disjoint between splits (no score is in two sets):
Bach chorales are split by a stable hash of their file name (7/10 train, 1/10 valid, 2/10
AAM stand-in), Monteverdi madrigals by the same hash (half train, half CCMixter stand-in);
string quartets of Mozart, Haydn and Beethoven (op. 18 no. 1) form the MTD stand-in, keyboard
works of Mozart, Joplin, Chopin, Clara Schumann and C. P. E. Bach the Maestro stand-in, and
Robert Schumann's op. 41 quartet, Handel and Verdi join the training pool.

Only compositions in the public domain are used, and an encoding is skipped when its embedded
rights text is present and not classified as permissive (e.g. the Humdrum licensing agreement
of the Palestrina encodings, "all rights reserved", copyright notices). The Essen folksongs
(non-commercial permission) are excluded. Nothing here touches the network.
"""

from __future__ import annotations

import functools
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from a2sb.errors import InputError

from ..licences import classify

SET_NAMES = ("train", "valid", "test_aam", "test_ccmixter", "test_mtd", "test_maestro")

_MTD = (
    "mozart/k80/",
    "mozart/k155/",
    "mozart/k156/",
    "mozart/k458/",
    "haydn/opus1no1/",
    "haydn/opus74no1/",
    "beethoven/opus18no1/",
)
_MAESTRO = (
    "mozart/k545/",
    "joplin/maple_leaf_rag",
    "chopin/mazurka06-2",
    "schumann_clara/polonaise",
    "cpebach/h186",
)
_TRAIN_EXTRA = ("schumann_robert/opus41no1/", "handel/rinaldo/", "verdi/")
_SCORE_EXT = (".mxl", ".xml", ".musicxml", ".krn")


@dataclass(frozen=True)
class ScoreNote:
    """A note in score time: MIDI pitch, onset and duration in quarter notes, part index."""

    pitch: int
    onset_ql: float
    duration_ql: float
    part: int


@dataclass(frozen=True)
class Score:
    """Note events of one corpus file."""

    path: str
    part_names: tuple[str, ...]
    notes: tuple[ScoreNote, ...]
    length_ql: float
    bar_ql: float
    bar_starts: tuple[float, ...]
    rights: str


def corpus_root() -> Path:
    """The directory of music21's bundled corpus."""
    from music21 import corpus

    return Path(corpus.__file__).parent


@functools.lru_cache(maxsize=1)
def corpus_files() -> tuple[str, ...]:
    """All bundled corpus files, relative (posix) paths, sorted."""
    root = corpus_root()
    return tuple(
        sorted(
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        )
    )


def _bucket(path: str, n: int) -> int:
    return zlib.crc32(Path(path).stem.encode()) % n


def _dedupe(paths: list[str]) -> list[str]:
    """One encoding per work: prefer .mxl/.xml over .krn for the same path stem."""
    by_stem: dict[str, str] = {}
    for p in sorted(paths, key=lambda p: (p.rsplit(".", 1)[0], not p.endswith((".mxl", ".xml")))):
        by_stem.setdefault(p.rsplit(".", 1)[0], p)
    return sorted(by_stem.values())


@functools.lru_cache(maxsize=1)
def pools() -> dict[str, tuple[str, ...]]:
    """Corpus files per set; disjoint by construction."""
    files = [f for f in corpus_files() if f.endswith(_SCORE_EXT)]
    bach = [
        f
        for f in files
        if f.startswith("bach/") and f.endswith((".mxl", ".xml")) and "choraleAnalyses" not in f
    ]
    monteverdi = [f for f in files if f.startswith("monteverdi/madrigal") and "_old" not in f]
    out = {
        "train": [f for f in bach if _bucket(f, 10) < 7]
        + [f for f in monteverdi if _bucket(f, 2) == 0]
        + [f for f in files if f.startswith(_TRAIN_EXTRA)],
        "valid": [f for f in bach if _bucket(f, 10) == 7],
        "test_aam": [f for f in bach if _bucket(f, 10) >= 8],
        "test_ccmixter": [f for f in monteverdi if _bucket(f, 2) == 1],
        "test_mtd": [f for f in files if f.startswith(_MTD)],
        "test_maestro": [f for f in files if f.startswith(_MAESTRO)],
    }
    return {k: tuple(_dedupe(v)) for k, v in out.items()}


def rights_text(path: str) -> str:
    """The rights/licence text embedded in a corpus file ('' when there is none)."""
    full = corpus_root() / path
    try:
        if path.endswith(".mxl"):
            with zipfile.ZipFile(full) as z:
                names = [
                    n
                    for n in z.namelist()
                    if n.endswith((".xml", ".musicxml")) and not n.startswith("META-INF")
                ]
                text = z.read(names[0]).decode("utf-8", "replace") if names else ""
        else:
            text = full.read_text(encoding="utf-8", errors="replace")
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"{full}: cannot read score: {exc}") from None
    found = re.findall(r"<rights[^>]*>([^<]*)</rights>", text) + re.findall(
        r"^!!!YEM[^:]*:(.*)$", text, re.M
    )
    return " ".join(" ".join(found).split())


def rights_ok(path: str) -> bool:
    """True when the file has no embedded rights text or a permissive one."""
    text = rights_text(path)
    return not text or classify(text).licence_class == "permissive"


@functools.lru_cache(maxsize=64)
def load_score(path: str) -> Score:
    """Parse a corpus file (ties merged) into note events; cached per process."""
    import warnings

    from music21 import corpus, meter, stream

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            s = corpus.parse(path)
        except Exception as exc:  # music21 raises many types for bad files
            raise InputError(f"music21 corpus {path}: cannot parse: {exc}") from None
        if not isinstance(s, stream.Score):
            raise InputError(f"music21 corpus {path}: not a single score")
        notes: list[ScoreNote] = []
        names = []
        for pi, part in enumerate(s.parts):
            names.append(str(part.partName or f"part{pi}"))
            tied: dict[int, int] = {}  # pitch -> index of a note whose tie continues
            for el in part.flatten().notes:
                ql = float(el.quarterLength)
                if ql <= 0:
                    continue  # grace notes
                members = list(el.notes) if el.isChord else [el]
                for m in members:
                    midi = int(m.pitch.midi)
                    tie = (m.tie or el.tie).type if (m.tie or el.tie) is not None else None
                    j = tied.pop(midi, None)
                    if (
                        j is not None
                        and tie in ("stop", "continue")
                        and abs(notes[j].onset_ql + notes[j].duration_ql - float(el.offset)) < 1e-6
                    ):
                        prev = notes[j]
                        notes[j] = ScoreNote(prev.pitch, prev.onset_ql, prev.duration_ql + ql, pi)
                        if tie == "continue":
                            tied[midi] = j
                        continue
                    notes.append(ScoreNote(midi, float(el.offset), ql, pi))
                    if tie in ("start", "continue"):
                        tied[midi] = len(notes) - 1
        ts = s.recurse().getElementsByClass(meter.TimeSignature).first()
        bar_ql = float(ts.barDuration.quarterLength) if ts is not None else 4.0
        first = s.parts[0] if len(s.parts) else s
        bars = tuple(
            sorted({float(m.offset) for m in first.getElementsByClass(stream.Measure)})
        ) or (0.0,)
    if not notes:
        raise InputError(f"music21 corpus {path}: no notes")
    notes.sort(key=lambda n: (n.onset_ql, n.part, n.pitch))
    length = max(n.onset_ql + n.duration_ql for n in notes)
    return Score(path, tuple(names), tuple(notes), length, bar_ql, bars, rights_text(path))
