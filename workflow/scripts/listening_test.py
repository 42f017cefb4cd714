"""Listening-test stimuli (Tables 10-11): random segments per test set, the same segment for every
method (and the reference), loudness-matched by RMS, written as 16-bit WAV with anonymous names;
``stimuli.csv`` maps each file to task, dataset, method, item and start time (the key the ratings
CSV refers to), and ``ratings_template.csv`` has one empty row per stimulus.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import soundfile as sf


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
    tmp = args.out.with_name(args.out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "audio").mkdir(parents=True)
    rows = []
    for task in ("bandwidth_extension", "inpainting"):
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
                    audio, rate = sf.read(str(src), dtype="float32", always_2d=True)
                    seg = audio[int(start * rate) : int((start + args.seconds) * rate)].mean(axis=1)
                    seg = seg * (0.1 / max(np.sqrt(np.mean(seg**2)), 1e-6))
                    seg = np.clip(seg, -1, 1)
                    name = f"s{len(rows):05d}.wav"
                    sf.write(str(tmp / "audio" / name), seg, rate, subtype="PCM_16")
                    rows.append({"stimulus": name, "task": task, "dataset": dataset,
                                 "setting": setting_dirs[method].name if method != "reference" else "",
                                 "method": method, "item": ref.name, "segment": k,
                                 "start_s": round(start, 3), "seconds": args.seconds})  # fmt: skip
    order = rng.permutation(len(rows))
    with open(tmp / "stimuli.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(tmp / "ratings_template.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["stimulus", "rater", "score"])
        for i in order:
            w.writerow([rows[i]["stimulus"], "", ""])
    shutil.rmtree(args.out, ignore_errors=True)
    os.replace(tmp, args.out)
    print(f"{args.out}: {len(rows)} stimuli")
    return 0


if __name__ == "__main__":
    sys.exit(main())
