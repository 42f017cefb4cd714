"""Restore every degraded file of a folder with ``a2sb restore`` (one CLI call per file).

Bandwidth extension takes the cutoff from the setting (``4kHz``); inpainting reads the gaps from
``X.gaps.json`` beside each input (written by ``python -m metrics degrade``), so A2SB and the
baselines fill exactly the same gaps. The output folder is written to a temporary sibling and
renamed when every file is done, so a killed job leaves no half-filled folder.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--in-dir", type=Path, required=True)
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--task", choices=("bandwidth-extension", "inpainting"), required=True)
    p.add_argument("--setting", required=True, help="4kHz or 300ms")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=8)
    args = p.parse_args()
    sources = sorted(args.in_dir.rglob("*.wav"))
    if not sources:
        print(f"restore_dir: error: no .wav files in {args.in_dir}", file=sys.stderr)
        return 2
    tmp = args.out_dir.with_name(args.out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for src in sources:
        dst = tmp / src.relative_to(args.in_dir)
        cmd = [sys.executable, "-m", "a2sb", "restore", str(src), str(dst), "--task", args.task]
        if args.task == "bandwidth-extension":
            cmd += ["--cutoff-hz", f"{float(args.setting[:-3]) * 1000:g}"]
        else:
            gaps = json.loads(src.with_suffix(".gaps.json").read_text())["gaps_s"]
            cmd += ["--gaps", ",".join(f"{a!r}-{b!r}" for a, b in gaps)]
        cmd += ["--checkpoint", args.checkpoint, "--steps", str(args.steps)]
        cmd += ["--seed", str(args.seed), "--batch-size", str(args.batch_size), "--no-progress"]
        print(" ".join(cmd), flush=True)
        res = subprocess.run(cmd, stdout=subprocess.DEVNULL)
        if res.returncode:
            return res.returncode
    shutil.rmtree(args.out_dir, ignore_errors=True)
    tmp.rename(args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
