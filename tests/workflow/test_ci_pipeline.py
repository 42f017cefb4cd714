"""The ci profile end to end in a scratch copy of the pipeline, then a no-op re-run.

Opt in: ``pytest -m "workflow and slow" tests/workflow`` (a few minutes on 2 CPU cores).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
PIPELINE = ("Snakefile", "workflow", "config", "profiles", "reports")


def snakemake(cwd: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SNAKEMAKE), "--cores", "2", "--configfile", "config/ci.yaml", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


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


@pytest.mark.workflow
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_ci_pipeline_end_to_end(tmp_path: Path) -> None:
    for name in PIPELINE:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, tmp_path / name)
    res = snakemake(tmp_path, timeout=1700)
    assert res.returncode == 0, res.stderr[-4000:]
    out = tmp_path / "results" / "ci"
    for n in range(2, 13):
        assert (out / "tables" / f"table{n}.md").is_file()
    table2 = (out / "tables" / "table2.md").read_text()
    assert "A2SB (no partitioning)" in table2 and "Degraded input (ours)" in table2
    for fig in (
        "fig2_bandwidth_extension",
        "fig3_inpainting",
        "fig6_phase_error",
        "fig7_long_audio",
    ):
        assert (out / "figures" / f"{fig}.png").is_file() and (
            out / "figures" / f"{fig}.pdf"
        ).is_file()
    again = snakemake(tmp_path, "-n", timeout=300)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
