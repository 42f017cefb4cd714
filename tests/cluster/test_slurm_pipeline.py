"""The ci profile on a real single-node SLURM cluster through ``profiles/slurm-ci`` and the SLURM
executor: every rule is a SLURM job, a training job killed with ``scancel`` is resubmitted and
resumes from its checkpoint, the tables equal the local executor's, a second run submits nothing.
(Markers ``workflow``, ``cluster`` and ``slow``: about 30 minutes on the 2-core machine, because
the executor polls job states every ~12 s with 2 jobs at a time, so it is opt-in
(``pytest -m slow tests/cluster``) until it fits the CI budget; needs root to start the cluster.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.cluster.cluster import start_cluster, stop_cluster
from tests.workflow.test_ci_pipeline import copy_pipeline

SNAKEMAKE = Path(sys.executable).with_name("snakemake")
OUT = Path("results/ci")
# pre-training long enough to be cancelled between two checkpoints
OVERLAY = {"train": {"pretrain": {"max_steps": 40}, "common": {"checkpoint_every": 2}}}


def snakemake_cmd(*args: str) -> list[str]:
    return [str(SNAKEMAKE), *args, "--configfile", "config/ci.yaml", "config/overlay.yaml"]


def table_values(folder: Path) -> dict[str, str]:
    """Every table's CSV under ``folder/results/ci/tables`` without the provenance notes."""
    out = {}
    for csv in sorted((folder / OUT / "tables").glob("table*.csv")):
        out[csv.name] = "\n".join(
            line for line in csv.read_text().splitlines() if not line.startswith("#")
        )
    return out


def checkpoints(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "checkpoints").glob("step_*")) if run_dir.is_dir() else []


@pytest.mark.slow
@pytest.mark.workflow
@pytest.mark.cluster
@pytest.mark.timeout(4000)
def test_ci_profile_under_slurm(tmp_path: Path) -> None:
    local, on_slurm = tmp_path / "local", tmp_path / "slurm"
    for folder in (local, on_slurm):
        folder.mkdir()
        copy_pipeline(folder)
        (folder / "config" / "overlay.yaml").write_text(yaml.safe_dump(OVERLAY))
    cluster = tmp_path / "cluster"
    env = start_cluster(cluster)
    try:
        log = open(tmp_path / "slurm_run.log", "w")  # noqa: SIM115
        run = subprocess.Popen(snakemake_cmd("--profile", "profiles/slurm-ci"), cwd=on_slurm,
                               env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        # cancel the pre-training job once it has written a checkpoint
        pretrain = on_slurm / OUT / "train" / "pretrain"
        deadline = time.monotonic() + 1200
        while not checkpoints(pretrain) and run.poll() is None:
            assert time.monotonic() < deadline, "pre-training wrote no checkpoint in 20 minutes"
            time.sleep(0.5)
        # the executor puts "rule_<rule>_wildcards_<values>" in each job's comment
        jobs = subprocess.run(["squeue", "-h", "-o", "%i %k"], env=env, capture_output=True,
                              text=True, check=True).stdout.splitlines()  # fmt: skip
        pretrain_jobs = [j.split()[0] for j in jobs if "rule_train" in j and "pretrain" in j]
        assert len(pretrain_jobs) == 1, jobs
        cancelled = subprocess.run(["scancel", *pretrain_jobs], env=env, capture_output=True,
                                   text=True)  # fmt: skip
        assert cancelled.returncode == 0, cancelled.stderr
        assert run.wait(timeout=2400) == 0, (tmp_path / "slurm_run.log").read_text()[-6000:]
        log.close()
        text = (tmp_path / "slurm_run.log").read_text()
        assert "Submitted job" in text or "submitted" in text.lower()
        summary = json.loads((pretrain / "summary.json").read_text())
        # the resubmitted job resumed from the cancelled one's checkpoint
        assert summary["steps"] == 40 and summary["resumed_from"] > 0, summary
        # a second run submits nothing
        again = subprocess.run(snakemake_cmd("--profile", "profiles/slurm-ci", "-n"),
                               cwd=on_slurm, env=env, capture_output=True, text=True,
                               timeout=600)  # fmt: skip
        assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    finally:
        stop_cluster(cluster)
    # the same numbers as the local executor
    res = subprocess.run(snakemake_cmd("--cores", "2"), cwd=local, capture_output=True,
                         text=True, timeout=2400)  # fmt: skip
    assert res.returncode == 0, res.stderr[-4000:]
    assert table_values(on_slurm) == table_values(local)
