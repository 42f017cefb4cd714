"""Run ``a2sb train`` for one pipeline job: resume a killed run, restart a changed one.

``a2sb train --resume --dry-run`` tells whether the run directory holds a run of the same
config (then it is continued from its last checkpoint) or of another (then it is removed and
started afresh). With more than one GPU in the job, the run is launched under torchrun
(``python -m torch.distributed.run --standalone --nproc-per-node N -m a2sb train ...``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--config", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--partition", nargs=2, metavar=("I", "N"))
    p.add_argument("--gpus", type=int, default=0)
    p.add_argument("--threads", type=int, help="CPU threads of the job (OMP_NUM_THREADS)")
    args = p.parse_args()
    env = dict(os.environ)
    if args.threads:  # torch reads it at start-up for its intra-op thread pool
        env["OMP_NUM_THREADS"] = str(args.threads)
    train = ["train", "--config", args.config, "--out", str(args.out), "--no-progress"]
    if args.partition:
        train += ["--partition", *args.partition]
    a2sb = [sys.executable, "-m", "a2sb"]
    if args.out.exists():
        check = subprocess.run(
            a2sb + train + ["--resume", "--dry-run"], capture_output=True, text=True
        )
        if check.returncode:
            print(f"train_run: {args.out} holds another run ({check.stderr.strip()}); restarting")
            shutil.rmtree(args.out)
    resume = ["--resume"] if args.out.exists() else []
    launcher = a2sb
    if args.gpus > 1:
        import torch

        if torch.cuda.is_available():
            launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
            launcher += [
                "--nproc-per-node",
                str(min(args.gpus, torch.cuda.device_count())),
                "-m",
                "a2sb",
            ]
    cmd = launcher + train + resume
    print(" ".join(cmd), flush=True)
    return subprocess.run(cmd, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
