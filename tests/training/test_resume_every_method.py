"""Every method resumes after a kill: A2SB and each learned baseline, trained through its CLI,
is killed with SIGKILL mid-run, resumed with ``--resume`` and ends with the same weights, bit for
bit, as an uninterrupted run (the shared loop's step checkpoints, :mod:`a2sb.training.loop`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch
from training_helpers import tiny_config

from tests.baselines.baseline_helpers import CQTDIFF_TINY, IBAR_TINY, MAID_TINY, tiny_vocoder_config

REPO = Path(__file__).resolve().parents[2]
STEPS, KILL_AFTER = 30, 3

#: The baseline tests' tiny configs, trained on the 8-22 kHz synthetic corpus of the training
#: tests; the vocoder's GAN starts at step 2, so the discriminators' state resumes too.
BASELINES: dict[str, dict[str, Any]] = {
    "cqtdiff": CQTDIFF_TINY,
    "maid": MAID_TINY,
    "vocoder": tiny_vocoder_config(gan_start=2),
    "ibar": IBAR_TINY,
}


def write_config(method: str, corpus: Path, folder: Path) -> list[str]:
    """The method's config file in ``folder``; returns its training command (no --out)."""
    path = folder / f"{method}.json"
    if method == "a2sb":
        cfg = tiny_config(corpus, max_steps=STEPS, checkpoint_every=1, model={"preset": "tiny"})
        path.write_text(json.dumps(cfg.to_dict()))
        return [sys.executable, "-m", "a2sb", "train", "--config", str(path), "--no-progress"]
    cfg = json.loads(json.dumps(BASELINES[method]))
    cfg["train"].update(steps=STEPS, checkpoint_every=1, keep_checkpoints=2, log_every=5, ema=0.9)
    path.write_text(json.dumps(cfg))
    return [sys.executable, "-m", "baselines", "train", "--method", method, "--config", str(path),
            "--manifest", str(corpus), "--threads", "1", "--no-progress"]  # fmt: skip


def final_weights(run: Path) -> dict[str, torch.Tensor]:
    return safetensors.torch.load_file(str(run / "final.safetensors"))


@pytest.mark.parametrize("method", ["a2sb", *BASELINES])
def test_killed_run_resumes_bit_exact(method: str, corpus: Path, tmp_path: Path) -> None:
    command = write_config(method, corpus, tmp_path)
    # one thread everywhere: float results depend on the thread count
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}

    def run(out: Path, *extra: str) -> None:
        res = subprocess.run([*command, "--out", str(out), *extra], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=600)  # fmt: skip
        assert res.returncode == 0, res.stderr[-3000:]

    run(tmp_path / "full")
    killed = tmp_path / "killed"
    proc = subprocess.Popen([*command, "--out", str(killed)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    latest = killed / "checkpoints" / "latest.json"
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if latest.exists() and json.loads(latest.read_text())["step"] >= KILL_AFTER:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    killed_at = json.loads(latest.read_text())["step"]
    assert KILL_AFTER <= killed_at < STEPS and not (killed / "final.safetensors").exists()

    fresh = subprocess.run([*command, "--out", str(killed)], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert fresh.returncode == 2 and "--resume" in fresh.stderr  # never overwrites a run
    run(killed, "--resume")
    summary = json.loads((killed / "summary.json").read_text())
    assert summary["resumed_from"] == killed_at and summary["steps"] == STEPS
    a, b = final_weights(tmp_path / "full"), final_weights(killed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
