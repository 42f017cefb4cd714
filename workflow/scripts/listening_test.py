"""Listening-test stimuli (Tables 10-11): random segments per test set, the same segment for every
method (and the reference), loudness-matched by RMS, written as 16-bit WAV with anonymous names;
``stimuli.csv`` maps each file to task, dataset, method, item and start time (the key the ratings
CSV refers to), and ``ratings_template.csv`` has one empty row per stimulus.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from a2sb.io.atomic import atomic_dir, write_text
from a2sb.io.audio import read_audio, write_audio
from a2sb.tasks import Task


def csv_text(header: list[str], rows: list[list]) -> str:
    text = io.StringIO()
    w = csv.writer(text)
    w.writerow(header)
    w.writerows(rows)
    return text.getvalue()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--restored",
        type=Path,
        nargs="+",
        required=True,
        help="restored/<method>/<dataset>/<task>/<setting> folders to draw from",
    )
    p.add_argument("--testsets", type=Path, nargs="+", required=True)
    p.add_argument("--segments", type=int, default=50)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    with atomic_dir(args.out) as tmp:
        rows = write_stimuli(args, rng, tmp)
    print(f"{args.out}: {len(rows)} stimuli")
    return 0


def write_stimuli(args: argparse.Namespace, rng: np.random.Generator, tmp: Path) -> list[dict]:
    rows: list[dict] = []
    for task in (t.key for t in Task):
        for testset in args.testsets:
            dataset = testset.name
            setting_dirs = {d.parts[-4]: d for d in args.restored
                            if d.parts[-3] == dataset and d.parts[-2] == task}  # fmt: skip
            methods = sorted(setting_dirs)
            refs = sorted((testset / "audio").glob("*.wav"))
            for k in range(args.segments):
                ref = refs[k % len(refs)]
                info = sf.info(str(ref))
                span = max(0.0, info.duration - args.seconds)
                start = float(rng.uniform(0, span)) if span else 0.0
                for method in ["reference", *methods]:
                    src = ref if method == "reference" else setting_dirs[method] / ref.name
                    audio, rate = read_audio(src)
                    seg = audio[:, int(start * rate) : int((start + args.seconds) * rate)].mean(
                        axis=0
                    )
                    seg = seg * (0.1 / max(np.sqrt(np.mean(seg**2)), 1e-6))
                    seg = np.clip(seg, -1, 1)
                    name = f"s{len(rows):05d}.wav"
                    write_audio(tmp / "audio" / name, seg, rate, subtype="PCM_16")
                    rows.append({"stimulus": name, "task": task, "dataset": dataset,
                                 "setting": setting_dirs[method].name if method != "reference" else "",
                                 "method": method, "item": ref.name, "segment": k,
                                 "start_s": round(start, 3), "seconds": args.seconds})  # fmt: skip
    order = rng.permutation(len(rows))
    write_text(tmp / "stimuli.csv", csv_text(list(rows[0]), [list(r.values()) for r in rows]))
    write_text(tmp / "ratings_template.csv",
               csv_text(["stimulus", "rater", "score"], [[rows[i]["stimulus"], "", ""] for i in order]))  # fmt: skip
    return rows


if __name__ == "__main__":
    sys.exit(main())
