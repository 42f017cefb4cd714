"""A run killed with SIGKILL mid-training and resumed ends with the same weights, bit for bit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import safetensors.torch
import torch
from training_helpers import tiny_config

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_sigkill_then_resume_is_bit_exact(corpus, tmp_path):
    # Every run in a subprocess with one thread: float results depend on the thread count.
    cfg = tiny_config(corpus, max_steps=8, checkpoint_every=1, model={"preset": "tiny"})
    config = tmp_path / "c.json"
    config.write_text(json.dumps(cfg.to_dict()))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}

    def command(out: Path, *extra: str) -> list[str]:
        return [sys.executable, "-m", "a2sb", "train", "--config", str(config), "--out", str(out),
                "--no-progress", *extra]  # fmt: skip

    subprocess.run(command(tmp_path / "full"), cwd=REPO, env=env, check=True, capture_output=True)
    run = tmp_path / "killed"
    proc = subprocess.Popen(
        command(run), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    latest = run / "checkpoints" / "latest.json"
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if latest.exists() and json.loads(latest.read_text())["step"] >= 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    killed_at = json.loads(latest.read_text())["step"]
    assert 3 <= killed_at < 8 and not (run / "summary.json").exists()

    subprocess.run(command(run, "--resume"), cwd=REPO, env=env, check=True, capture_output=True)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["resumed_from"] == killed_at and summary["steps"] == 8
    a = safetensors.torch.load_file(str(tmp_path / "full/final.safetensors"))
    b = safetensors.torch.load_file(str(run / "final.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
