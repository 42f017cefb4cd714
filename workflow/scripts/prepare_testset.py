"""Make one test set: N items of the test split of a manifest (the first N, or N random with --random), resampled
to --sample-rate (the model's: a test set is scored at the rate the methods restore at; the
source rate is listed in items.csv), optionally cut to --max-seconds, as 32-bit float WAV under
OUT/audio/, with reference MIDI (cut alike) under
OUT/midi/ when a MIDI folder is given, and OUT/items.csv listing the sources and their sha256.
The folder is built under a temporary name and renamed when complete (:func:`a2sb.io.atomic.atomic_dir`).
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import sys
from pathlib import Path

import numpy as np

from a2sb.io.atomic import atomic_dir, write_text
from a2sb.io.audio import read_audio, resample, write_audio
from a2sb.io.provenance import file_sha256


def cut_midi(src: Path, dst: Path, seconds: float) -> None:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(src))
    for inst in pm.instruments:
        inst.notes = [n for n in inst.notes if n.start < seconds]
        for n in inst.notes:
            n.end = min(n.end, seconds)
        inst.control_changes = [c for c in inst.control_changes if c.time < seconds]
        inst.pitch_bends = [b for b in inst.pitch_bends if b.time < seconds]
    pm.write(str(dst))


def copy_item(src: Path, tmp: Path, args: argparse.Namespace) -> dict:
    """Write one item (and its MIDI) into the folder being built; its row of items.csv."""
    src = src if src.is_absolute() else args.manifest.parent / src
    audio, source_rate = read_audio(src)
    rate = args.sample_rate or source_rate
    audio = resample(audio, source_rate, rate)
    if args.max_seconds:
        audio = audio[:, : int(round(args.max_seconds * rate))]
    dst = tmp / "audio" / f"{src.stem}.wav"
    write_audio(dst, audio[0] if audio.shape[0] == 1 else audio, rate, subtype="FLOAT")
    midi = None
    for d in ([Path(args.midi_dir)] if args.midi_dir else []) + [src.parent]:
        for ext in (".mid", ".midi"):
            if (d / f"{src.stem}{ext}").is_file():
                midi = d / f"{src.stem}{ext}"
                break
        if midi:
            break
    if midi is not None:
        (tmp / "midi").mkdir(exist_ok=True)
        if args.max_seconds:
            cut_midi(midi, tmp / "midi" / f"{src.stem}.mid", args.max_seconds)
        else:
            shutil.copyfile(midi, tmp / "midi" / f"{src.stem}.mid")
    return {"item": dst.name, "source": str(src), "source_sha256": file_sha256(src),
            "source_rate": source_rate, "seconds": round(audio.shape[1] / rate, 3),
            "midi": str(midi or "")}  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--items", type=int, default=0, help="0: all")
    p.add_argument("--random", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-seconds", type=float, default=0.0, help="0: whole files")
    p.add_argument("--midi-dir", default="")
    p.add_argument("--sample-rate", type=int, default=0, help="0: keep each file's rate")
    p.add_argument("--split", default="test", help="only the manifest's rows of this split")
    args = p.parse_args()
    with open(args.manifest, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r.get("split", args.split) == args.split]
    if not rows:
        print(f"prepare_testset: error: {args.manifest} lists no {args.split} items",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.items and args.random:
        idx = np.random.default_rng(args.seed).choice(len(rows), min(args.items, len(rows)), False)
        rows = [rows[i] for i in sorted(idx)]
    elif args.items:
        rows = rows[: args.items]
    with atomic_dir(args.out) as tmp:
        listing = [copy_item(Path(row["path"]), tmp, args) for row in rows]
        text = io.StringIO()
        w = csv.DictWriter(text, fieldnames=list(listing[0]))
        w.writeheader()
        w.writerows(listing)
        write_text(tmp / "items.csv", text.getvalue())
    print(f"{args.out}: {len(listing)} items")
    return 0


if __name__ == "__main__":
    sys.exit(main())
