"""The ci profile on a real single-node SLURM cluster through ``profiles/slurm-ci`` and the SLURM
executor: every rule is a SLURM job with the resources it declares, a training job killed with
``scancel`` is resubmitted and resumes from its checkpoint, the tables and figures equal the local
executor's (the session's ``ci_local_run``), and a second run submits nothing.

Markers ``workflow`` and ``cluster``: needs root to start the cluster (tests/cluster/slurm_up.sh
installs SLURM and munge from Debian's packages when missing). The node declares 8 CPUs on this
2-core machine so that the many short jobs (each a Snakemake start in a SLURM job) overlap.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.cluster.cluster import start_cluster, stop_cluster
from tests.workflow.ci_run import CiRun, prepare, snakemake_cmd, table_values

OUT = Path("results/ci")
#: CPUs the test node declares (more than this machine has: the short jobs share the cores)
NODE_CPUS = 8


def has_checkpoint(run_dir: Path) -> bool:
    """Whether a complete step checkpoint exists (``latest.json`` is written after its files)."""
    return (run_dir / "checkpoints" / "latest.json").is_file()


def figures(folder: Path) -> dict[str, bytes]:
    """The figures' pixels, Figure 7 left out: it plots the measured time and memory of the run."""
    pngs = sorted((folder / OUT / "figures").glob("*.png"))
    return {p.name: p.read_bytes() for p in pngs if not p.name.startswith("fig7_")}


def submitted_rules(log_text: str) -> set[str]:
    """The rules Snakemake submitted as SLURM jobs (its "rule X:" headers, not "localrule")."""
    return {
        line.split()[1].rstrip(":")
        for line in log_text.splitlines()
        if line.startswith("rule ") and line.rstrip().endswith(":")
    }


@pytest.mark.workflow
@pytest.mark.cluster
@pytest.mark.timeout(2400)
def test_ci_profile_under_slurm(tmp_path: Path, ci_local_run: CiRun) -> None:
    on_slurm = tmp_path / "slurm"
    on_slurm.mkdir()
    prepare(on_slurm)
    cluster = tmp_path / "cluster"
    started = time.monotonic()
    env = start_cluster(cluster, cpus=NODE_CPUS)
    up_seconds = time.monotonic() - started
    try:
        log_path = tmp_path / "slurm_run.log"
        with open(log_path, "w") as log:
            run = subprocess.Popen(snakemake_cmd("--profile", "profiles/slurm-ci"), cwd=on_slurm,
                                   env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
            # cancel the pre-training job once it has written a checkpoint
            pretrain = on_slurm / OUT / "train" / "pretrain"
            deadline = time.monotonic() + 1200
            while not has_checkpoint(pretrain) and run.poll() is None:
                assert time.monotonic() < deadline, "pre-training wrote no checkpoint in 20 min"
                time.sleep(0.2)
            # the executor puts "rule_<rule>_wildcards_<values>" in each job's comment
            jobs = subprocess.run(["squeue", "-h", "-o", "%i %k"], env=env, capture_output=True,
                                  text=True, check=True).stdout.splitlines()  # fmt: skip
            pretrain_jobs = [j.split()[0] for j in jobs if "rule_train" in j and "pretrain" in j]
            assert len(pretrain_jobs) == 1, jobs
            cancelled = subprocess.run(["scancel", *pretrain_jobs], env=env, capture_output=True,
                                       text=True)  # fmt: skip
            assert cancelled.returncode == 0, cancelled.stderr
            assert run.wait(timeout=2000) == 0, log_path.read_text()[-6000:]
        seconds = time.monotonic() - started - up_seconds
        text = log_path.read_text()
        # every rule that does work ran as a SLURM job
        submitted = submitted_rules(text)
        for rule in ("corpus", "train", "train_baseline", "restore_a2sb", "restore_learned",
                     "restore_classical", "evaluate", "tables", "figure_spectrograms"):  # fmt: skip
            assert rule in submitted, (rule, sorted(submitted))
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
    # the same numbers (and pictures) as the local executor
    assert table_values(on_slurm) == table_values(ci_local_run.folder)
    assert figures(on_slurm) == figures(ci_local_run.folder)
    print(f"cluster up in {up_seconds:.1f} s; ci profile under SLURM {seconds:.0f} s, "
          f"locally {ci_local_run.seconds:.0f} s (with the interruption)")  # fmt: skip
