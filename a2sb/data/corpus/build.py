"""Build the offline music corpus (SPEC 11): no network, no system packages.

Public-domain scores from music21's bundled corpus (:mod:`.scores`) are rendered by the
project's synthesizer (:mod:`.synth`, :mod:`.drums`) at 44.1 kHz, mono, 16-bit PCM WAV
(quantised by rounding; 16-bit keeps the corpus small and its noise floor, about -98 dBFS, is far
below the -80 dB bandwidth threshold). Sets: ``train``, ``valid`` and four test sets standing in
for AAM (``test_aam``: multi-instrument, each part a different timbre, sometimes drums),
CCMixter (``test_ccmixter``: mixes with lead, bass and drums), MTD (``test_mtd``: string
quartets rendered as an orchestra with doublings and a hall) and Maestro (``test_maestro``: solo
piano with its ground-truth MIDI). Every set draws from its own scores (no leakage), with a
random tempo, transposition, excerpt start, orchestration and room per item, all from
``numpy.random.default_rng([seed, set, item, stream])``: the same seed gives byte-identical
files whatever subset of sets is built.

Output under ``DIR``: ``audio/<set>/<set>_NNN.wav``, ``midi/<set>/<set>_NNN.mid`` (every set;
drums on channel 10), ``manifests/<set>.csv`` (+ ``<set>.dropped.csv``) and
``corpus_report.json`` (per set: items, seconds, share of energy above 8 and 12 kHz, build
time, bytes; per item: score, tempo, transposition, timbres).
"""

from __future__ import annotations

import functools
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from a2sb.errors import InputError
from a2sb.io.atomic import write_json
from a2sb.io.audio import write_audio
from a2sb.io.provenance import package_versions

from ..bandwidth import SpectrumAccumulator
from ..manifest import build_manifest
from . import drums as drum_mod
from . import synth
from .midi import MidiNote, write_midi
from .scores import SET_NAMES, Score, load_score, pools, rights_ok

SAMPLE_RATE = 44100
LICENCE = "Public Domain (composition from the music21 corpus); audio synthesized by a2sb"
TEST_SETS = ("test_aam", "test_ccmixter", "test_mtd", "test_maestro")


@dataclass(frozen=True)
class SetSpec:
    """Size of one set: ``n_items`` items, or items until ``total_seconds`` is reached."""

    split: str
    item_seconds: tuple[float, float]
    n_items: int | None = None
    total_seconds: float | None = None


def _profile(
    train_s: float,
    train_item: tuple[float, float],
    valid_s: float,
    valid_item: tuple[float, float],
    n_test: int,
    test_item: tuple[float, float],
) -> dict[str, SetSpec]:
    out = {
        "train": SetSpec("train", train_item, total_seconds=train_s),
        "valid": SetSpec("valid", valid_item, total_seconds=valid_s),
    }
    out.update({s: SetSpec("test", test_item, n_items=n_test) for s in TEST_SETS})
    return out


PROFILES: dict[str, dict[str, SetSpec]] = {
    "ci": _profile(120.0, (12.0, 20.0), 24.0, (12.0, 12.0), 2, (10.5, 12.0)),
    "default": _profile(1500.0, (20.0, 40.0), 120.0, (20.0, 30.0), 5, (12.0, 30.0)),
}

_TEMPO = {
    "train": (60.0, 110.0),
    "valid": (60.0, 110.0),
    "test_aam": (70.0, 120.0),
    "test_ccmixter": (80.0, 126.0),
    "test_mtd": (70.0, 130.0),
    "test_maestro": (66.0, 120.0),
}


def _rng(seed: int, set_name: str, index: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, SET_NAMES.index(set_name), index, stream])


def item_length(seed: int, set_name: str, index: int, spec: SetSpec) -> float:
    """Planned length of an item in seconds (drawn before any score is parsed)."""
    lo, hi = spec.item_seconds
    return round(float(_rng(seed, set_name, index, 0).uniform(lo, hi)), 2)


def plan_set(seed: int, set_name: str, spec: SetSpec) -> list[float]:
    """Lengths of a set's items: ``n_items`` of them or until ``total_seconds``."""
    lengths: list[float] = []
    while True:
        if spec.n_items is not None and len(lengths) >= spec.n_items:
            return lengths
        if spec.total_seconds is not None and sum(lengths) >= spec.total_seconds:
            return lengths
        lengths.append(item_length(seed, set_name, len(lengths), spec))


def _score_for(seed: int, set_name: str, index: int) -> str:
    pool = pools()[set_name]
    perm = np.random.default_rng([seed, SET_NAMES.index(set_name), 10**6]).permutation(len(pool))
    for k in range(len(pool)):
        path = pool[perm[(index + k) % len(pool)]]
        if rights_ok(path):
            return path
    raise InputError(f"no usable score in the {set_name} pool")


# ------------------------------------------------------------------ arrangement


@dataclass
class Voice:
    """A rendered line: timbre, notes (seconds), ensemble size, gain, MIDI track name."""

    timbre: str
    notes: list[synth.NoteSpec]
    ensemble: int
    gain: float
    name: str


def _excerpt(
    score: Score, start_ql: float, need_ql: float
) -> list[tuple[int, float, float, int, float]]:
    """(pitch, onset_ql, duration_ql, part, abs_ql) inside [start, start+need), looping the piece."""
    reps = int(np.ceil((start_ql + need_ql) / score.length_ql)) + 1
    out = []
    for rep in range(reps):
        base = rep * score.length_ql
        for n in score.notes:
            a = n.onset_ql + base
            if start_ql <= a < start_ql + need_ql:
                out.append((n.pitch, a - start_ql, n.duration_ql, n.part, a))
    return out


def _arrange(
    set_name: str, n_parts: int, medians: list[float], rng: np.random.Generator
) -> tuple[list[str], list[int], list[int], str | None, tuple[float, float]]:
    """Timbre, ensemble size and octave shift per part; drum style; reverb (rt60, wet)."""
    order = np.argsort(medians)  # low to high
    low, top = int(order[0]), int(order[-1])
    shifts = [0] * n_parts
    ens = [1] * n_parts
    if set_name == "test_maestro":
        return (
            ["piano"] * n_parts,
            ens,
            shifts,
            None,
            (float(rng.uniform(0.5, 1.1)), float(rng.uniform(0.06, 0.14))),
        )
    if set_name == "test_mtd":
        return (
            ["strings"] * n_parts,
            [2] * n_parts,
            shifts,
            None,
            (float(rng.uniform(1.6, 2.6)), float(rng.uniform(0.22, 0.35))),
        )
    if set_name == "test_ccmixter":
        timbres = [
            str(rng.choice(["plucked", "organ", "piano", "strings", "mallet"]))
            for _ in range(n_parts)
        ]
        timbres[top] = str(rng.choice(["lead", "brass"]))
        timbres[low] = "bass"
        if medians[low] > 45:
            shifts[low] = -12
        return (
            timbres,
            ens,
            shifts,
            str(rng.choice(drum_mod.STYLES)),
            (float(rng.uniform(0.4, 0.9)), float(rng.uniform(0.08, 0.2))),
        )
    if set_name == "test_aam":
        pool = ["piano", "plucked", "organ", "strings", "brass", "reed", "lead", "mallet"]
        picks = list(rng.permutation(pool))
        timbres = [str(picks[i % len(picks)]) for i in range(n_parts)]
        if n_parts > 2:
            timbres[low] = "bass"
            if medians[low] > 45:
                shifts[low] = -12
        style = str(rng.choice(drum_mod.STYLES)) if rng.random() < 0.5 else None
        return (
            timbres,
            ens,
            shifts,
            style,
            (float(rng.uniform(0.4, 1.4)), float(rng.uniform(0.08, 0.22))),
        )
    # train / valid: anything goes
    names = list(synth.TIMBRES)
    weights = np.array([0.16, 0.13, 0.0, 0.12, 0.15, 0.12, 0.12, 0.12, 0.08])
    timbres = [str(rng.choice(names, p=weights / weights.sum())) for _ in range(n_parts)]
    if rng.random() < 0.4 and n_parts > 1:
        timbres[low] = "bass"
        if medians[low] > 45:
            shifts[low] = -12
    ens = [2 if t == "strings" and rng.random() < 0.5 else 1 for t in timbres]
    style = str(rng.choice(drum_mod.STYLES)) if rng.random() < 0.4 else None
    return (
        timbres,
        ens,
        shifts,
        style,
        (float(rng.uniform(0.3, 2.0)), float(rng.uniform(0.05, 0.3))),
    )


@functools.lru_cache(maxsize=64)
def _timbre_gain(timbre: str, sr: int) -> float:
    """Gain that brings a reference note (C4, velocity 0.7, 1 s) of the timbre to RMS 0.1."""
    rng = np.random.default_rng(12345)
    y = synth.render_note(
        timbre, synth.NoteSpec(60, 0.0, 1.0, 0.7), sr, rng, synth.NoiseBank(rng, sr, 1.0)
    )
    return 0.1 / (float(np.sqrt(np.mean(y.astype(np.float64) ** 2))) + 1e-9)


@dataclass
class RenderedItem:
    """One rendered item: its audio (float32, [N]), MIDI tracks, tempo and provenance."""

    name: str
    audio: np.ndarray
    tracks: list[tuple[str, int, int, list[MidiNote]]]
    bpm: float
    meta: dict[str, Any]


def render_item(
    set_name: str,
    index: int,
    length: float,
    seed: int,
    sr: int = SAMPLE_RATE,
    renderer: str = "builtin",
    soundfont: str | None = None,
) -> RenderedItem:
    """Render item ``index`` of ``set_name`` (deterministic from the arguments)."""
    rng = _rng(seed, set_name, index, 1)
    path = _score_for(seed, set_name, index)
    score = load_score(path)
    bpm = round(float(rng.uniform(*_TEMPO[set_name])), 1)
    q = 60.0 / bpm
    transpose = int(rng.integers(-4, 5))
    need_ql = length / q
    starts = [b for b in score.bar_starts if b <= max(0.0, score.length_ql - need_ql)] or [0.0]
    start_ql = float(starts[int(rng.integers(0, len(starts)))])
    events = _excerpt(score, start_ql, need_ql)
    n_parts = max(1, len(score.part_names))
    medians = [
        float(np.median([e[0] for e in events if e[3] == p]))
        if any(e[3] == p for e in events)
        else 60.0
        for p in range(n_parts)
    ]
    timbres, ens, shifts, style, (rt60, wet) = _arrange(set_name, n_parts, medians, rng)
    top = int(np.argmax(medians))

    # dynamics: item level, slow swell, metric accents, melody emphasis, jitter
    base = rng.uniform(0.45, 0.85)
    period, phi = rng.uniform(6.0, 16.0), rng.uniform(0, 2 * np.pi)
    parts: dict[int, list[synth.NoteSpec]] = {p: [] for p in range(n_parts)}
    for pitch, onset_ql, dur_ql, part, abs_ql in events:
        p = pitch + transpose + shifts[part]
        while p < 24:
            p += 12
        while p > 103:
            p -= 12
        onset = max(0.0, onset_ql * q + rng.normal(0.0, 0.006))
        accent = (
            0.08
            if abs(abs_ql % score.bar_ql) < 1e-6
            else (0.03 if abs(abs_ql % 1.0) < 1e-6 else 0.0)
        )
        vel = (
            base
            + 0.15 * np.sin(2 * np.pi * onset / period + phi)
            + accent
            + (0.05 if part == top else 0.0)
            + rng.normal(0, 0.04)
        )
        articulation = 0.97 if timbres[part] in ("strings", "organ", "reed", "brass") else 0.92
        parts[part].append(
            synth.NoteSpec(
                float(p),
                onset,
                max(0.03, dur_ql * q * articulation),
                float(np.clip(vel, 0.15, 1.0)),
            )
        )
    # same pitch in the same part: end the earlier note before the next onset (clean MIDI)
    for notes in parts.values():
        notes.sort(key=lambda n: (n.onset, n.pitch))
        last: dict[float, int] = {}
        for i, n in enumerate(notes):
            j = last.get(n.pitch)
            if j is not None and notes[j].onset + notes[j].duration > n.onset - 0.002:
                notes[j] = synth.NoteSpec(
                    notes[j].pitch,
                    notes[j].onset,
                    max(0.02, n.onset - notes[j].onset - 0.002),
                    notes[j].velocity,
                )
            last[n.pitch] = i

    voices = [
        Voice(
            timbres[p],
            parts[p],
            ens[p],
            1.0 if p == top else 0.75,
            score.part_names[p] if p < len(score.part_names) else f"part{p}",
        )
        for p in range(n_parts)
    ]
    if set_name == "test_mtd":  # orchestral doublings: winds on the melody, horns on the bass
        if rng.random() < 0.6:
            voices.append(
                Voice(
                    "reed",
                    [
                        synth.NoteSpec(n.pitch, n.onset, n.duration, n.velocity * 0.8)
                        for n in parts[top]
                    ],
                    1,
                    0.45,
                    "winds",
                )
            )
        low = int(np.argmin(medians))
        if rng.random() < 0.4 and low != top:
            voices.append(
                Voice(
                    "brass",
                    [
                        synth.NoteSpec(n.pitch, n.onset, n.duration, n.velocity * 0.7)
                        for n in parts[low]
                    ],
                    1,
                    0.35,
                    "horns",
                )
            )

    n = int(round(length * sr))
    hits = drum_mod.pattern(length, bpm, score.bar_ql, rng, style) if style else []
    if renderer == "fluidsynth":
        audio = _render_fluidsynth(voices, hits, bpm, n, sr, soundfont)
    elif renderer == "builtin":
        noise = synth.NoiseBank(rng, sr)
        mix = np.zeros(n, dtype=np.float32)
        for v in voices:
            if v.notes:
                mix += (
                    v.gain
                    * _timbre_gain(v.timbre, sr)
                    * synth.render_part(v.timbre, v.notes, n, sr, rng, noise, ensemble=v.ensemble)
                )
        if hits:
            kit = drum_mod.make_kit(sr, rng)
            d = drum_mod.render_drums(hits, n, sr, kit, rng)
            music_rms = float(np.sqrt(np.mean(mix.astype(np.float64) ** 2))) or 0.05
            d_rms = float(np.sqrt(np.mean(d.astype(np.float64) ** 2))) or 1.0
            mix += d * (rng.uniform(0.5, 0.8) * music_rms / d_rms)
        audio = synth.reverb(mix, sr, rng, rt60, wet)
    else:
        raise InputError(f"unknown renderer {renderer!r} (builtin, fluidsynth)")
    audio = _master(audio, sr, rng)

    tracks: list[tuple[str, int, int, list[MidiNote]]] = []
    channels = [c for c in range(16) if c != 9]
    for i, v in enumerate(voices):
        notes = [
            MidiNote(
                nn.onset,
                min(length, nn.onset + nn.duration),
                int(round(nn.pitch)),
                int(round(1 + 126 * nn.velocity)),
            )
            for nn in v.notes
            if nn.onset < length
        ]
        tracks.append((v.name, synth.GM_PROGRAMS[v.timbre], channels[i % 15], notes))
    if hits:
        dn = [
            MidiNote(
                h.time,
                min(length, h.time + 0.1),
                drum_mod.GM_DRUMS[h.name],
                int(round(1 + 126 * h.velocity)),
                9,
            )
            for h in hits
        ]
        tracks.append(("drums", -1, 9, dn))
    meta = {
        "score": path,
        "rights": score.rights or "none embedded",
        "tempo_bpm": bpm,
        "transpose": transpose,
        "start_ql": start_ql,
        "seconds": length,
        "timbres": [v.timbre for v in voices],
        "drums": style,
        "reverb_rt60": round(rt60, 3),
        "notes": sum(len(v.notes) for v in voices),
    }
    return RenderedItem(f"{set_name}_{index:03d}", audio, tracks, bpm, meta)


def _master(x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Remove DC, fade the edges, normalise the peak to -3..-1 dBFS."""
    x = x.astype(np.float64) - float(np.mean(x))
    fi, fo = min(len(x), int(0.005 * sr)), min(len(x), int(0.03 * sr))
    if fi:
        x[:fi] *= np.linspace(0.0, 1.0, fi)
    if fo:
        x[-fo:] *= np.linspace(1.0, 0.0, fo)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > 0:
        x *= 10 ** (rng.uniform(-3.0, -1.0) / 20) / peak
    return x.astype(np.float32)


def find_soundfont(soundfont: str | None = None) -> str:
    """A General MIDI soundfont: the argument, ``$A2SB_SOUNDFONT`` or a common system path."""
    for cand in (
        soundfont,
        os.environ.get("A2SB_SOUNDFONT"),
        "/usr/share/sounds/sf2/FluidR3_GM.sf2",
        "/usr/share/soundfonts/FluidR3_GM.sf2",
        "/usr/share/soundfonts/default.sf2",
    ):
        if cand and Path(cand).is_file():
            return str(cand)
    raise InputError(
        "no General MIDI soundfont found (pass --soundfont FILE or set A2SB_SOUNDFONT)"
    )


def _render_fluidsynth(
    voices: list[Voice],
    hits: list[drum_mod.Hit],
    bpm: float,
    n: int,
    sr: int,
    soundfont: str | None,
) -> np.ndarray:
    import soundfile as sf

    exe = shutil.which("fluidsynth")
    if exe is None:
        raise InputError("fluidsynth is not installed (use the builtin renderer, the default)")
    sf2 = find_soundfont(soundfont)
    channels = [c for c in range(16) if c != 9]
    tracks: list[tuple[str, int, int, list[MidiNote]]] = []
    for i, v in enumerate(voices):
        tracks.append(
            (
                v.name,
                synth.GM_PROGRAMS[v.timbre],
                channels[i % 15],
                [
                    MidiNote(
                        x.onset,
                        x.onset + x.duration,
                        int(round(x.pitch)),
                        int(round(1 + 126 * x.velocity)),
                    )
                    for x in v.notes
                ],
            )
        )
    if hits:
        tracks.append(
            (
                "drums",
                -1,
                9,
                [
                    MidiNote(
                        h.time,
                        h.time + 0.1,
                        drum_mod.GM_DRUMS[h.name],
                        int(round(1 + 126 * h.velocity)),
                        9,
                    )
                    for h in hits
                ],
            )
        )
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = Path(tmp) / "item.mid", Path(tmp) / "item.wav"
        write_midi(mid, tracks, bpm=bpm)
        proc = subprocess.run(
            [exe, "-ni", "-g", "0.6", "-r", str(sr), "-F", str(wav), "-T", "wav", sf2, str(mid)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0 or not wav.exists():
            raise InputError(
                f"fluidsynth failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}"
            )
        y, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    if rate != sr:
        raise InputError(f"fluidsynth wrote {rate} Hz, expected {sr}")
    y = y.mean(axis=1)
    return np.pad(y, (0, max(0, n - len(y))))[:n]


# ------------------------------------------------------------------ corpus build


def _write_wav(path: Path, audio: np.ndarray, sr: int) -> None:
    """``audio`` [L] in [-1, 1] quantised by rounding to 16-bit PCM, written atomically."""
    pcm = np.clip(np.round(audio.astype(np.float64) * 32767.0), -32768, 32767).astype(np.int16)
    write_audio(path, pcm, sr, subtype="PCM_16")


def build_corpus(
    out: str | Path,
    profile: str = "default",
    seed: int = 0,
    *,
    sets: Sequence[str] | None = None,
    renderer: str = "builtin",
    soundfont: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Build the corpus under ``out``; return (and write) the report. See the module docstring."""
    from tqdm import tqdm

    if profile not in PROFILES:
        raise InputError(f"unknown corpus profile {profile!r} (known: {', '.join(PROFILES)})")
    chosen = list(sets) if sets else list(SET_NAMES)
    bad = [s for s in chosen if s not in SET_NAMES]
    if bad:
        raise InputError(f"unknown corpus set(s) {', '.join(bad)} (known: {', '.join(SET_NAMES)})")
    if renderer == "fluidsynth":
        if shutil.which("fluidsynth") is None:
            raise InputError("fluidsynth is not installed (use the builtin renderer, the default)")
        soundfont = find_soundfont(soundfont)
    out = Path(out)
    t_start = time.perf_counter()
    report: dict[str, Any] = {
        "profile": profile,
        "seed": seed,
        "sample_rate": SAMPLE_RATE,
        "format": "WAV PCM_16 mono",
        "renderer": renderer,
        "license": LICENCE,  # the report's key, spelled like the manifests' column
        "versions": _versions(),
        "sets": {},
    }
    for set_name in chosen:
        t0 = time.perf_counter()
        spec = PROFILES[profile][set_name]
        lengths = plan_set(seed, set_name, spec)
        acc = SpectrumAccumulator(SAMPLE_RATE)
        audio_dir, midi_dir = out / "audio" / set_name, out / "midi" / set_name
        items_meta, files = [], []
        for i in tqdm(
            range(len(lengths)), desc=f"corpus {set_name}", unit="item", disable=not progress
        ):
            item = render_item(set_name, i, lengths[i], seed, SAMPLE_RATE, renderer, soundfont)
            acc.add(item.audio)
            wav = audio_dir / f"{item.name}.wav"
            _write_wav(wav, item.audio, SAMPLE_RATE)
            write_midi(midi_dir / f"{item.name}.mid", item.tracks, bpm=item.bpm)
            files.append(wav)
            items_meta.append({"name": item.name, **item.meta})
        keep = {f.name for f in files} | {f.with_suffix(".mid").name for f in files}
        for d in (audio_dir, midi_dir):  # stale items of an earlier, larger build
            for f in d.glob(f"{set_name}_*.*"):
                if f.name not in keep:
                    f.unlink()
        rows, dropped = build_manifest(
            out / "manifests" / f"{set_name}.csv",
            files,
            dataset=f"offline-{set_name}",
            split=spec.split,
            licence=LICENCE,
            progress=False,
        )
        if dropped:
            raise InputError(f"corpus {set_name}: rendered files failed to read back: {dropped[0]}")
        report["sets"][set_name] = {
            "split": spec.split,
            "items": len(rows),
            "total_seconds": round(sum(r["duration"] for r in rows), 3),
            "energy_share_above_8k": round(acc.energy_share_above(8000.0), 6),
            "energy_share_above_12k": round(acc.energy_share_above(12000.0), 6),
            "bytes": sum(f.stat().st_size for f in files)
            + sum((midi_dir / f"{f.stem}.mid").stat().st_size for f in files),
            "build_seconds": round(time.perf_counter() - t0, 2),
            "item_list": items_meta,
        }
        if log:
            s = report["sets"][set_name]
            log(
                f"corpus {set_name}: {s['items']} items, {s['total_seconds']:.1f} s, >8k {s['energy_share_above_8k']:.4f}, >12k {s['energy_share_above_12k']:.4f}, {s['build_seconds']:.1f} s"
            )
    previous = out / "corpus_report.json"
    if sets and previous.exists():  # a partial build keeps the other sets' entries
        try:
            old = json.loads(previous.read_text())
        except ValueError:
            old = {}
        if old.get("profile") == profile and old.get("seed") == seed:
            report["sets"] = {
                **{k: v for k, v in old.get("sets", {}).items() if k not in report["sets"]},
                **report["sets"],
            }
    report["total_seconds"] = round(sum(s["total_seconds"] for s in report["sets"].values()), 3)
    report["total_bytes"] = sum(s["bytes"] for s in report["sets"].values())
    report["build_seconds"] = round(time.perf_counter() - t_start, 2)
    write_json(out / "corpus_report.json", report)
    return report


def _versions() -> dict[str, str | None]:
    """Python and the versions of the packages that shape the corpus's samples."""
    return {"python": platform.python_version(), **package_versions(("numpy", "scipy", "music21"))}
