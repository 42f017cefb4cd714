"""The ci profile end to end in a scratch copy of the pipeline: killed midway, resumed without
redoing finished jobs, then a no-op re-run. Dry runs of every profile (paper on SLURM too).

The end-to-end run is the session's ``ci_local_run`` (tests/workflow/ci_run.py), which the SLURM
test compares with (marker ``workflow``; a few minutes on 2 CPU cores).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workflow.ci_run import CiRun, copy_pipeline

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


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
@pytest.mark.timeout(1500)
def test_ci_pipeline_killed_resumed_and_complete(ci_local_run: CiRun) -> None:
    """The session's local ci run (tests/workflow/ci_run.py): interrupted once pre-training had
    finished, resumed without redoing it, complete, then nothing left to do."""
    out = ci_local_run.folder / "results" / "ci"
    assert ci_local_run.pretrain_mtime_resumed == ci_local_run.pretrain_mtime_interrupted
    assert "output: results/ci/train/pretrain/final.safetensors" not in ci_local_run.resumed_output
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
    assert "Nothing to be done" in ci_local_run.dry_run_output


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
        # eq. 8's noise fill and no roll-off augmentation, not the default profile's values that
        # --configfile would otherwise merge in under config/paper.yaml
        masks = read["pretrain"]["masks"]
        assert (masks["fill_prior"], masks["fill_std"], pre.augment_rolloff) == ("noise", 0.5, 0.0)
