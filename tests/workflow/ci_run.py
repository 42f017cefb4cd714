"""The ci profile run once per test session with the local executor, killed midway and resumed.

Several tests read this one run: tests/workflow/test_ci_pipeline.py checks the kill/resume and
the outputs, tests/cluster/test_slurm_pipeline.py compares the SLURM executor's tables with its
tables. (The ``ci_local_run`` fixture in tests/conftest.py starts it on first use.)
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
PIPELINE = ("Snakefile", "workflow", "config", "profiles", "reports")
#: pre-training long enough that a cluster job can be cancelled between two checkpoints
OVERLAY = {"train": {"pretrain": {"max_steps": 40}, "common": {"checkpoint_every": 2}}}
CONFIGS = ["--configfile", "config/ci.yaml", "config/overlay.yaml"]
PRETRAIN = Path("results/ci/train/pretrain/final.safetensors")


def copy_pipeline(dest: Path, names: tuple[str, ...] = PIPELINE) -> None:
    """Copy ``names`` from the checkout to ``dest``: by default the files a pipeline run needs
    (Snakefile, workflow, configs, profiles, reports)."""
    for name in names:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)


def prepare(dest: Path) -> None:
    """A scratch copy of the pipeline with the tests' overlay on the ci profile."""
    copy_pipeline(dest)
    (dest / "config" / "overlay.yaml").write_text(yaml.safe_dump(OVERLAY))


def snakemake_cmd(*args: str) -> list[str]:
    """``snakemake ARGS`` on the ci profile and the overlay (targets and options first)."""
    return [str(SNAKEMAKE), *args, *CONFIGS]


def pretrain_finished(log: Path) -> bool:
    """Whether Snakemake has recorded the pre-training job as finished (its output file alone
    appears before the job's summary and metadata are written: interrupting then reruns it)."""
    text = log.read_text() if log.is_file() else ""
    found = re.search(
        r"output: results/ci/train/pretrain/final\.safetensors.*?jobid: (\d+)", text, re.S
    )
    return bool(found) and f"Finished jobid: {found.group(1)} (Rule: train)" in text


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass(frozen=True)
class CiRun:
    """The local run: its folder, the pre-training checkpoint's mtime after the interrupted
    first run and after the resumed one, the resumed run's output, the last no-op dry run's."""

    folder: Path
    pretrain_mtime_interrupted: int
    pretrain_mtime_resumed: int
    resumed_output: str
    dry_run_output: str
    seconds: float


def run_ci_locally(folder: Path) -> CiRun:
    """Run the ci profile in ``folder`` on 2 cores: interrupt it (SIGINT) once pre-training has
    finished, resume it to the end, then dry-run it. Fails with the logs' tails."""
    folder.mkdir(parents=True, exist_ok=True)
    prepare(folder)
    start = time.monotonic()
    with open(folder / "first.log", "w") as log:
        # SIGINT restored in the child: a test session started in the background of a
        # non-interactive shell ignores SIGINT, and Snakemake would inherit that
        first = subprocess.Popen(snakemake_cmd("--cores", "2"), cwd=folder, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True,
                                 preexec_fn=_default_sigint)  # fmt: skip
        deadline = time.monotonic() + 900
        while not pretrain_finished(folder / "first.log") and first.poll() is None:
            assert time.monotonic() < deadline, "pre-training did not finish in 15 minutes"
            time.sleep(1)
        assert (folder / PRETRAIN).is_file(), (folder / "first.log").read_text()[-4000:]
        interrupted = (folder / PRETRAIN).stat().st_mtime_ns
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGINT)  # Snakemake stops its running jobs and exits
            first.wait(timeout=300)
    res = subprocess.run(snakemake_cmd("--cores", "2"), cwd=folder, capture_output=True,
                         text=True, timeout=1200)  # fmt: skip
    assert res.returncode == 0, res.stderr[-4000:]
    seconds = time.monotonic() - start
    again = subprocess.run(snakemake_cmd("--cores", "2", "-n"), cwd=folder, capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    assert again.returncode == 0, again.stderr[-4000:]
    return CiRun(
        folder=folder,
        pretrain_mtime_interrupted=interrupted,
        pretrain_mtime_resumed=(folder / PRETRAIN).stat().st_mtime_ns,
        resumed_output=res.stdout + res.stderr,
        dry_run_output=again.stdout + again.stderr,
        seconds=seconds,
    )


def table_values(folder: Path) -> dict[str, str]:
    """Every table's CSV under ``folder/results/ci/tables`` without the provenance notes."""
    out = {}
    for csv in sorted((folder / "results" / "ci" / "tables").glob("table*.csv")):
        out[csv.name] = "\n".join(
            line for line in csv.read_text().splitlines() if not line.startswith("#")
        )
    return out
