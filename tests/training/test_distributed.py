"""Data parallel on CPU with gloo: 2 torchrun processes versus 1 process, same global batch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import safetensors.torch
import torch
from training_helpers import tiny_config

from a2sb.training.trainer import train

REPO = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-5  # fp32 max abs weight difference: the runs sum the same gradients in another order
# and run micro-batches of 1 (two ranks) versus 2 (one process); measured about 2e-7.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# 128 x 64 segments: at 64 x 32 the tiny UNet's coarsest GroupNorm normalises 2 values per group,
# which amplifies float32 rounding chaotically; lr 1e-2 so the weights move far beyond TOLERANCE.
STFT = {
    "sample_rate": 8000,
    "n_fft": 256,
    "hop_length": 32,
    "win_length": 256,
    "segment_frames": 64,
}
COMMON = {"stft": STFT, "max_steps": 3, "global_batch": 4, "device": "cpu", "checkpoint_every": 3,
          "lr": 1e-2}  # fmt: skip


def test_two_processes_match_one(corpus, tmp_path):
    config = tmp_path / "ddp.json"
    config.write_text(json.dumps(tiny_config(corpus, micro_batch=1, **COMMON).to_dict()))
    run2 = tmp_path / "two"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
           "--master-addr", "127.0.0.1", "--master-port", str(free_port()),
           "-m", "a2sb", "train", "--config", str(config), "--out", str(run2), "--no-progress"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    check_against_one_process(corpus, tmp_path, run2)


@pytest.mark.cluster
def test_two_slurm_tasks_match_one_process(corpus, tmp_path):
    """One SLURM job of 2 tasks: ``srun a2sb train`` as 2 gloo processes (rank, world size and
    rendezvous from the step's SLURM variables), the same weights as one process."""
    from tests.cluster.cluster import start_cluster, stop_cluster

    config = tmp_path / "ddp.json"
    config.write_text(json.dumps(tiny_config(corpus, micro_batch=1, **COMMON).to_dict()))
    run2 = tmp_path / "two"
    script = tmp_path / "train.sbatch"
    script.write_text(
        "#!/bin/bash\n#SBATCH --ntasks=2 --cpus-per-task=1 --mem=4000 --time=20\n"
        f"export OMP_NUM_THREADS=1 PYTHONPATH={REPO}\n"
        f"srun {sys.executable} -m a2sb train --config {config} --out {run2} --no-progress\n"
    )
    cluster = tmp_path / "cluster"
    env = start_cluster(cluster)
    try:
        job = subprocess.run(["sbatch", "--wait", "--output", str(tmp_path / "job.log"), str(script)],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)  # fmt: skip
    finally:
        stop_cluster(cluster)
    log = (tmp_path / "job.log").read_text() if (tmp_path / "job.log").exists() else ""
    assert job.returncode == 0, job.stdout + job.stderr + log[-3000:]
    check_against_one_process(corpus, tmp_path, run2)


def check_against_one_process(corpus, tmp_path: Path, run2: Path) -> None:
    summary2 = json.loads((run2 / "summary.json").read_text())
    assert summary2["world_size"] == 2 and summary2["accumulation_steps"] == 2
    digests = summary2["rank_weight_sha256"]
    assert len(digests) == 2 and digests[0] == digests[1]  # both ranks hold identical weights

    run1 = tmp_path / "one"
    summary1 = train(
        tiny_config(corpus, micro_batch=2, **COMMON), run1, progress=False, verbose=False
    )
    assert summary1["world_size"] == 1 and summary1["accumulation_steps"] == 2
    w1 = safetensors.torch.load_file(str(run1 / "final.safetensors"))
    w2 = safetensors.torch.load_file(str(run2 / "final.safetensors"))
    diff = max((w1[k] - w2[k]).abs().max().item() for k in w1)
    moved = max((w1[k] - w0).abs().max().item() for k, w0 in _initial(corpus, STFT).items())
    assert diff < TOLERANCE, diff
    assert moved > 10 * TOLERANCE
    print(
        f"2 processes vs 1: max abs weight difference {diff:.3g} (weights moved by up to {moved:.3g})"
    )


def _initial(corpus, stft) -> dict[str, torch.Tensor]:
    """The initial weights of the runs (same seed derivation as the trainer)."""
    from a2sb.network import build_model
    from a2sb.training.distributed import derive_seed

    torch.manual_seed(derive_seed(0, 0))
    return build_model(tiny_config(corpus, stft=stft).model_config()).state_dict()
