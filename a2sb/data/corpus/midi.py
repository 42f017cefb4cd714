"""Minimal Standard MIDI File writer and reader (format 1), no third-party dependency.

The writer stores notes given in seconds with one constant tempo (the item's tempo), one track
per part with its General MIDI program, and drums on channel 10. Ticks are rounded to
1/``TICKS_PER_BEAT`` of a beat (about 1 ms at 120 bpm), well inside the 50 ms onset tolerance of
the MIDI-F1 evaluation. The reader returns notes in seconds (for tests and evaluation).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from a2sb.io.atomic import write_bytes

TICKS_PER_BEAT = 960


@dataclass(frozen=True)
class MidiNote:
    """A note in seconds: onset, offset, MIDI pitch, velocity 1..127, channel 0..15."""

    onset: float
    offset: float
    pitch: int
    velocity: int
    channel: int = 0


def _read_vlq(data: bytes, pos: int) -> tuple[int, int]:
    """Read a MIDI variable-length quantity at ``pos``: ``(value, position after it)``."""
    value = 0
    while True:
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def _track(events: list[tuple[int, int, bytes]]) -> bytes:
    """Events (tick, order, data) -> an MTrk chunk; order breaks ties (note-offs first)."""
    body = bytearray()
    last = 0
    for tick, _, data in sorted(events, key=lambda e: (e[0], e[1])):
        body += _vlq(tick - last) + data
        last = tick
    body += _vlq(0) + b"\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def write_midi(
    path: str | Path,
    tracks: Sequence[tuple[str, int, int, Sequence[MidiNote]]],
    *,
    bpm: float = 120.0,
) -> None:
    """Write tracks ``(name, program, channel, notes)`` atomically; program < 0 = none."""
    us_per_beat = int(round(60e6 / bpm))
    ticks_per_s = TICKS_PER_BEAT * 1e6 / us_per_beat

    def tick(seconds: float) -> int:
        return max(0, int(round(seconds * ticks_per_s)))

    chunks = [_track([(0, 0, b"\xff\x51\x03" + us_per_beat.to_bytes(3, "big"))])]
    for name, program, channel, notes in tracks:
        ev: list[tuple[int, int, bytes]] = [
            (0, 0, b"\xff\x03" + _vlq(len(name.encode())) + name.encode())
        ]
        if program >= 0:
            ev.append((0, 1, bytes([0xC0 | channel, program & 0x7F])))
        for n in notes:
            on, off = tick(n.onset), tick(n.offset)
            off = max(off, on + 1)
            ev.append(
                (on, 3, bytes([0x90 | channel, n.pitch & 0x7F, max(1, min(127, n.velocity))]))
            )
            ev.append((off, 2, bytes([0x80 | channel, n.pitch & 0x7F, 0])))
        chunks.append(_track(ev))
    data = b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), TICKS_PER_BEAT) + b"".join(chunks)
    write_bytes(path, data)


def read_midi(path: str | Path) -> list[MidiNote]:
    """Notes of a MIDI file in seconds (tempo changes honoured), sorted by onset."""
    data = Path(path).read_bytes()
    if data[:4] != b"MThd":
        raise ValueError(f"{path}: not a MIDI file")
    _, _, ntrk, division = struct.unpack(">IHHH", data[4:14])
    pos = 8 + struct.unpack(">I", data[4:8])[0]
    raw: list[tuple[int, int, int, int, int]] = []  # tick, kind(0 tempo,1 on,2 off), a, b, ch
    for _ in range(ntrk):
        assert data[pos : pos + 4] == b"MTrk", f"{path}: bad track chunk"
        length = struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        p, end, tick, status = pos + 8, pos + 8 + length, 0, 0
        while p < end:
            delta, p = _read_vlq(data, p)
            tick += delta
            if data[p] & 0x80:
                status = data[p]
                p += 1
            if status == 0xFF:
                mtype, p = data[p], p + 1
                mlen, p = _read_vlq(data, p)
                if mtype == 0x51:
                    raw.append((tick, 0, int.from_bytes(data[p : p + 3], "big"), 0, 0))
                p += mlen
            elif status in (0xF0, 0xF7):
                mlen, p = _read_vlq(data, p)
                p += mlen
            else:
                kind, ch = status & 0xF0, status & 0x0F
                nbytes = 1 if kind in (0xC0, 0xD0) else 2
                a = data[p]
                b2 = data[p + 1] if nbytes == 2 else 0
                p += nbytes
                if kind == 0x90 and b2 > 0:
                    raw.append((tick, 1, a, b2, ch))
                elif kind == 0x80 or (kind == 0x90 and b2 == 0):
                    raw.append((tick, 2, a, 0, ch))
        pos = end
    raw.sort(key=lambda e: (e[0], e[1] == 1, e[1]))
    tempo_changes = [(0, 500000)] + [(t, us) for t, k, us, _, _ in raw if k == 0]

    def seconds(tick: int) -> float:
        s, last_t, us = 0.0, 0, 500000
        for t, u in tempo_changes:
            if t > tick:
                break
            s += (t - last_t) * us / 1e6 / division
            last_t, us = t, u
        return s + (tick - last_t) * us / 1e6 / division

    open_notes: dict[tuple[int, int], list[tuple[int, int]]] = {}
    notes: list[MidiNote] = []
    for tick, kind, a, b, ch in raw:
        if kind == 1:
            open_notes.setdefault((ch, a), []).append((tick, b))
        elif kind == 2 and open_notes.get((ch, a)):
            on, vel = open_notes[(ch, a)].pop(0)
            notes.append(MidiNote(seconds(on), seconds(tick), a, vel, ch))
    return sorted(notes, key=lambda n: (n.onset, n.pitch))
