"""The reviewer's path with DVC, end to end on the session's ci run and a local remote.

A copy of the repository holding the finished ci run records it (``make record PROFILE=ci``:
Snakemake's run state, ``dvc commit`` of the profile's stage, ``dvc push``) and commits
``dvc.lock``. A fresh clone pulls it (``make review-pull PROFILE=ci``) and then: Snakemake has
nothing to do, re-scoring the tables from the pulled restored audio reproduces them exactly, a
changed metric setting reruns only the evaluation and what depends on it, ``dvc metrics diff``
shows that change, and a table's manifest hash is the pulled, DVC-tracked manifest's.
(Marker ``workflow``; reads ``ci_local_run``.)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.workflow.ci_run import CiRun, copy_pipeline, snakemake_cmd, table_values

DVC = Path(sys.executable).with_name("dvc")
#: what the recorded repository holds besides the run folder's pipeline copy
CODE = ("a2sb", "baselines", "metrics", "dvc.yaml", ".dvcignore", "Makefile", "mk", ".gitignore")


def run(cmd: list[str], cwd: Path, timeout: float = 600) -> str:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "DVC_NO_ANALYTICS": "1"})  # fmt: skip
    assert res.returncode == 0, f"{cmd}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout + res.stderr


def make(target: str, cwd: Path, remote: Path) -> str:
    return run(["make", "-s", target, "PROFILE=ci", f"DVC={DVC}", f"PY={sys.executable}",
                f"DVC_REMOTE={remote}"], cwd)  # fmt: skip


def git(*args: str, cwd: Path) -> str:
    return run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd)


def jobs_of(dry_run: str) -> set[str]:
    """The rules a dry run would run (its job-stats table)."""
    table = dry_run.split("Job stats:", 1)[1].split("\n\n", 1)[0] if "Job stats:" in dry_run else ""
    rules = {line.split()[0] for line in table.splitlines()[2:] if line.strip()}
    return rules - {"total", "all"}


@pytest.mark.workflow
@pytest.mark.timeout(1500)
def test_reviewer_pulls_a_recorded_run_and_audits_it(tmp_path: Path, ci_local_run: CiRun) -> None:
    if shutil.which("make") is None or shutil.which("git") is None:
        pytest.fail("the reviewer's path needs make and git")
    origin, remote, review = tmp_path / "origin", tmp_path / "remote", tmp_path / "review"
    # 1. the repository of the run: pipeline, code, the finished run and Snakemake's records
    shutil.copytree(ci_local_run.folder, origin, symlinks=True)
    copy_pipeline(origin, CODE)
    git("init", "-q", cwd=origin)
    run([str(DVC), "init", "-q"], origin)
    git("add", "-A", cwd=origin)
    git("commit", "-qm", "pipeline", cwd=origin)
    # 2. record it: one command, then commit dvc.lock and the run state
    make("record", origin, remote)
    lock = yaml.safe_load((origin / "dvc.lock").read_text())["stages"]["reproduce@ci"]
    outs = {o["path"]: o for o in lock["outs"]}
    for folder in ("tables", "figures", "metrics", "train", "models", "restored", "data"):
        assert f"results/ci/{folder}" in outs, sorted(outs)
    # every folder the run wrote is versioned
    written = {f"results/ci/{p.name}" for p in (origin / "results" / "ci").iterdir()}
    assert written <= set(outs), written - set(outs)
    git("add", "dvc.lock", "records", cwd=origin)
    git("commit", "-qm", "Record the ci run", cwd=origin)
    # 3. the reviewer: fresh clone at the recorded commit, pull, nothing to do
    git("clone", "-q", str(origin), str(review), cwd=tmp_path)
    make("review-pull", review, remote)
    assert table_values(review) == table_values(origin)
    dry = run(snakemake_cmd("-n", "--cores", "2"), review)
    assert "Nothing to be done" in dry, dry[-3000:]
    # 4. re-scoring the tables from the pulled restored audio reproduces them exactly
    recorded = table_values(review)
    run(snakemake_cmd("--cores", "2", "--forcerun", "evaluate"), review, timeout=900)
    assert table_values(review) == recorded
    # 5. a changed metric setting reruns the evaluation and what reads it, nothing upstream
    overlay = review / "config" / "overlay.yaml"
    cfg = yaml.safe_load(overlay.read_text())
    cfg.setdefault("evaluate", {})["metrics"] = ["lsd"]
    overlay.write_text(yaml.safe_dump(cfg))
    rules = jobs_of(run(snakemake_cmd("-n", "--cores", "2"), review))
    assert "evaluate" in rules and not rules & {"train", "restore_a2sb", "restore_learned",
                                                  "train_baseline", "corpus", "degrade"}, rules  # fmt: skip
    run(snakemake_cmd("--cores", "2"), review, timeout=900)
    diff = subprocess.run([str(DVC), "metrics", "diff", "--json"], cwd=review, text=True,
                          capture_output=True, timeout=300).stdout  # fmt: skip
    changes = json.loads(diff)["results/ci/metrics/summary.json"]
    # SiSpec is no longer computed: every SiSpec entry went from a number to none
    sispec = {k: v for k, v in changes.items() if k.endswith(".sispec")}
    assert sispec and all(v["new"] is None and v["old"] is not None for v in sispec.values())
    # 6. a table's manifest hash is the pulled, DVC-tracked manifest's
    table2 = (review / "results" / "ci" / "tables" / "table2.md").read_text()
    assert re.search(r"\d+ manifests? \(sha256", table2), table2[-1500:]
    provenance = json.loads((review / "results/ci/provenance/provenance.json").read_text())
    assert provenance["manifests"]
    for path, digest in provenance["manifests"].items():
        assert hashlib.sha256((review / path).read_bytes()).hexdigest() == digest, path
        assert any(path.startswith(out + "/") for out in outs), path
