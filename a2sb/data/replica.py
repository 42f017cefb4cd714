"""Dataset replicas: miniature copies of every registry dataset, in its published layout.

:func:`build_replicas` writes, for every entry of the built-in registry, a few items of
synthetic music (a few seconds each) packed the way the real dataset is published, so that the
real code path (``a2sb data fetch`` over HTTP, extraction, ``a2sb data filter``, manifests, the
paper pipeline's data graph) runs offline on them::

    OUT/www/<name>/<filename>     downloadable files (serve OUT/www at BASE_URL)
    OUT/manual/<name>/...         what a user downloads by hand (manual datasets)
    OUT/manual/placement.json     where :func:`place_manual` puts them (the place_files steps)
    OUT/registry.yaml             the registry, every fact copied, with replica URLs, sizes and
                                  checksums (same algorithms; ``unknown`` where the real one is)
    OUT/expected.json             designed counts per dataset: items, kept, dropped (permissive
                                  run), dropped_<class>, kept_research (with --research-use)
    OUT/replicas.json             one-line description per dataset (archives, audio format)

Audio is a seeded sum of notes, each a band-limited harmonic wavetable (partials up to 0.97 x
Nyquist) under an attack/decay/release envelope, over a noise floor 70 dB below the peak (so the
estimated true bandwidth of a lossless item is its full band); MAESTRO, Slakh, MusicNet and MTD
carry MIDI (or labels) of exactly the rendered notes. The same seed gives byte-identical files
(fixed archive timestamps, sorted members, gzip mtime 0, WAV PEAK timestamp 0), hence stable
checksums.

Layout per dataset. R: real (registry, ``shared/DATASETS.md``, public loaders); 3P: as third
parties describe it; C: chosen here because it is unknown or unverified.

- fma: ``fma_metadata.zip`` (fma_metadata/tracks.csv with the real 3-line header of 52 columns,
  genres.csv, README.txt, checksums) and ``fma_full.zip`` (fma_full/NNN/NNNNNN.mp3,
  checksums); MP3 44.1 kHz (R), stereo (C). 8 tracks: FMA's own licence_title strings (R kinds:
  BY, NC-SA, "aka Music Sharing", BY-SA, BY-ND, empty, CC0, Public Domain Mark): kept 3.
  fma_large/medium/small (default false) are not built (URL 404, size/checksum unknown).
- medley_solos_db: metadata CSV (R columns) + ``Medley-solos-DB.tar.gz`` of flat
  ``Medley-solos-DB_<subset>-<instrument_id>_<uuid4>.wav``; float32 mono 44.1 kHz (R); 4 items
  under the dataset's CC BY 4.0: kept 4.
- mtg_jamendo: checksum list, raw_30s.tsv, audio_licenses.txt (R 4-line blocks, Jamendo URLs
  with a jurisdiction port) and 2 of the 100 shards ``raw_30s_audio-NN.tar`` (NN/ID.mp3, NN =
  ID mod 100; the file set keeps its template, indices [0, 1]); MP3 44.1 kHz stereo (C
  channels). 7 tracks, one missing from audio_licenses.txt: kept 2.
- musan: ``musan.tar.gz`` with musan/README, music/{fma,fma-western-art,hd-classical,jamendo,
  rfm}/ (music-<src>-NNNN.wav, ANNOTATIONS, LICENSE; R), one noise and one speech file (not
  items); WAV 16 kHz mono (R rate). LICENSE contents (C: unverified format): per-file lines
  ``<file>  <artist> - <title>  <licence>`` (URL, "CC BY-NC 4.0", "CC BY-SA 3.0", "CC BY-ND",
  "CC0"), one unlisted file, and a directory-wide public-domain statement: kept 3 of 7.
- musical_instrument (manual, Kaggle): musical-instruments-sound-dataset.zip (Metadata_*.csv,
  {Train,Test}_submission/{Train,Test}_submission/*.wav; 3P) and
  dataset-metadata.json as ``kaggle datasets metadata`` writes it, licence CC0-1.0 (C: the
  real one is unverified); WAV 44.1 kHz mono (C). 5 items: kept 5.
- musicnet: metadata CSV (R columns), ``musicnet.tar.gz`` (musicnet/{train,test}_{data,labels}/
  <id>.wav|.csv with the labels of the rendered notes) and musicnet_midis.tar.gz (default false,
  built all the same: musicnet_midis/<Composer>/<id>_<title>.mid, C); WAV 44.1 kHz mono (C
  channels). 3 items: kept 3.
- slakh2100: ``slakh2100_flac_redux.tar.gz``: <split>/TrackNNNNN/{mix.flac, stems/SNN.flac,
  MIDI/SNN.mid, all_src.mid, metadata.yaml} (R) for train, validation, test and one "omitted"
  track (not an item); FLAC 44.1 kHz mono 16-bit (R). 4 items: kept 4.
- clap_freesound (manual, Hugging Face): freesound_no_overlap/{train_1,train_2,test}/{N.tar,
  sizes.json}, WebDataset shards of <freesound id>.flac + .json (3P), unpacked in place after
  the download (the registry's "tar -x"), and freesound_no_overlap_meta.csv (3P columns;
  licences are Freesound URLs: CC0, BY 4.0, BY 3.0, BY-NC 3.0/4.0, Sampling+, and "unknown" as
  an earlier revision had); FLAC 48 kHz (R) mono (C). 7 items: kept 3.
- gtzan: ``genres.tar.gz`` of genres/<genre>/<genre>.NNNNN.wav, 22.05 kHz mono (R); no licence:
  kept 0 of 4.
- musiccaps (manual): musiccaps-public.csv (R columns) and audio/<ytid>.wav, 48 kHz stereo (C:
  yt-dlp's WAV of YouTube's 48 kHz streams); licence kind none: kept 0 of 3.
- nsynth: the three ``nsynth-{train,valid,test}.jsonwav.tar.gz`` with nsynth-<split>/
  examples.json (R fields) and audio/<note_str>.wav, 16 kHz mono (R); checksums unknown (R).
  4 notes: kept 4.
- piano_triads: ``audioPianoTriadDataset.zip`` with audioPianoTriadDataset/audio_augmented_x10/
  piano_<inst>_<root>_<triad>_<dyn>_<idx>.wav (3P names), 16 kHz mono (C channels); checksum
  unknown (R). 3 chords: kept 3.
- fsd50k: the split zips FSD50K.dev_audio.zip + .z01-.z05 and FSD50K.eval_audio.zip + .z01
  (Info-ZIP split format: split signature, per-segment offsets), FSD50K.metadata.zip
  (*_clips_info_FSD50K.json keyed by clip id with a Freesound licence URL), ground_truth and
  doc zips; WAV 44.1 kHz mono (R). 6 clips: kept 3.
- aam (manual): 0001-1000-audio-mixes.zip of NNNN_mix.flac (3P name), FLAC 44.1 kHz mono (C).
  3 mixes under CC BY 4.0: kept 3.
- ccmixter (manual): ccmixter_corpus.zip (C archive name) with ccmixter_corpus/<artist>_-_
  <title>/{mix,source-01,source-02}.wav (3P), 44.1 kHz (3P) mono (C); unknown licence:
  kept 0 of 3.
- mtd (manual): MTD.zip (C) with MTD/data_AUDIO/*.wav, data_EDM-corr_MID/*.mid, data_META/
  *.json (C names after the demo notebook), WAV 22.05 kHz mono (C); unknown licence: kept 0 of 3.
- maestro: maestro-v3.0.0.csv (R columns), maestro-v3.0.0-midi.zip and maestro-v3.0.0.zip with
  maestro-v3.0.0/<year>/<name>.midi|.wav and the csv/json/LICENSE/README (R); WAV stereo 16-bit
  at 44.1 kHz up to 2015, else 48 kHz (R, after the A2SB loader). CC BY-NC-SA 4.0, research use
  only: kept 0 of 4, research-use kept 4.

The licence filter drops GTZAN, CCMixter and MTD entirely (unknown dataset licence), MusicCaps
(licence kind none) and, in the permissive run, MAESTRO (research use only).
"""

from __future__ import annotations

import copy
import csv
import filecmp
import gzip
import hashlib
import io
import json
import shutil
import struct
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import yaml

from a2sb.errors import InputError
from a2sb.io.atomic import atomic_dir, atomic_write, write_bytes, write_json, write_text

from .corpus.midi import MidiNote, write_midi
from .extract import safe_extract
from .registry import BUILTIN_REGISTRY, parse_registry

PERMISSIVE, NC, ND, SA, UNKNOWN, OTHER = "permissive", "NC", "ND", "SA", "unknown", "other"
DROP_CLASSES = (NC, ND, SA, UNKNOWN, OTHER)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_TAR_MTIME = 1_262_304_000  # 2010-01-01 UTC
_TABLE = 4096
_SPLIT_SIGNATURE = b"PK\x07\x08"


@dataclass(frozen=True)
class ReplicaSet:
    """A built replica folder: the registry to fetch with, the folder to serve at the base URL,
    the hand-downloaded files, the designed counts per dataset (see the module docstring) and a
    one-line description per dataset."""

    registry: Path
    www: Path
    manual: Path
    expected: Mapping[str, Mapping[str, int]] = field(hash=False)
    summary: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass
class _Built:
    """One dataset's replica: served files by registry file name, hand-downloaded files by path
    under manual/<name>/, placement steps, designed licence class per item."""

    files: dict[str, bytes] = field(default_factory=dict)
    manual: dict[str, bytes] = field(default_factory=dict)
    steps: list[dict[str, str]] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    shards: int = 0
    audio: str = ""


# ------------------------------------------------------------------ synthetic music


def _rng(seed: int, *keys: str | int) -> np.random.Generator:
    """A generator that depends only on the seed and the keys."""
    parts = [seed] + [zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in keys]
    return np.random.default_rng(parts)


def _hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def _tone(rng: np.random.Generator, f0: float, rate: int, n: int) -> np.ndarray:
    """``n`` samples of a band-limited harmonic tone (random phases, 1/k^tilt partials)."""
    harmonics = max(1, min(int(0.97 * rate / 2 / f0), _TABLE // 2 - 1))
    k = np.arange(1, harmonics + 1)
    spectrum = np.zeros(_TABLE // 2 + 1, dtype=np.complex128)
    tilt = rng.uniform(0.9, 1.3)
    spectrum[1 : harmonics + 1] = k**-tilt * np.exp(2j * np.pi * rng.random(harmonics))
    table = np.fft.irfft(spectrum, _TABLE)
    table /= np.abs(table).max()
    phase = (f0 / rate * np.arange(n)) % 1.0 * _TABLE
    i = phase.astype(np.int64)
    frac = phase - i
    return table[i] * (1.0 - frac) + table[(i + 1) % _TABLE] * frac


def _render(
    notes: Sequence[MidiNote],
    rate: int,
    seconds: float,
    channels: int,
    rng: np.random.Generator,
    *,
    decay: float = 0.6,
    peak: float = 0.5,
) -> np.ndarray:
    """``[N, channels]`` float32 audio of ``notes`` (peak-normalised to ``peak``)."""
    n = int(round(seconds * rate))
    out = np.zeros((n, channels))
    release = 0.05
    for note in notes:
        start = int(round(note.onset * rate))
        end = min(n, int(round((note.offset + release) * rate)))
        if end <= start:
            continue
        t = np.arange(end - start) / rate
        held = note.offset - note.onset
        env = np.minimum(1.0, t / 0.005) * np.exp(-t / (decay * rng.uniform(0.6, 1.4)))
        env *= np.clip(1.0 - (t - held) / release, 0.0, 1.0)
        wave = _tone(rng, _hz(note.pitch), rate, end - start) * env * (note.velocity / 127.0)
        if channels == 1:
            out[start:end, 0] += wave
        else:
            pan = rng.uniform(0.15, 0.85) * np.pi / 2
            out[start:end, 0] += np.cos(pan) * wave
            out[start:end, 1:] += np.sin(pan) * wave[:, None]
    top = np.abs(out).max()
    out = out * (peak / top) if top > 0 else out
    # a noise floor 70 dB below the peak (dither level): the band is full up to Nyquist
    out += peak * 10 ** (-70 / 20) * rng.standard_normal(out.shape)
    return out.astype(np.float32)


def _phrase(
    rng: np.random.Generator, seconds: float, *, low: int = 45, bass: bool = True
) -> list[MidiNote]:
    """A short tune: a melody on a major or minor scale over bass notes, seeded."""
    scale = (0, 2, 4, 5, 7, 9, 11) if rng.random() < 0.5 else (0, 2, 3, 5, 7, 8, 10)
    root = low + int(rng.integers(0, 12))
    eighth = 30.0 / rng.uniform(90, 140)
    end = seconds - 0.1
    notes: list[MidiNote] = []
    t = 0.02
    while t < end - 0.05:
        pitch = root + 12 + scale[int(rng.integers(0, 7))] + 12 * int(rng.integers(0, 2))
        length = eighth * int(rng.integers(1, 4))
        notes.append(MidiNote(t, min(t + 0.9 * length, end), pitch, int(rng.integers(60, 110))))
        t += length
    if bass:
        t = 0.02
        while t < end - 0.05:
            pitch = root - 12 + scale[int(rng.choice([0, 3, 4, 5]))]
            notes.append(MidiNote(t, min(t + 3.8 * eighth, end), pitch, 80))
            t += 4 * eighth
    return sorted(notes, key=lambda x: (x.onset, x.pitch))


def _audio_bytes(audio: np.ndarray, rate: int, container: str, subtype: str | None = None) -> bytes:
    """Encode with libsndfile; a WAV's PEAK chunk timestamp is zeroed (deterministic)."""
    buf = io.BytesIO()
    fmt = {"wav": "WAV", "flac": "FLAC", "mp3": "MP3"}[container]
    sf.write(buf, audio, rate, format=fmt, subtype=subtype)
    data = buf.getvalue()
    at = data.find(b"PEAK", 12, 256) if fmt == "WAV" else -1
    if at >= 0:  # chunk id, size, version, then the time of writing
        data = data[: at + 12] + b"\0\0\0\0" + data[at + 16 :]
    return data


def _midi_bytes(tracks: Sequence[tuple[str, int, int, Sequence[MidiNote]]]) -> bytes:
    """A Standard MIDI File of ``tracks`` (:func:`a2sb.data.corpus.midi.write_midi`)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.mid"
        write_midi(path, tracks)
        return path.read_bytes()


# ------------------------------------------------------------------ archives


def _with_dirs(members: Mapping[str, bytes]) -> list[str]:
    """Member names and their parent folders (``name/``), sorted: folders come first."""
    names = set(members)
    for m in members:
        parts = m.split("/")[:-1]
        names.update("/".join(parts[: i + 1]) + "/" for i in range(len(parts)))
    return sorted(names)


def _zip(members: Mapping[str, bytes]) -> bytes:
    """A deterministic zip (fixed times, sorted members, folder entries, deflated files)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in _with_dirs(members):
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.create_system = 3
            if name.endswith("/"):
                info.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(info, b"")
            else:
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, members[name])
    return buf.getvalue()


def _tar(members: Mapping[str, bytes], *, gz: bool) -> bytes:
    """A deterministic tar or tar.gz (GNU format, fixed mtime and owner, gzip mtime 0)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in _with_dirs(members):
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mtime, info.uid, info.gid, info.uname, info.gname = _TAR_MTIME, 0, 0, "", ""
            if name.endswith("/"):
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(members[name]), 0o644
                tar.addfile(info, io.BytesIO(members[name]))
    data = buf.getvalue()
    return gzip.compress(data, compresslevel=9, mtime=0) if gz else data


def _split_zip(members: Mapping[str, bytes], parts: int) -> list[bytes]:
    """The segments ``[.z01, ..., .zNN, .zip]`` of an Info-ZIP style split archive: the split
    signature first, segments of equal size (the last holds the rest and the end record), each
    entry's local header given by (segment, offset in it), as ``zip -s`` writes them."""
    whole = _zip(members)
    eocd = whole.rfind(b"PK\x05\x06")
    _, _, _, _, entries, cd_size, cd_offset, _ = struct.unpack_from("<4s4H2LH", whole, eocd)
    total = len(_SPLIT_SIGNATURE) + len(whole)
    size = -(-total // parts)
    if total - (parts - 1) * size < 22:
        raise InputError(f"split zip: {parts} segments are too many for {total} bytes")
    cd = bytearray(whole[cd_offset : cd_offset + cd_size])
    pos, on_last = 0, 0
    while pos < len(cd):
        nlen, xlen, clen = struct.unpack_from("<3H", cd, pos + 28)
        local = len(_SPLIT_SIGNATURE) + struct.unpack_from("<L", cd, pos + 42)[0]
        struct.pack_into("<H", cd, pos + 34, local // size)
        struct.pack_into("<L", cd, pos + 42, local % size)
        on_last += (len(_SPLIT_SIGNATURE) + cd_offset + pos) // size == parts - 1
        pos += 46 + nlen + xlen + clen
    cd_start = len(_SPLIT_SIGNATURE) + cd_offset
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", parts - 1, cd_start // size, on_last, entries, cd_size,
        cd_start % size, 0,
    )  # fmt: skip
    stream = _SPLIT_SIGNATURE + whole[:cd_offset] + bytes(cd) + end
    return [stream[i * size : (i + 1) * size] for i in range(parts)]


def _csv(rows: Sequence[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode()


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()


# ------------------------------------------------------------------ datasets


class _Maker:
    """Shared state of one build: seed and item length."""

    def __init__(self, seed: int, seconds: float) -> None:
        self.seed, self.seconds = seed, seconds

    def music(
        self, name: str, key: str | int, rate: int, channels: int, container: str, **kw: Any
    ) -> bytes:
        rng = _rng(self.seed, name, key)
        notes = _phrase(rng, self.seconds)
        return _audio_bytes(
            _render(notes, rate, self.seconds, channels, rng), rate, container, **kw
        )

    def notes_audio(
        self, name: str, key: str | int, notes: Sequence[MidiNote], rate: int, channels: int
    ) -> np.ndarray:
        return _render(notes, rate, self.seconds, channels, _rng(self.seed, name, key, 1))

    def phrase(self, name: str, key: str | int, **kw: Any) -> list[MidiNote]:
        return _phrase(_rng(self.seed, name, key), self.seconds, **kw)


# Real tracks.csv columns (fma_metadata, pandas MultiIndex written with a 2-row header).
_FMA_COLUMNS = {
    "album": "comments date_created date_released engineer favorites id information listens "
    "producer tags title tracks type",
    "artist": "active_year_begin active_year_end associated_labels bio comments date_created "
    "favorites id latitude location longitude members name related_projects tags website "
    "wikipedia_page",
    "set": "split subset",
    "track": "bit_rate comments composer date_created date_recorded duration favorites genre_top "
    "genres genres_all information interest language_code license listens lyricist number "
    "publisher tags title",
}
_FMA_TRACKS = [  # track id, FMA license_title, designed class
    (2, "Attribution-NonCommercial-ShareAlike 3.0 International", NC),
    (3, "Attribution", PERMISSIVE),
    (5, "Attribution-NonCommercial-NoDerivatives (aka Music Sharing) 3.0 International", NC),
    (10, "Attribution-ShareAlike 3.0 International", SA),
    (20, "Attribution-NoDerivatives 4.0 International", ND),
    (26, "", UNKNOWN),
    (30, "CC0 1.0 Universal", PERMISSIVE),
    (1039, "Public Domain Mark 1.0", PERMISSIVE),
]


def _fma(m: _Maker) -> _Built:
    b = _Built(audio="mp3 44100 Hz stereo")
    cols = [(g, c) for g, names in _FMA_COLUMNS.items() for c in names.split()]
    rows: list[list[Any]] = [
        ["", *[g for g, _ in cols]],
        ["", *[c for _, c in cols]],
        ["track_id", *[""] * len(cols)],
    ]
    full: dict[str, bytes] = {}
    sums = []
    genres = [("Rock", 12), ("Electronic", 15), ("Folk", 17), ("Hip-Hop", 21)]
    for i, (tid, licence, cls) in enumerate(_FMA_TRACKS):
        genre, gid = genres[i % len(genres)]
        values = {
            ("album", "title"): f"Album {tid}",
            ("album", "id"): str(tid + 100),
            ("album", "type"): "Album",
            ("artist", "name"): f"Artist {tid}",
            ("artist", "id"): str(tid + 1000),
            ("artist", "bio"): "<p>Plays music, mostly\nat home</p>",  # quoted, multi-line
            ("set", "split"): "training" if i % 4 else "test",
            ("set", "subset"): ("small", "medium", "large")[i % 3],
            ("track", "bit_rate"): "256000",
            ("track", "date_created"): "2008-11-26 01:48:12",
            ("track", "duration"): str(int(round(m.seconds))),
            ("track", "genre_top"): genre,
            ("track", "genres"): f"[{gid}]",
            ("track", "genres_all"): f"[{gid}]",
            ("track", "interest"): str(1000 + tid),
            ("track", "language_code"): "en",
            ("track", "license"): licence,
            ("track", "listens"): str(500 + tid),
            ("track", "number"): str(i + 1),
            ("track", "tags"): "[]",
            ("track", "title"): f"Track, number {tid}",
        }
        rows.append([str(tid), *[values.get(c, "") for c in cols]])
        rel = f"{tid:06d}"[:3] + f"/{tid:06d}.mp3"
        full[f"fma_full/{rel}"] = m.music("fma", tid, 44100, 2, "mp3")
        sums.append(f"{hashlib.sha1(full[f'fma_full/{rel}']).hexdigest()}  {rel}\n")
        b.classes.append(cls)
    full["fma_full/checksums"] = "".join(sums).encode()
    full["fma_full/README.txt"] = b"fma_full: untrimmed audio, fma_full/NNN/NNNNNN.mp3\n"
    genres_csv = [["genre_id", "#tracks", "parent", "title", "top_level"]]
    genres_csv += [[gid, 1, 0, g, gid] for g, gid in genres]
    meta = {
        "fma_metadata/tracks.csv": _csv(rows),
        "fma_metadata/genres.csv": _csv(genres_csv),
        "fma_metadata/README.txt": b"fma_metadata: tracks.csv, genres.csv\n",
    }
    meta["fma_metadata/checksums"] = "".join(
        f"{hashlib.sha1(v).hexdigest()}  {k.split('/', 1)[1]}\n" for k, v in sorted(meta.items())
    ).encode()
    b.files = {"fma_metadata.zip": _zip(meta), "fma_full.zip": _zip(full)}
    return b


def _medley(m: _Maker) -> _Built:
    b = _Built(audio="wav float32 44100 Hz mono")
    rows = [["subset", "instrument", "instrument_id", "song_id", "uuid4"]]
    members = {}
    items = [("training", "clarinet", 0, 11), ("training", "piano", 4, 23)]
    items += [("validation", "violin", 7, 31), ("test", "flute", 3, 47)]
    for i, (subset, instrument, iid, song) in enumerate(items):
        uid = _rng(m.seed, "medley-uuid", i).bytes(16)
        h = uid.hex()
        u = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"  # a version-4 UUID
        rows.append([subset, instrument, iid, song, u])
        name = f"Medley-solos-DB_{subset}-{iid}_{u}.wav"
        members[name] = m.music("medley_solos_db", i, 44100, 1, "wav", subtype="FLOAT")
        b.classes.append(PERMISSIVE)
    b.files = {
        "Medley-solos-DB_metadata.csv": _csv(rows),
        "Medley-solos-DB.tar.gz": _tar(members, gz=True),
    }
    return b


_JAMENDO = [  # track id, licence line (None: not in audio_licenses.txt), designed class
    (7400, "Attribution license: http://creativecommons.org/licenses/by/3.0/", PERMISSIVE),
    (14300, "Attribution-ShareAlike license: http://creativecommons.org/licenses/by-sa/3.0/", SA),
    (
        215700,
        "Attribution-NonCommercial-ShareAlike license: http://creativecommons.org/licenses/by-nc-sa/2.0/fr/",
        NC,
    ),
    (1079900, None, UNKNOWN),
    (3101, "Attribution-NoDerivatives license: http://creativecommons.org/licenses/by-nd/3.0/", ND),
    (48801, "Attribution license: http://creativecommons.org/licenses/by/2.5/es/", PERMISSIVE),
    (
        1420001,
        "Attribution-NonCommercial-NoDerivatives license: http://creativecommons.org/licenses/by-nc-nd/3.0/",
        NC,
    ),
]


def _jamendo(m: _Maker) -> _Built:
    b = _Built(audio="mp3 44100 Hz stereo")
    shards: dict[int, dict[str, bytes]] = {}
    tsv = ["TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS"]
    blocks = []
    for i, (tid, licence, cls) in enumerate(_JAMENDO):
        rel = f"{tid % 100:02d}/{tid}.mp3"
        shards.setdefault(tid % 100, {})[rel] = m.music("mtg_jamendo", tid, 44100, 2, "mp3")
        tsv.append(
            f"track_{tid:07d}\tartist_{900 + i:06d}\talbum_{1200 + i:06d}\t{rel}\t"
            f"{m.seconds:.1f}\tgenre---rock\tinstrument---guitar"
        )
        if licence is not None:
            blocks.append(
                f"{rel}\nSong {tid} by Artist {i} from Jamendo: http://www.jamendo.com/track/{tid}\n"
                f"Available under a Creative Commons {licence}\n\n"
            )
        b.classes.append(cls)
    b.shards = max(shards) + 1
    tars = {
        f"raw_30s_audio-{k:02d}.tar": _tar(shards.get(k, {}), gz=False) for k in range(b.shards)
    }
    sums = "".join(f"{hashlib.sha256(v).hexdigest()} {k}\n" for k, v in sorted(tars.items()))
    b.files = {
        "raw_30s_audio_sha256_tars.txt": sums.encode(),
        "raw_30s.tsv": ("\n".join(tsv) + "\n").encode(),
        "audio_licenses.txt": "".join(blocks).encode(),
        **tars,
    }
    return b


_MUSAN = [  # folder, stem, LICENSE line licence (None: unlisted), designed class
    ("fma", "music-fma-0000", "http://creativecommons.org/licenses/by/3.0/", PERMISSIVE),
    ("fma", "music-fma-0001", "CC BY-NC 4.0", NC),
    ("fma-western-art", "music-fma-wa-0000", "CC BY-SA 3.0", SA),
    ("fma-western-art", "music-fma-wa-0001", None, UNKNOWN),
    ("hd-classical", "music-hd-0000", None, PERMISSIVE),  # folder-wide public-domain statement
    ("jamendo", "music-jamendo-0000", "CC BY-ND", ND),
    ("rfm", "music-rfm-0000", "CC0", PERMISSIVE),
]


def _musan(m: _Maker) -> _Built:
    b = _Built(audio="wav 16000 Hz mono")
    members: dict[str, bytes] = {"musan/README": b"MUSAN: music, speech and noise corpus.\n"}
    licence: dict[str, list[str]] = {}
    notes: dict[str, list[str]] = {}
    for i, (folder, stem, lic, cls) in enumerate(_MUSAN):
        members[f"musan/music/{folder}/{stem}.wav"] = m.music("musan", stem, 16000, 1, "wav")
        notes.setdefault(folder, []).append(f"{stem} Classical,Jazz N Artist_{i}")
        lines = licence.setdefault(folder, [f"Licences of the recordings in music/{folder}:"])
        if lic is not None:
            lines.append(f"{stem}.wav  Artist_{i} - Piece {i}  {lic}")
        b.classes.append(cls)
    licence["hd-classical"].append("All recordings in this folder are in the public domain.")
    for folder in licence:
        members[f"musan/music/{folder}/LICENSE"] = ("\n".join(licence[folder]) + "\n").encode()
        members[f"musan/music/{folder}/ANNOTATIONS"] = ("\n".join(notes[folder]) + "\n").encode()
    for kind, folder, stem in (("noise", "free-sound", "noise-free-sound-0000"),
                               ("speech", "librivox", "speech-librivox-0000")):  # fmt: skip
        members[f"musan/{kind}/{folder}/{stem}.wav"] = m.music("musan", stem, 16000, 1, "wav")
        members[f"musan/{kind}/{folder}/LICENSE"] = f"{stem}.wav  public domain\n".encode()
    members["musan/speech/librivox/ANNOTATIONS"] = b"speech-librivox-0000 m english\n"
    b.files = {"musan.tar.gz": _tar(members, gz=True)}
    return b


def _kaggle(m: _Maker) -> _Built:
    b = _Built(audio="wav 44100 Hz mono")
    items = [
        ("Train", "Sound_Guitar", "guitar_chord_E_major_00.wav"),
        ("Train", "Sound_Drum", "drum_loop_01.wav"),
        ("Train", "Sound_Violin", "violin_phrase_02.wav"),
        ("Train", "Sound_Piano", "piano_phrase_03.wav"),
        ("Test", "Sound_Piano", "piano_phrase_test_00.wav"),
    ]
    members: dict[str, bytes] = {}
    meta: dict[str, list[list[str]]] = {
        "Train": [["FileName", "Class"]],
        "Test": [["FileName", "Class"]],
    }
    for i, (split, cls, fname) in enumerate(items):
        members[f"{split}_submission/{split}_submission/{fname}"] = m.music(
            "musical_instrument", i, 44100, 1, "wav"
        )
        meta[split].append([fname, cls])
        b.classes.append(PERMISSIVE)
    members["Metadata_Train.csv"] = _csv(meta["Train"])
    members["Metadata_Test.csv"] = _csv(meta["Test"])
    licence = {"nameNullable": "CC0-1.0", "name": "CC0-1.0", "hasName": True}
    metadata = {
        "id": "soumendraprasad/musical-instruments-sound-dataset",
        "datasetSlugNullable": "musical-instruments-sound-dataset",
        "ownerUserNullable": "soumendraprasad",
        "titleNullable": "Musical Instruments Sound Dataset",
        "isPrivate": False,
        "licenses": [licence],
        "keywords": ["music", "audio"],
        "collaborators": [],
        "data": [],
    }
    zip_name = "musical-instruments-sound-dataset.zip"
    b.manual = {zip_name: _zip(members), "dataset-metadata.json": _json(metadata)}
    b.steps = [
        {"action": "extract", "src": zip_name, "dest": "{root}/musical_instrument/raw/"},
        {
            "action": "copy",
            "src": "dataset-metadata.json",
            "dest": "{root}/musical_instrument/raw/dataset-metadata.json",
        },
    ]
    return b


def _musicnet(m: _Maker) -> _Built:
    b = _Built(audio="wav 44100 Hz mono")
    items = [
        ("train", 1727, "Schubert", "Piano Quintet in A major", "2. Andante", "Piano Quintet"),
        ("train", 1728, "Schubert", "Piano Quintet in A major", "3. Scherzo", "Piano Quintet"),
        ("test", 2106, "Bach", "Cello Suite 3", "1. Prelude", "Solo Cello"),
    ]
    meta = [["id", "composer", "composition", "movement", "ensemble", "source", "transcriber",
             "catalog_name", "seconds"]]  # fmt: skip
    members: dict[str, bytes] = {}
    midis: dict[str, bytes] = {}
    beat = 0.5
    for split, rid, composer, composition, movement, ensemble in items:
        notes = m.phrase("musicnet", rid)
        audio = m.notes_audio("musicnet", rid, notes, 44100, 1)
        members[f"musicnet/{split}_data/{rid}.wav"] = _audio_bytes(audio, 44100, "wav")
        labels = [["start_time", "end_time", "instrument", "note", "start_beat", "end_beat",
                   "note_value"]]  # fmt: skip
        for n in notes:
            labels.append([int(round(n.onset * 44100)), int(round(n.offset * 44100)), 1, n.pitch,
                           round(n.onset / beat, 3), round((n.offset - n.onset) / beat, 3),
                           "Quarter"])  # fmt: skip
        members[f"musicnet/{split}_labels/{rid}.csv"] = _csv(labels)
        midis[f"musicnet_midis/{composer}/{rid}_{movement.split('. ')[1].lower()}.mid"] = (
            _midi_bytes([("Piano", 0, 0, notes)])
        )
        meta.append([rid, composer, composition, movement, ensemble, "European Archive",
                     "Transcriber", f"OP{rid}", int(round(m.seconds))])  # fmt: skip
        b.classes.append(PERMISSIVE)
    b.files = {
        "musicnet_metadata.csv": _csv(meta),
        "musicnet.tar.gz": _tar(members, gz=True),
        "musicnet_midis.tar.gz": _tar(midis, gz=True),
    }
    return b


def _slakh(m: _Maker) -> _Built:
    b = _Built(audio="flac 44100 Hz mono 16-bit")
    tracks = [("train", 1), ("train", 2), ("validation", 1501), ("test", 1876), ("omitted", 49)]
    members: dict[str, bytes] = {}
    for split, number in tracks:
        base = f"slakh2100_flac_redux/{split}/Track{number:05d}"
        bass = [x for x in m.phrase("slakh2100", number) if x.pitch < 57]
        keys = [x for x in m.phrase("slakh2100", number) if x.pitch >= 57]
        stems = {"S00": ("Bass", 33, bass), "S01": ("Piano", 0, keys)}
        rendered = {
            s: m.notes_audio("slakh2100", f"{number}{s}", n, 44100, 1)
            for s, (_, _, n) in stems.items()
        }
        mix = sum(rendered.values())
        mix = mix * (0.6 / max(float(np.abs(mix).max()), 1e-9))
        members[f"{base}/mix.flac"] = _audio_bytes(mix.astype(np.float32), 44100, "flac")
        meta: dict[str, Any] = {"UUID": f"{number:032x}", "audio_dir": "stems", "midi_dir": "MIDI",
                                "normalized": True, "overall_gain": 0.5, "stems": {}}  # fmt: skip
        for s, (inst, program, notes) in stems.items():
            members[f"{base}/stems/{s}.flac"] = _audio_bytes(rendered[s], 44100, "flac")
            members[f"{base}/MIDI/{s}.mid"] = _midi_bytes([(inst, program, 0, notes)])
            meta["stems"][s] = {"inst_class": inst, "is_drum": False, "program_num": program,
                                "audio_rendered": True, "midi_saved": True}  # fmt: skip
        members[f"{base}/all_src.mid"] = _midi_bytes(
            [(inst, program, ch, notes) for ch, (inst, program, notes) in enumerate(stems.values())]
        )
        members[f"{base}/metadata.yaml"] = yaml.safe_dump(meta, sort_keys=False).encode()
        if split != "omitted":
            b.classes.append(PERMISSIVE)
    b.files = {"slakh2100_flac_redux.tar.gz": _tar(members, gz=True)}
    return b


_FREESOUND = [  # shard folder, clip (Freesound) id, licence, designed class
    ("train_1", 2394, "http://creativecommons.org/publicdomain/zero/1.0/", PERMISSIVE),
    ("train_1", 17759, "https://creativecommons.org/licenses/by/4.0/", PERMISSIVE),
    ("train_1", 31055, "http://creativecommons.org/licenses/by-nc/3.0/", NC),
    ("train_2", 24931, "http://creativecommons.org/licenses/by/3.0/", PERMISSIVE),
    ("train_2", 48213, "https://creativecommons.org/licenses/by-nc/4.0/", NC),
    ("test", 60517, "http://creativecommons.org/licenses/sampling+/1.0/", OTHER),
    ("test", 73882, "unknown", UNKNOWN),
]


def _clap(m: _Maker) -> _Built:
    b = _Built(audio="flac 48000 Hz mono")
    rows = [["audio_filename", "caption1", "caption2", "freesound_id", "username",
             "freesound_url", "license"]]  # fmt: skip
    shards: dict[str, dict[str, bytes]] = {}
    for i, (shard, fid, licence, cls) in enumerate(_FREESOUND):
        caption = f"a short melodic loop number {i}"
        members = shards.setdefault(shard, {})
        members[f"{fid}.flac"] = m.music("clap_freesound", fid, 48000, 1, "flac")
        members[f"{fid}.json"] = _json(
            {"text": [caption], "tag": ["music", "loop"],
             "original_data": {"id": fid, "license": licence, "username": f"user{i}"}}
        )  # fmt: skip
        rows.append([f"{fid}.flac", caption, f"loop {i}", fid, f"user{i}",
                     f"https://freesound.org/people/user{i}/sounds/{fid}/", licence])  # fmt: skip
        b.classes.append(cls)
    raw = "{root}/clap_freesound/raw/"
    b.manual = {"freesound_no_overlap_meta.csv": _csv(rows)}
    b.steps = [{"action": "copy", "src": "freesound_no_overlap_meta.csv",
                "dest": raw + "freesound_no_overlap_meta.csv"}]  # fmt: skip
    for shard, members in sorted(shards.items()):
        folder = f"freesound_no_overlap/{shard}/"
        b.manual[folder + "0.tar"] = _tar(members, gz=False)
        b.manual[folder + "sizes.json"] = _json({"0.tar": len(members) // 2})
        b.steps += [
            {"action": "copy", "src": folder, "dest": raw + folder},
            {"action": "extract", "src": raw + folder + "0.tar", "dest": raw + folder},
        ]
    return b


def _gtzan(m: _Maker) -> _Built:
    b = _Built(audio="wav 22050 Hz mono")
    members = {}
    for genre in ("blues", "classical", "jazz", "rock"):
        members[f"genres/{genre}/{genre}.00000.wav"] = m.music("gtzan", genre, 22050, 1, "wav")
        b.classes.append(UNKNOWN)
    b.files = {"genres.tar.gz": _tar(members, gz=True)}
    return b


def _musiccaps(m: _Maker) -> _Built:
    b = _Built(audio="wav 48000 Hz stereo")
    rows = [["ytid", "start_s", "end_s", "audioset_positive_labels", "aspect_list", "caption",
             "author_id", "is_balanced_subset", "is_audioset_eval"]]  # fmt: skip
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i in range(3):
        r = _rng(m.seed, "musiccaps-id", i)
        ytid = "".join(alphabet[int(k)] for k in r.integers(0, 64, 11))
        rows.append([ytid, 30, 40, "/m/0140xf,/m/04rlf", "['pop', 'mellow piano']",
                     "A mellow piano melody over a soft bass line.", i + 1,
                     str(bool(i % 2)), str(i != 1)])  # fmt: skip
        b.manual[f"audio/{ytid}.wav"] = m.music("musiccaps", ytid, 48000, 2, "wav")
        b.classes.append(UNKNOWN)
    b.manual["musiccaps-public.csv"] = _csv(rows)
    b.steps = [
        {
            "action": "copy",
            "src": "musiccaps-public.csv",
            "dest": "{root}/musiccaps/raw/musiccaps-public.csv",
        },
        {"action": "copy", "src": "audio/", "dest": "{root}/musiccaps/raw/audio/"},
    ]
    return b


_NSYNTH_FAMILIES = ("bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed",
                    "string", "synth_lead", "vocal")  # fmt: skip
_NSYNTH_SOURCES = ("acoustic", "electronic", "synthetic")
_NSYNTH_QUALITIES = ("bright", "dark", "distortion", "fast_decay", "long_release", "multiphonic",
                     "nonlinear_env", "percussive", "reverb", "tempo-synced")  # fmt: skip


def _nsynth(m: _Maker) -> _Built:
    b = _Built(audio="wav 16000 Hz mono")
    notes = {
        "train": [("guitar", "acoustic", 10, 60, 100), ("bass", "synthetic", 33, 36, 75)],
        "valid": [("keyboard", "electronic", 1, 64, 50)],
        "test": [("brass", "acoustic", 6, 55, 127)],
    }
    for split, entries in notes.items():
        members: dict[str, bytes] = {}
        examples = {}
        for k, (family, source, number, pitch, velocity) in enumerate(entries):
            instrument = f"{family}_{source}_{number:03d}"
            note_str = f"{instrument}-{pitch:03d}-{velocity:03d}"
            note = MidiNote(0.0, 0.75 * m.seconds, pitch, velocity)
            audio = m.notes_audio("nsynth", note_str, [note], 16000, 1)
            members[f"nsynth-{split}/audio/{note_str}.wav"] = _audio_bytes(audio, 16000, "wav")
            quality = [int(q == k % 10) for q in range(10)]
            examples[note_str] = {
                "note": 100000 + 17 * number + pitch,
                "sample_rate": 16000,
                "pitch": pitch,
                "velocity": velocity,
                "instrument": 300 + number,
                "instrument_str": instrument,
                "instrument_source": _NSYNTH_SOURCES.index(source),
                "instrument_source_str": source,
                "instrument_family": _NSYNTH_FAMILIES.index(family),
                "instrument_family_str": family,
                "qualities": quality,
                "qualities_str": [_NSYNTH_QUALITIES[q] for q in range(10) if quality[q]],
                "note_str": note_str,
            }
            b.classes.append(PERMISSIVE)
        members[f"nsynth-{split}/examples.json"] = _json(examples)
        b.files[f"nsynth-{split}.jsonwav.tar.gz"] = _tar(members, gz=True)
    return b


def _triads(m: _Maker) -> _Built:
    b = _Built(audio="wav 16000 Hz mono")
    chords = [(1, "C", "j", "f", 0, 60, (0, 4, 7)), (2, "Ef", "n", "p", 12, 63, (0, 3, 7)),
              (4, "Af", "d", "m", 45, 56, (0, 3, 6))]  # fmt: skip
    members = {}
    for inst, root, triad, dyn, idx, pitch, shape in chords:
        velocity = {"f": 110, "m": 80, "p": 45}[dyn]
        notes = [MidiNote(0.0, 0.8 * m.seconds, pitch + s, velocity) for s in shape]
        name = f"piano_{inst}_{root}_{triad}_{dyn}_{idx}.wav"
        audio = m.notes_audio("piano_triads", name, notes, 16000, 1)
        members[f"audioPianoTriadDataset/audio_augmented_x10/{name}"] = _audio_bytes(
            audio, 16000, "wav"
        )
        b.classes.append(PERMISSIVE)
    b.files = {"audioPianoTriadDataset.zip": _zip(members)}
    return b


_FSD50K = [  # split, clip id, Freesound licence URL, designed class, label
    ("dev", 64760, "http://creativecommons.org/publicdomain/zero/1.0/", PERMISSIVE, "Piano"),
    ("dev", 16399, "http://creativecommons.org/licenses/by/3.0/", PERMISSIVE, "Guitar"),
    ("dev", 21355, "http://creativecommons.org/licenses/by-nc/3.0/", NC, "Organ"),
    ("dev", 9432, "http://creativecommons.org/licenses/sampling+/1.0/", OTHER, "Bass_guitar"),
    ("eval", 37199, "http://creativecommons.org/licenses/by/4.0/", PERMISSIVE, "Harp"),
    ("eval", 102863, "http://creativecommons.org/licenses/by-nc/4.0/", NC, "Trumpet"),
]


def _fsd50k(m: _Maker) -> _Built:
    b = _Built(audio="wav 44100 Hz mono")
    audio: dict[str, dict[str, bytes]] = {"dev": {}, "eval": {}}
    info: dict[str, dict[str, Any]] = {"dev": {}, "eval": {}}
    truth = {"dev": [["fname", "labels", "mids", "split"]], "eval": [["fname", "labels", "mids"]]}
    for i, (split, clip, licence, cls, label) in enumerate(_FSD50K):
        audio[split][f"FSD50K.{split}_audio/{clip}.wav"] = m.music("fsd50k", clip, 44100, 1, "wav")
        info[split][str(clip)] = {
            "title": f"{label.lower()} loop {i}.wav",
            "description": "A loop.",
            "tags": ["music", label.lower()],
            "license": licence,
            "uploader": f"user{i}",
        }
        row = [clip, f"{label},Music", f"/m/0{i:02d}x,/m/04rlf"]
        truth[split].append(row + (["train" if i % 2 else "val"] if split == "dev" else []))
        b.classes.append(cls)
    vocabulary = [[k, label, f"/m/0{k:02d}x"] for k, (*_, label) in enumerate(_FSD50K)]
    for split, parts in (("dev", 6), ("eval", 2)):
        segments = _split_zip(audio[split], parts)
        for k, data in enumerate(segments[:-1], 1):
            b.files[f"FSD50K.{split}_audio.z{k:02d}"] = data
        b.files[f"FSD50K.{split}_audio.zip"] = segments[-1]
    b.files["FSD50K.ground_truth.zip"] = _zip({
        "FSD50K.ground_truth/dev.csv": _csv(truth["dev"]),
        "FSD50K.ground_truth/eval.csv": _csv(truth["eval"]),
        "FSD50K.ground_truth/vocabulary.csv": _csv(vocabulary),
    })  # fmt: skip
    b.files["FSD50K.metadata.zip"] = _zip({
        "FSD50K.metadata/dev_clips_info_FSD50K.json": _json(info["dev"]),
        "FSD50K.metadata/eval_clips_info_FSD50K.json": _json(info["eval"]),
        "FSD50K.metadata/class_info_FSD50K.json": _json({}),
    })  # fmt: skip
    b.files["FSD50K.doc.zip"] = _zip({
        "FSD50K.doc/README.md": b"# FSD50K (replica)\n",
        "FSD50K.doc/LICENSE-DATASET": b"Creative Commons Attribution 4.0 International\n",
    })  # fmt: skip
    return b


def _aam(m: _Maker) -> _Built:
    b = _Built(audio="flac 44100 Hz mono")
    members = {f"{k:04d}_mix.flac": m.music("aam", k, 44100, 1, "flac") for k in (1, 2, 3)}
    b.classes = [PERMISSIVE] * len(members)
    b.manual = {"0001-1000-audio-mixes.zip": _zip(members)}
    b.steps = [{"action": "extract", "src": "0001-1000-audio-mixes.zip", "dest": "{root}/aam/raw/"}]
    return b


def _ccmixter(m: _Maker) -> _Built:
    b = _Built(audio="wav 44100 Hz mono")
    members: dict[str, bytes] = {}
    for song in (
        "Artist_One_-_First_Song",
        "Artist_Two_-_Second_Song",
        "Artist_Three_-_Third_Song",
    ):
        notes = m.phrase("ccmixter", song)
        voice = [x for x in notes if x.pitch >= 57]
        accompaniment = [x for x in notes if x.pitch < 57]
        s1 = m.notes_audio("ccmixter", f"{song}-1", accompaniment, 44100, 1)
        s2 = m.notes_audio("ccmixter", f"{song}-2", voice, 44100, 1)
        for name, audio in (("mix", (s1 + s2) / 2), ("source-01", s1 / 2), ("source-02", s2 / 2)):
            members[f"ccmixter_corpus/{song}/{name}.wav"] = _audio_bytes(audio, 44100, "wav")
        b.classes.append(UNKNOWN)
    b.manual = {"ccmixter_corpus.zip": _zip(members)}
    b.steps = [{"action": "extract", "src": "ccmixter_corpus.zip", "dest": "{root}/ccmixter/raw/"}]
    return b


def _mtd(m: _Maker) -> _Built:
    b = _Built(audio="wav 22050 Hz mono")
    members: dict[str, bytes] = {}
    for k, (composer, work) in enumerate((("Beethoven", "Op067-01"), ("Brahms", "Op068-04"),
                                          ("Dvorak", "Op095-04"))):  # fmt: skip
        stem = f"MTD{k + 1:04d}_{composer}_{work}"
        notes = m.phrase("mtd", stem, bass=False)
        members[f"MTD/data_AUDIO/{stem}.wav"] = _audio_bytes(
            m.notes_audio("mtd", stem, notes, 22050, 1), 22050, "wav"
        )
        members[f"MTD/data_EDM-corr_MID/{stem}.mid"] = _midi_bytes([("Theme", 0, 0, notes)])
        members[f"MTD/data_META/{stem}.json"] = _json(
            {"MTDID": k + 1, "ComposerID": composer, "WorkID": work, "Duration": m.seconds}
        )
        b.classes.append(UNKNOWN)
    b.manual = {"MTD.zip": _zip(members)}
    b.steps = [{"action": "extract", "src": "MTD.zip", "dest": "{root}/mtd/raw/"}]
    return b


_MAESTRO = [  # composer, title, split, year, file stem
    ("Johann Sebastian Bach", "Prelude and Fugue in C Major, WTC I", "train", 2004,
     "MIDI-Unprocessed_SMF_02_R1_2004_01-05_ORIG_MID--AUDIO_02_R1_2004_05_Track05_wav"),
    ("Frederic Chopin", "Nocturne in E-flat Major, Op. 9 No. 2", "validation", 2006,
     "MIDI-Unprocessed_01_R1_2006_01-09_ORIG_MID--AUDIO_01_R1_2006_01_Track01_wav"),
    ("Franz Schubert", "Impromptu in G-flat Major, D. 899 No. 3", "test", 2017,
     "MIDI-Unprocessed_041_PIANO041_MID--AUDIO-split_07-06-17_Piano-e_1-01_wav--1"),
    ("Alban Berg", "Sonata Op. 1", "train", 2018,
     "MIDI-Unprocessed_Chamber3_MID--AUDIO_10_R3_2018_wav--1"),
]  # fmt: skip


def _maestro(m: _Maker) -> _Built:
    b = _Built(audio="wav 44100/48000 Hz stereo 16-bit")
    columns = ["canonical_composer", "canonical_title", "split", "year", "midi_filename",
               "audio_filename", "duration"]  # fmt: skip
    rows = [columns]
    table: dict[str, dict[str, Any]] = {c: {} for c in columns}
    midis: dict[str, bytes] = {}
    wavs: dict[str, bytes] = {}
    for k, (composer, title, split, year, stem) in enumerate(_MAESTRO):
        rate = 44100 if year <= 2015 else 48000  # the A2SB loader's rule
        notes = m.phrase("maestro", stem, low=40)
        midi, wav = f"{year}/{stem}.midi", f"{year}/{stem}.wav"
        midis[f"maestro-v3.0.0/{midi}"] = _midi_bytes([("Piano", 0, 0, notes)])
        wavs[f"maestro-v3.0.0/{wav}"] = _audio_bytes(
            m.notes_audio("maestro", stem, notes, rate, 2), rate, "wav"
        )
        row = [composer, title, split, year, midi, wav, m.seconds]
        rows.append(row)
        for c, v in zip(columns, row):
            table[c][str(k)] = v
        b.classes.append(NC)
    common = {
        "maestro-v3.0.0/maestro-v3.0.0.csv": _csv(rows),
        "maestro-v3.0.0/maestro-v3.0.0.json": _json(table),
        "maestro-v3.0.0/LICENSE": b"Creative Commons Attribution Non-Commercial Share-Alike 4.0\n",
        "maestro-v3.0.0/README": b"MAESTRO v3.0.0 (replica)\n",
    }
    b.files = {
        "maestro-v3.0.0.csv": _csv(rows),
        "maestro-v3.0.0-midi.zip": _zip({**common, **midis}),
        "maestro-v3.0.0.zip": _zip({**common, **midis, **wavs}),
    }
    return b


_BUILDERS: dict[str, Callable[[_Maker], _Built]] = {
    "fma": _fma,
    "medley_solos_db": _medley,
    "mtg_jamendo": _jamendo,
    "musan": _musan,
    "musical_instrument": _kaggle,
    "musicnet": _musicnet,
    "slakh2100": _slakh,
    "clap_freesound": _clap,
    "gtzan": _gtzan,
    "musiccaps": _musiccaps,
    "nsynth": _nsynth,
    "piano_triads": _triads,
    "fsd50k": _fsd50k,
    "aam": _aam,
    "ccmixter": _ccmixter,
    "mtd": _mtd,
    "maestro": _maestro,
}


# ------------------------------------------------------------------ registry and counts


def _expected(classes: Sequence[str], research_use_only: bool) -> dict[str, int]:
    """Designed counts: the permissive run keeps the permissive items (none of a research-use
    dataset); the research-use run keeps every item of a research-use dataset."""
    kept = 0 if research_use_only else sum(c == PERMISSIVE for c in classes)
    dropped = [c for c in classes if research_use_only or c != PERMISSIVE]
    out = {"items": len(classes), "kept": kept, "dropped": len(dropped)}
    out |= {f"dropped_{c}": dropped.count(c) for c in DROP_CLASSES}
    out["kept_research"] = len(classes) if research_use_only else kept
    return out


def _checksum(original: Any, data: bytes) -> Any:
    """The replica's checksum with the real entry's algorithm; ``unknown`` and checksum lists
    stay as they are."""
    if isinstance(original, Mapping) and str(original.get("value", "unknown")) != "unknown":
        algorithm = str(original["algorithm"]).lower()
        return {"algorithm": algorithm, "value": hashlib.new(algorithm, data).hexdigest()}
    return original


def _registry_doc(raw: Mapping[str, Any], built: Mapping[str, _Built], base: str) -> dict:
    doc = copy.deepcopy(dict(raw))
    for name, entry in doc["datasets"].items():
        b = built[name]
        for f in entry.get("files") or []:
            data = b.files.get(f["filename"])
            f["url"] = f"{base}/{name}/{f['filename']}"
            if data is None:
                f["size_bytes"], f["checksum"] = "unknown", "unknown"
                f["note"] = "; ".join([*filter(None, [f.get("note")]), "replica: not built"])
            else:
                f["size_bytes"] = len(data)
                f["checksum"] = _checksum(f.get("checksum", "unknown"), data)
        for fs in entry.get("file_sets") or []:
            fs["url_template"] = f"{base}/{name}/{fs['filename_template']}"
            fs["indices"] = [0, b.shards - 1]
            fs["size_bytes"] = "unknown"
        note = f"Replica (a2sb/data/replica.py): {len(b.classes)} items, {b.audio}."
        entry["notes"] = [*(entry.get("notes") or []), note]
    return doc


def _builtin_registry() -> dict[str, Any]:
    text = resources.files("a2sb.data").joinpath(BUILTIN_REGISTRY).read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    parse_registry(raw, f"a2sb/data/{BUILTIN_REGISTRY}")  # validated as usual
    return raw


def _archives(entry: Mapping[str, Any], b: _Built) -> str:
    """The archive kinds served (``plain``: not an archive) or held for a manual download."""
    files = [f for f in entry.get("files") or [] if f["filename"] in b.files]
    kinds = [str(f.get("archive", "none")) for f in files + list(entry.get("file_sets") or [])]
    kinds = ["plain" if k == "none" else k for k in kinds]
    if entry.get("manual"):
        suffixes = [Path(rel).suffix.lstrip(".") for rel in sorted(b.manual)]
        held = [k if k in ("zip", "tar") else "plain" for k in suffixes]
        kinds.append("manual " + "+".join(dict.fromkeys(held)))
    return "+".join(dict.fromkeys(kinds))


# ------------------------------------------------------------------ public API


def build_replicas(
    out_dir: str | Path, base_url: str, *, seed: int = 0, seconds: float = 2.0
) -> ReplicaSet:
    """Build the replica of every registry dataset under ``out_dir`` (see the module docstring)
    with URLs under ``base_url``; the folder is replaced as a whole (atomically)."""
    out_dir = Path(out_dir)
    base = base_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise InputError(f"base URL {base_url!r} is not http(s)")
    if not 0.5 <= seconds <= 30.0:
        raise InputError(f"seconds must be within [0.5, 30], got {seconds:g}")
    if seed < 0:
        raise InputError(f"seed must be non-negative, got {seed}")
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / "expected.json").is_file():
        raise InputError(f"{out_dir}: not empty and not a replica folder; refusing to replace it")
    raw = _builtin_registry()
    missing = sorted(set(raw["datasets"]) - set(_BUILDERS))
    if missing:
        raise InputError(f"no replica builder for dataset(s) {', '.join(missing)}")
    maker = _Maker(seed, seconds)
    built = {name: _BUILDERS[name](maker) for name in raw["datasets"]}
    expected: dict[str, dict[str, int]] = {}
    summary: dict[str, str] = {}
    placement: dict[str, list[dict[str, str]]] = {}
    for name, entry in raw["datasets"].items():
        b = built[name]
        expected[name] = _expected(b.classes, bool(entry.get("research_use_only")))
        summary[name] = f"{_archives(entry, b)}; {b.audio}"
        if entry.get("manual"):
            place = str(entry["manual"]["place_files"])
            for step in b.steps:
                folder = step["dest"].rsplit("/", 1)[0] + "/"
                if not any(place.startswith(p) or f" {p}" in place for p in _prefixes(folder)):
                    raise InputError(
                        f"{name}: replica places files in {folder}, not where place_files says"
                    )
            placement[name] = b.steps
    with atomic_dir(out_dir) as tmp:
        for name, b in built.items():
            for filename, data in b.files.items():
                write_bytes(tmp / "www" / name / filename, data)
            for rel, data in b.manual.items():
                write_bytes(tmp / "manual" / name / rel, data)
        write_json(tmp / "manual" / "placement.json", placement)
        doc = _registry_doc(raw, built, base)
        header = "# Dataset replicas (a2sb/data/replica.py); format: a2sb/data/registry.py.\n"
        write_text(tmp / "registry.yaml", header + yaml.safe_dump(doc, sort_keys=False, width=100))
        write_json(tmp / "expected.json", expected)
        write_json(tmp / "replicas.json", summary)
    return load_replicas(out_dir)


def _prefixes(folder: str) -> list[str]:
    """``{root}/a/b/`` and its parents down to ``{root}/a/``: where place_files may point."""
    parts = folder.rstrip("/").split("/")
    return ["/".join(parts[:i]) + "/" for i in range(len(parts), 2, -1)]


def load_replicas(out_dir: str | Path) -> ReplicaSet:
    """The :class:`ReplicaSet` of a folder written by :func:`build_replicas`."""
    out_dir = Path(out_dir)
    try:
        expected = json.loads((out_dir / "expected.json").read_text(encoding="utf-8"))
        summary = json.loads((out_dir / "replicas.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{out_dir}: not a replica folder ({exc})") from None
    return ReplicaSet(
        registry=out_dir / "registry.yaml",
        www=out_dir / "www",
        manual=out_dir / "manual",
        expected=expected,
        summary=summary,
    )


def _copy(src: Path, dst: Path) -> None:
    """Copy atomically, unless ``dst`` already holds the same bytes (kept, mtime and all)."""
    if not (dst.is_file() and filecmp.cmp(src, dst, shallow=False)):
        atomic_write(dst, lambda tmp: shutil.copyfile(src, tmp), suffix=dst.suffix or ".tmp")


def _where(path: str, root: Path, source: Path) -> Path:
    """A placement path: ``{root}/...`` under the fetch root, else under the dataset's manual
    folder."""
    return (
        Path(path.replace("{root}", str(root), 1)) if path.startswith("{root}") else source / path
    )


def place_manual(
    replicas: ReplicaSet, root: str | Path, *, names: Sequence[str] | None = None
) -> list[Path]:
    """Put the manual datasets' files (all, or ``names``) where their registry ``place_files``
    says under the fetch root ``root``, as a user would: copy what was downloaded, unzip the
    archives, unpack the shards. Returns the files copied and the members newly extracted; a
    second call changes nothing."""
    root = Path(root)
    try:
        placement = json.loads((replicas.manual / "placement.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{replicas.manual}: no placement.json ({exc})") from None
    unknown = sorted(set(names or ()) - set(placement))
    if unknown:
        raise InputError(f"not a manual dataset of the replicas: {', '.join(unknown)}")
    placed: list[Path] = []
    for name, steps in placement.items():
        if names is not None and name not in names:
            continue
        source = replicas.manual / name
        for step in steps:
            src, dest = _where(step["src"], root, source), _where(step["dest"], root, source)
            if step["action"] == "copy" and step["src"].endswith("/"):
                for p in sorted(q for q in src.rglob("*") if q.is_file()):
                    _copy(p, dest / p.relative_to(src))
                    placed.append(dest / p.relative_to(src))
            elif step["action"] == "copy":
                _copy(src, dest)
                placed.append(dest)
            elif step["action"] == "extract":
                members = safe_extract(src, dest, max_bytes=1 << 30)
                placed += [dest / m for m in members]
            else:
                raise InputError(f"{name}: unknown placement action {step['action']!r}")
    return placed
