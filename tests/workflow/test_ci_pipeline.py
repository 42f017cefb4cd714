"""The ci profile end to end in a scratch copy of the pipeline: killed midway, resumed without
redoing finished jobs, then a no-op re-run. Dry runs of every profile (paper on SLURM too).

The end-to-end test runs in CI (marker ``workflow``; about 5-10 minutes on 2 CPU cores).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
PIPELINE = ("Snakefile", "workflow", "config", "profiles", "reports")
BASE = [str(SNAKEMAKE), "--cores", "2", "--configfile", "config/ci.yaml"]


def snakemake(cwd: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([*BASE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("config", ["config/config.yaml", "config/ci.yaml", "config/paper.yaml"])
def test_dry_run(config: str) -> None:
    res = subprocess.run([str(SNAKEMAKE), "-n", "--quiet", "rules", "--configfile", config],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]


def test_dry_run_paper_on_slurm() -> None:
    res = subprocess.run([str(SNAKEMAKE), "-n", "--quiet", "rules", "--configfile", "config/paper.yaml",
                          "--profile", "profiles/slurm"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]


def copy_pipeline(dest: Path) -> None:
    for name in PIPELINE:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)


def pretrain_finished(log: Path) -> bool:
    """Whether Snakemake has recorded the pre-training job as finished (its output file alone
    appears before the job's summary and metadata are written: interrupting then reruns it)."""
    text = log.read_text() if log.is_file() else ""
    found = re.search(
        r"output: results/ci/train/pretrain/final\.safetensors.*?jobid: (\d+)", text, re.S
    )
    return bool(found) and f"Finished jobid: {found.group(1)} (Rule: train)" in text


@pytest.mark.workflow
@pytest.mark.timeout(1500)
def test_ci_pipeline_killed_resumed_and_complete(tmp_path: Path) -> None:
    copy_pipeline(tmp_path)
    out = tmp_path / "results" / "ci"
    pretrain = out / "train" / "pretrain" / "final.safetensors"
    # 1. start the whole run and interrupt it once pre-training has finished
    log = open(tmp_path / "first.log", "w")  # noqa: SIM115
    first = subprocess.Popen(BASE, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 900
    while not pretrain_finished(tmp_path / "first.log") and first.poll() is None:
        assert time.monotonic() < deadline, "pre-training did not finish in 15 minutes"
        time.sleep(1)
    assert pretrain.is_file(), (tmp_path / "first.log").read_text()[-4000:]
    stamp = pretrain.stat().st_mtime_ns
    if first.poll() is None:
        os.killpg(first.pid, signal.SIGINT)  # Snakemake stops its running jobs and exits
        first.wait(timeout=300)
    log.close()
    # 2. resume: completes, and pre-training is not redone
    res = snakemake(tmp_path, timeout=1200)
    assert res.returncode == 0, res.stderr[-4000:]
    assert pretrain.stat().st_mtime_ns == stamp
    assert "output: results/ci/train/pretrain/final.safetensors" not in res.stdout + res.stderr
    for n in range(2, 13):
        assert (out / "tables" / f"table{n}.md").is_file()
    table2 = (out / "tables" / "table2.md").read_text()
    assert "A2SB (no partitioning)" in table2 and "Degraded input (ours)" in table2
    assert "not run: AudioSR weights not provided" in table2
    assert "A2SB vs the degraded input" in table2 or "A2SB beats" in table2 or "NOT beat" in table2
    figures = ["fig2_bandwidth_extension", "fig3_inpainting", "fig4_representation_spectrograms",
               "fig5_band_magnitude", "fig6_phase_error", "fig7_long_audio"]  # fmt: skip
    for fig in figures:
        for ext in ("png", "pdf"):
            assert (out / "figures" / f"{fig}.{ext}").is_file(), fig
    assert (out / "tables" / "runtime.md").is_file()
    # 3. a finished run has nothing left to do
    again = snakemake(tmp_path, "-n", timeout=300)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.parametrize("profile", ["ci", "default", "paper"])
def test_run_configs_come_from_the_profile(tmp_path: Path, profile: str) -> None:
    """Every run's config is generated from its profile (the one config): A2SB runs with their
    t-range, the baselines with the vocoder's mel; each loads as its trainer reads it."""
    from a2sb.training.config import TrainConfig
    from baselines.registry import METHODS

    copy_pipeline(tmp_path)
    configfile = "config/config.yaml" if profile == "default" else f"config/{profile}.yaml"
    runs = ["pretrain", "finetune_p2_1", "ablation_2ch", "maestro_p4_3",
            "cqtdiff", "maid", "ibar", "vocoder"]  # fmt: skip
    targets = [f"results/{profile}/configs/{run}.json" for run in runs]
    res = subprocess.run([str(SNAKEMAKE), *targets, "--cores", "1", "--configfile", configfile],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    read = {run: json.loads((tmp_path / t).read_text()) for run, t in zip(runs, targets)}
    a2sb = {run: TrainConfig.from_dict(read[run], run) for run in runs[:4]}
    assert a2sb["pretrain"].t_range == (0.0, 1.0)
    assert a2sb["finetune_p2_1"].t_range == (0.5, 1.0)
    assert a2sb["ablation_2ch"].kind == "complex"
    assert a2sb["maestro_p4_3"].research_use and a2sb["maestro_p4_3"].t_range[1] == 1.0
    for run in runs[4:]:
        METHODS[run].module_object().full_config(read[run], run)
    assert read["maid"]["mel"] == read["ibar"]["mel"] == read["vocoder"]["mel"]
    if profile == "paper":
        pre, fine = a2sb["pretrain"], a2sb["finetune_p2_1"]
        assert (pre.global_batch, pre.max_steps, pre.precision, pre.model) == (
            320, 209_000, "bf16", "paper")  # fmt: skip
        assert (fine.global_batch, fine.max_steps, fine.precision) == (64, 250_000, "fp32")
