"""The row "A2SB starting point (no network)": restore_group's ``a2sb_start`` method writes the
starting point of an A2SB checkpoint (a2sb.restoration.starting_point), and the pipeline runs it
for both tasks on every test set where the profile's A2SB rows start from a prior, and names the
reason in the tables where they do not."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from a2sb.checkpoint import save_checkpoint, write_bundle
from a2sb.io.audio import read_audio, write_audio
from a2sb.masks import MaskConfig
from a2sb.network import build_model
from a2sb.representation import STFTConfig
from a2sb.restoration import starting_point
from metrics.degradations import apply_gaps, bandwidth_limit
from tests.conftest import music_like

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "workflow" / "scripts" / "restore_group.py"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
STFT = STFTConfig(n_fft=512, hop_length=128, win_length=512, segment_frames=64)
RATE = STFT.sample_rate
GAP = (0.85, 1.15)


def trend_bundle(folder: Path) -> Path:
    """A one-partition bundle whose sidecar says it was trained with the context-trend fill."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = build_model("tiny")
    path = folder / "finetune_0.safetensors"
    masks = MaskConfig(fill_std=0.1, fill_prior="context-trend")
    save_checkpoint(path, model, "tiny", STFT, t_range=(0.0, 1.0),
                    extra={"mask_config": masks.to_dict(), "beta_max": 1.0})  # fmt: skip
    bundle = folder / "a2sb_p1.json"
    write_bundle(bundle, [(path, (0.0, 1.0))])
    return bundle


def group(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.mark.parametrize(("task", "setting"), [("bandwidth-extension", "4kHz"),
                                               ("inpainting", "300ms")])  # fmt: skip
def test_restore_group_writes_the_starting_point(tmp_path: Path, task: str, setting: str) -> None:
    clean = music_like(2 * RATE, RATE, seed=3).astype(np.float32)
    if task == "inpainting":
        degraded = apply_gaps(clean, RATE, [GAP])
        kwargs: dict = {"gaps": [GAP]}
    else:
        degraded, kwargs = bandwidth_limit(clean, RATE, 4000.0), {"cutoff_hz": 4000.0}
    source = tmp_path / "degraded" / setting / "sub" / "x.wav"
    write_audio(source, degraded, RATE, subtype="FLOAT")
    source.with_suffix(".gaps.json").write_text(json.dumps({"gaps_s": [list(GAP)]}))
    bundle, out = trend_bundle(tmp_path / "models"), tmp_path / "restored"
    res = group("--method", "a2sb_start", "--checkpoint", bundle, "--task", task,
                "--in-dir", tmp_path / "degraded", "--out-dir", out, "--settings", setting,
                "--seed", 4)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    got, rate = read_audio(out / setting / "sub" / "x.wav")
    want = starting_point(degraded, RATE, task=task, checkpoint=bundle, seed=4, **kwargs)
    assert rate == RATE and np.array_equal(got[0], want)
    assert not np.allclose(got[0], degraded, atol=1e-3)  # the masked region holds the fill


def test_restore_group_starting_point_refusals(tmp_path: Path) -> None:
    source = tmp_path / "degraded" / "4kHz" / "x.wav"
    write_audio(source, 0.1 * np.ones(RATE, dtype=np.float32), RATE, subtype="FLOAT")
    common = ["--method", "a2sb_start", "--task", "bandwidth-extension", "--in-dir",
              tmp_path / "degraded", "--settings", "4kHz"]  # fmt: skip
    res = group(*common, "--out-dir", tmp_path / "o1")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and not (tmp_path / "o1").exists()
    assert "a2sb_start: needs --checkpoint" in res.stderr
    bundle = trend_bundle(tmp_path / "models")
    res = group(*common, "--out-dir", tmp_path / "o2", "--checkpoint", bundle,
                "--protocol", "official")  # fmt: skip
    assert res.returncode == 2 and "A2SB methods only" in res.stderr
    assert not (tmp_path / "o2").exists()


def dry_run(configfile: str, *targets: str) -> str:
    res = subprocess.run([str(SNAKEMAKE), *targets, "-n", "--cores", "1", "-p", "--configfile",
                          configfile], cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return res.stdout


def test_the_row_runs_where_the_a2sb_rows_start_from_a_prior() -> None:
    """Default profile (fill_prior context-phase): one restore_start and one evaluate job per
    test set and task, from the no-partition model, into Tables 2-9. Paper profile (the paper's
    noise fill): no such job, and the tables are told why."""
    out = dry_run("config/config.yaml", "results/default/tables/table2.md")
    jobs = re.findall(r"rule restore_start:\n(?:    .*\n)*?    output: (\S+)", out)
    sets = ("AAM", "CCMixter", "MTD", "Maestro")
    tasks = ("bandwidth_extension", "inpainting")
    assert sorted(jobs) == sorted(f"results/default/restored/a2sb_start/{d}/{t}"
                                  for d in sets for t in tasks)  # fmt: skip
    assert "--method a2sb_start --checkpoint results/default/models/a2sb_p1.json" in out
    for d in sets:
        for t in tasks:
            assert f"results/default/metrics/per_item/a2sb_start/{d}/{t}.csv" in out
    assert "--not-run 'a2sb_start=" not in out
    paper = dry_run("config/paper.yaml", "results/paper/tables/table2.md")
    assert "restore_start" not in paper and "a2sb_start/" not in paper
    assert "--not-run 'a2sb_start=the A2SB rows start from noise (masks.fill_prior: noise" in paper


def test_restore_group_restores_a_stereo_candidate_in_its_mode(tmp_path: Path) -> None:
    """``a2sb_p1_mid_side`` writes a2sb.restore(..., stereo_mode="mid-side") of the same model (to
    float rounding: another process, thread count and batch), unlike the A2SB row's default."""
    import a2sb

    stereo = np.stack([music_like(2 * RATE, RATE, seed=s) for s in (3, 4)]).astype(np.float32)
    degraded = np.stack([bandwidth_limit(c, RATE, 4000.0) for c in stereo])
    write_audio(tmp_path / "degraded" / "4kHz" / "x.wav", degraded, RATE, subtype="FLOAT")
    bundle = trend_bundle(tmp_path / "models")
    got = {}
    for name in ("a2sb_p1_mid_side", "a2sb_p1"):
        res = group("--method", name, "--checkpoint", bundle, "--task", "bandwidth-extension",
                    "--in-dir", tmp_path / "degraded", "--out-dir", tmp_path / name,
                    "--settings", "4kHz", "--steps", 2, "--threads", 1)  # fmt: skip
        assert res.returncode == 0, res.stderr[-2000:]
        got[name] = read_audio(tmp_path / name / "4kHz" / "x.wav")[0]
    want = a2sb.restore(degraded, RATE, task="bandwidth-extension", cutoff_hz=4000.0,
                        checkpoint=bundle, steps=2, window=None, stereo_mode="mid-side")  # fmt: skip
    assert np.abs(got["a2sb_p1_mid_side"] - want).max() < 1e-5
    assert np.abs(got["a2sb_p1_mid_side"] - got["a2sb_p1"]).max() > 1e-3
