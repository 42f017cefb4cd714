"""Run one pipeline training job, A2SB or a learned baseline: resume a killed run, restart a
changed one.

``<cli> train ... --resume --dry-run`` tells whether the run folder holds a run of the same
config (then it continues from its last step checkpoint) or of another (then the folder is
removed and the run starts afresh). A2SB with more than one GPU in the job runs under torchrun
(``python -m torch.distributed.run --standalone --nproc-per-node N -m a2sb train ...``).

::

    train_run.py --method a2sb --config results/P/configs/pretrain.json --out results/P/train/pretrain
    train_run.py --method cqtdiff --config results/P/configs/cqtdiff.json --manifest M.csv \
        --out results/P/baselines/cqtdiff --threads 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path


def train_command(args: argparse.Namespace) -> list[str]:
    """The training CLI of the method, without --resume/--dry-run."""
    if args.method == "a2sb":
        return [sys.executable, "-m", "a2sb", "train", "--config", args.config,
                "--out", str(args.out), "--no-progress"]  # fmt: skip
    manifests = [f"--manifest={m}" for m in args.manifest]
    return [sys.executable, "-m", "baselines", "train", "--method", args.method,
            "--config", args.config, *manifests, "--out", str(args.out),
            "--no-progress"]  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--method", required=True, help="a2sb, or a learned baseline's name")
    p.add_argument("--config", required=True)
    p.add_argument("--manifest", action="append", default=[], help="baselines: CSV manifest")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--gpus", type=int, default=0)
    p.add_argument("--threads", type=int, help="CPU threads of the job")
    args = p.parse_args()
    env = dict(os.environ)
    cmd = train_command(args)
    if args.threads:  # torch reads OMP_NUM_THREADS at start-up for its intra-op thread pool
        env["OMP_NUM_THREADS"] = str(args.threads)
        cmd += ["--threads", str(args.threads)]
    if args.out.exists():
        check = subprocess.run(cmd + ["--resume", "--dry-run"], capture_output=True, text=True)
        if check.returncode:
            print(f"train_run: {args.out} holds another run ({check.stderr.strip()}); restarting")
            shutil.rmtree(args.out)
    if args.out.exists():
        cmd.append("--resume")
    if args.method == "a2sb" and args.gpus > 1:
        import torch

        if torch.cuda.is_available():
            gpus = str(min(args.gpus, torch.cuda.device_count()))
            cmd[:3] = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                       "--nproc-per-node", gpus, "-m", "a2sb"]  # fmt: skip
    print(" ".join(cmd), flush=True)
    return subprocess.run(cmd, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
