"""Synthetic signals for tests and benchmarks: a bright music-like mix and a piano-like
rendering of a note list. Deterministic for a given seed; numpy only (pretty_midi for MIDI)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .midi_f1 import Note


def midi_to_hz(pitch: float) -> float:
    """Equal-tempered frequency of a MIDI pitch (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def render_piano(
    notes: Sequence[Note], sample_rate: int, duration_s: float | None = None, seed: int = 0
) -> np.ndarray:
    """Piano-like rendering [T] float64 of ``notes``: per note, slightly inharmonic partials
    with a 2 ms attack and frequency-dependent exponential decay, a short hammer noise, and a
    30 ms release at the note's end. Peak-normalised to 0.8."""
    rng = np.random.default_rng(seed)
    end = max((n.end for n in notes), default=0.0) + 0.5
    total = int(round((duration_s if duration_s is not None else end) * sample_rate))
    out = np.zeros(total)
    for note in notes:
        start = int(round(note.start * sample_rate))
        if start >= total:
            continue
        length = min(total - start, int(round((note.end - note.start + 0.03) * sample_rate)))
        t = np.arange(length) / sample_rate
        f0 = midi_to_hz(note.pitch)
        tone = np.zeros(length)
        k = 1
        while k * f0 < min(sample_rate / 2, 12000.0):
            fk = k * f0 * np.sqrt(1 + 4e-4 * k * k)  # string inharmonicity
            tone += (
                np.sin(2 * np.pi * fk * t + rng.uniform(0, 2 * np.pi))
                / k**1.3
                * np.exp(-t * (1.5 + 0.4 * k))
            )
            k += 1
        envelope = np.minimum(t / 0.002, 1.0)
        release = t > (note.end - note.start)
        envelope[release] *= np.exp(-(t[release] - (note.end - note.start)) / 0.01)
        hammer = rng.standard_normal(length) * np.exp(-t / 0.004) * 0.3
        out[start : start + length] += (tone + hammer) * envelope * note.amplitude
    peak = np.abs(out).max()
    return out / peak * 0.8 if peak > 0 else out


def example_score(seed: int = 0) -> list[Note]:
    """About 9 s of a melody over sustained triads (C major), 0.5-s melody notes."""
    rng = np.random.default_rng(seed)
    scale = [60, 62, 64, 65, 67, 69, 71, 72, 74, 76]
    notes = []
    for i in range(16):
        pitch = scale[int(rng.integers(0, len(scale)))] + 12
        notes.append(Note(0.5 * i + 0.25, 0.5 * i + 0.7, pitch, 0.8))
    for j, root in enumerate([48, 53, 55, 48]):
        for offset in (0, 4, 7):
            notes.append(Note(2.0 * j + 0.25, 2.0 * j + 2.0, root + offset, 0.6))
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def write_midi(notes: Sequence[Note], path: str | os.PathLike[str]) -> None:
    """Write ``notes`` as a one-track piano MIDI file (pretty_midi)."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    for n in notes:
        piano.notes.append(
            pretty_midi.Note(
                velocity=int(round(n.amplitude * 127)), pitch=n.pitch, start=n.start, end=n.end
            )
        )
    midi.instruments.append(piano)
    midi.write(str(path))


def music_like(duration_s: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    """Bright music-like mix [T] float64: piano-like notes and chords up to 12 kHz partials,
    plus hi-hat-like noise bursts with content up to Nyquist every 0.25 s. Peak 0.8."""
    rng = np.random.default_rng(seed)
    notes = []
    step = 0.25
    for i in range(int(duration_s / step)):
        notes.append(Note(i * step, i * step + 0.4, int(rng.integers(57, 84)), 0.7))
        if i % 8 == 0:
            root = int(rng.integers(40, 52))
            notes += [Note(i * step, i * step + 1.9, root + o, 0.5) for o in (0, 4, 7)]
    mix = render_piano(notes, sample_rate, duration_s, seed)
    n = mix.shape[0]
    hats = np.zeros(n)
    burst = int(0.06 * sample_rate)
    decay = np.exp(-np.arange(burst) / (0.012 * sample_rate))
    for i in range(int(duration_s / step)):
        s = int(i * step * sample_rate)
        m = min(burst, n - s)
        if m > 0:
            noise = np.diff(rng.standard_normal(m + 1))  # first difference: bright, up to Nyquist
            hats[s : s + m] += noise * decay[:m] * (0.25 if i % 2 else 0.12)
    mix = mix + hats + 1e-4 * rng.standard_normal(n)  # faint noise floor: no exact zeros
    return mix / np.abs(mix).max() * 0.8
