"""Synthetic drum kit and patterns: kick, snare, hi-hats and cymbals with energy up to 20 kHz.

Sounds: kick (pitch-swept sine with a click), snare (two decaying tones plus highpassed noise),
closed and open hi-hat, crash and ride cymbals (six detuned square waves at 808-style
inharmonic ratios plus white noise, highpassed, so most of their energy lies above 5 kHz and
reaches the Nyquist frequency). Patterns follow the score's bar length in quarter notes
(rock, four-on-the-floor with 16th hats, ride swing, half-time), with a crash every 8 bars,
a fill before it, humanised timing and velocities. Deterministic from the ``rng``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STYLES = ("rock", "four", "ride", "half")
GM_DRUMS = {"kick": 36, "snare": 38, "hat": 42, "open_hat": 46, "crash": 49, "ride": 51}
_METAL = np.array([205.3, 304.4, 369.6, 522.7, 540.0, 800.0])


@dataclass(frozen=True)
class Hit:
    """One drum hit: instrument name, time (s), velocity 0..1."""

    name: str
    time: float
    velocity: float


def _hp(x: np.ndarray, sr: int, cutoff: float, order: int = 4) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    return sosfilt(butter(order, cutoff, btype="highpass", fs=sr, output="sos"), x)


def _metal(t: np.ndarray, scale: float) -> np.ndarray:
    ph = np.outer(t, _METAL * scale)
    return np.sign(np.sin(2 * np.pi * ph)).sum(axis=1) / len(_METAL)


def make_kit(sr: int, rng: np.random.Generator) -> dict[str, list[np.ndarray]]:
    """Three variants of every drum sound (float32, peak about 1)."""
    kit: dict[str, list[np.ndarray]] = {k: [] for k in GM_DRUMS}
    for _ in range(3):
        t = np.arange(int(0.45 * sr)) / sr
        f = rng.uniform(40, 50) + rng.uniform(90, 130) * np.exp(-t / 0.04)
        kick = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / rng.uniform(0.14, 0.22))
        kick[: int(0.003 * sr)] += 0.3 * rng.standard_normal(int(0.003 * sr))
        kit["kick"].append(kick)

        t = np.arange(int(0.35 * sr)) / sr
        tone = (
            np.sin(2 * np.pi * rng.uniform(175, 195) * t) + 0.6 * np.sin(2 * np.pi * 330 * t)
        ) * np.exp(-t / 0.05)
        noise = _hp(rng.standard_normal(len(t)), sr, 1200.0, 2) * np.exp(
            -t / rng.uniform(0.09, 0.14)
        )
        kit["snare"].append(0.5 * tone + noise)

        for name, length, tau, cut in (
            ("hat", 0.15, 0.03, 7000.0),
            ("open_hat", 0.8, 0.25, 6500.0),
            ("crash", 2.5, 0.9, 3500.0),
            ("ride", 1.5, 0.6, 2500.0),
        ):
            t = np.arange(int(length * sr)) / sr
            scale = rng.uniform(1.0, 1.25) * (1.45 if name == "crash" else 1.0)
            raw = 0.6 * _metal(t, scale) + rng.standard_normal(len(t))
            env = np.exp(-t / (tau * rng.uniform(0.85, 1.15)))
            if name == "ride":
                env = env + 0.6 * np.exp(-t / 0.08)
            kit[name].append(_hp(raw, sr, cut) * env)
    for name, variants in kit.items():
        kit[name] = [(v / (np.max(np.abs(v)) + 1e-9)).astype(np.float32) for v in variants]
    return kit


def pattern(
    duration: float, bpm: float, bar_ql: float, rng: np.random.Generator, style: str | None = None
) -> list[Hit]:
    """Hits for ``duration`` seconds on the score's grid (quarter = 60/bpm s, bar = bar_ql)."""
    style = style or str(rng.choice(STYLES))
    if style not in STYLES:
        raise ValueError(f"unknown drum style {style!r} (known: {', '.join(STYLES)})")
    q = 60.0 / bpm
    hits: list[Hit] = []
    bar_ql = bar_ql if bar_ql >= 2 else 4.0
    n_bars = int(np.ceil(duration / (bar_ql * q))) + 1

    def add(name: str, ql: float, vel: float) -> None:
        time = ql * q + rng.normal(0, 0.004)
        if 0 <= time < duration:
            hits.append(
                Hit(name, max(0.0, time), float(np.clip(vel * rng.uniform(0.85, 1.1), 0.1, 1.0)))
            )

    for bar in range(n_bars):
        b0 = bar * bar_ql
        fill = bar % 8 == 7
        if bar % 8 == 0:
            add("crash", b0, 0.9)
        beats = int(round(bar_ql))
        for beat in range(beats):
            ql = b0 + beat
            if style == "four":
                add("kick", ql, 0.95)
            elif style == "half":
                if beat % 4 == 0:
                    add("kick", ql, 0.95)
            elif beat % 2 == 0:
                add("kick", ql, 0.95 if beat == 0 else 0.8)
                if style == "rock" and rng.random() < 0.3:
                    add("kick", ql + 1.5, 0.6)
            if fill and beat == beats - 1:
                for s in range(4):
                    add("snare", ql + s / 4, 0.55 + 0.1 * s)
                continue
            if (style != "half" and beat % 2 == 1) or (style == "half" and beat % 4 == 2):
                add("snare", ql, 0.85)
            if style == "ride":
                add("ride", ql, 0.7)
                add("ride", ql + 2 / 3, 0.45)
            elif style == "four":
                for s in range(4):
                    add("open_hat" if s == 2 else "hat", ql + s / 4, (0.8, 0.4, 0.65, 0.4)[s])
            else:
                add("hat", ql, 0.75)
                add("hat", ql + 0.5, 0.5)
    return sorted(hits, key=lambda h: h.time)


def render_drums(
    hits: list[Hit],
    n_samples: int,
    sr: int,
    kit: dict[str, list[np.ndarray]],
    rng: np.random.Generator,
) -> np.ndarray:
    """Mix the hits into a float32 buffer of ``n_samples``; an open hat is choked by the next hat."""
    out = np.zeros(n_samples, dtype=np.float32)
    gains = {"kick": 1.0, "snare": 0.8, "hat": 0.35, "open_hat": 0.3, "crash": 0.4, "ride": 0.3}
    hat_times = [h.time for h in hits if h.name in ("hat", "open_hat")]
    for h in hits:
        y = kit[h.name][int(rng.integers(0, len(kit[h.name])))]
        s = int(h.time * sr)
        if s >= n_samples:
            continue
        length = len(y)
        if h.name == "open_hat":
            later = [t for t in hat_times if t > h.time]
            if later:
                length = min(length, int((later[0] - h.time) * sr) + int(0.01 * sr))
        end = min(n_samples, s + length)
        out[s:end] += gains[h.name] * h.velocity * y[: end - s]
    return out
