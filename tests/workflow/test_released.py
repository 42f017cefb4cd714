"""The audit of NVIDIA's released checkpoints (workflow/rules/released.smk): the stand-in writer,
the clean-input and official-protocol options of the restore jobs, the table builder and the
pipeline's dry runs. The whole path runs in the ci pipeline test (test_ci_pipeline.py)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import safetensors.torch
import torch

from a2sb.checkpoint import load_partitions, save_checkpoint, write_bundle
from a2sb.cli import main as a2sb_main
from a2sb.io.audio import read_audio, write_audio
from a2sb.network import build_model
from a2sb.representation import STFTConfig
from metrics.aggregate import aggregate_rows
from metrics.evaluate import rows_to_csv
from reports.released import NOT_PROVIDED, build

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "workflow" / "scripts"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
PAPER = ROOT / "reports" / "reference" / "paper_results.csv"
STFT = STFTConfig(n_fft=512, hop_length=128, win_length=512, segment_frames=64)
TWOSPLIT = ("A2SB_twosplit_0.0_0.5_release", "A2SB_twosplit_0.5_1.0_release")


def tiny_bundle(folder: Path, partitions: int = 2) -> Path:
    """A bundle of ``partitions`` random tiny checkpoints, as the pipeline's ``bundle`` rule writes."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for i in range(partitions):
        torch.manual_seed(i)
        model = build_model("tiny")
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.01 * torch.randn_like(p))
        lo, hi = i / partitions, (i + 1) / partitions
        path = folder / f"finetune_{i}.safetensors"
        save_checkpoint(path, model, "tiny", STFT, t_range=(lo, hi),
                        extra={"train": {"steps": 7}, "kind": "factorized"})  # fmt: skip
        entries.append((path, (lo, hi)))
    bundle = folder / f"a2sb_p{partitions}.json"
    write_bundle(bundle, entries)
    return bundle


def run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPTS / name), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


# ----------------------------------------------------------------------------- stand-in checkpoints


def test_standin_converts_back_to_the_source_weights_bit_exact(tmp_path: Path) -> None:
    bundle = tiny_bundle(tmp_path / "models")
    out = tmp_path / "standin" / "twosplit"
    res = run_script("make_released_standin.py", "--bundle", bundle, "--out-dir", out)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{s}.ckpt" for s in TWOSPLIT] + ["source.json", "stft_config.json"]
    )
    source = json.loads((out / "source.json").read_text())
    assert source["stand_in"] and source["bundle"] == str(bundle)
    converted = []
    for i, stem in enumerate(TWOSPLIT):
        ckpt = torch.load(out / f"{stem}.ckpt", weights_only=True)  # plain containers only
        assert ckpt["pytorch-lightning_version"] == "2.3.3" and ckpt["global_step"] == 7
        assert "t_to_emb.multipliers" in ckpt["state_dict"]
        assert all(k.startswith("vf_model.") for k in ckpt["state_dict"] if "t_to_emb" not in k)
        dst = tmp_path / "converted" / f"{stem}.safetensors"
        assert a2sb_main(["convert-checkpoint", str(out / f"{stem}.ckpt"), str(dst), "--preset",
                          "tiny", "--stft-config", str(out / "stft_config.json")]) == 0  # fmt: skip
        sidecar = json.loads(dst.with_suffix(".json").read_text())
        assert sidecar["t_range"] == [i / 2, (i + 1) / 2]
        assert sidecar["stft_config"] == STFT.to_dict()
        assert sidecar["extra"]["reader"] == "torch.load(weights_only=True)"
        assert sidecar["extra"]["source_sha256"] == source["files"][i]["sha256"]
        src = safetensors.torch.load_file(str(bundle.parent / f"finetune_{i}.safetensors"))
        got = safetensors.torch.load_file(str(dst))
        assert src.keys() == got.keys()
        for name, tensor in src.items():
            assert got[name].dtype == tensor.dtype and torch.equal(got[name], tensor), name
        converted.append(dst)
    released = tmp_path / "released.json"
    assert a2sb_main(["bundle", "--out", str(released), *map(str, converted)]) == 0
    assert [r for _, r, _ in load_partitions(released)] == [(0.0, 0.5), (0.5, 1.0)]


def test_standin_one_partition_and_refusals(tmp_path: Path) -> None:
    one = tiny_bundle(tmp_path / "p1", partitions=1)
    res = run_script("make_released_standin.py", "--bundle", one, "--out-dir", tmp_path / "o")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "o" / "A2SB_onesplit_0.0_1.0_release.ckpt").is_file()
    four = tiny_bundle(tmp_path / "p4", partitions=4)
    res = run_script("make_released_standin.py", "--bundle", four, "--out-dir", tmp_path / "f")
    assert res.returncode == 2 and not (tmp_path / "f").exists()
    assert res.stderr.count("\n") == 1 and "1- and 2-partition models, not 4" in res.stderr
    (tmp_path / "p1" / "finetune_0.safetensors").write_bytes(b"changed")
    res = run_script("make_released_standin.py", "--bundle", one, "--out-dir", tmp_path / "x")
    assert res.returncode == 2 and "sha256" in res.stderr and not (tmp_path / "x").exists()


# ----------------------------------------------------------------------------- restore jobs


def degraded_layout(tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    """A clean file and its 'degraded' twin (half its level) in a 4kHz and a 300ms folder."""
    rng = np.random.default_rng(0)
    clean = (0.1 * rng.standard_normal(44100 * 2)).astype(np.float32)
    clean_dir, in_dir = tmp_path / "testset" / "audio", tmp_path / "degraded"
    write_audio(clean_dir / "sub" / "x.wav", clean, 44100, subtype="FLOAT")
    for setting in ("4kHz", "300ms"):
        write_audio(in_dir / setting / "sub" / "x.wav", 0.5 * clean, 44100, subtype="FLOAT")
    (in_dir / "300ms" / "sub" / "x.gaps.json").write_text(json.dumps({"gaps_s": [[0.85, 1.15]]}))
    return clean_dir, in_dir, clean


def test_restore_group_clean_dir_and_protocol_refusal(tmp_path: Path) -> None:
    clean_dir, in_dir, clean = degraded_layout(tmp_path)
    out = tmp_path / "restored"
    res = run_script("restore_group.py", "--method", "degraded", "--task", "bandwidth-extension",
                     "--in-dir", in_dir, "--clean-dir", clean_dir, "--out-dir", out,
                     "--settings", "4kHz")  # fmt: skip
    assert res.returncode == 0, res.stderr
    got, _ = read_audio(out / "4kHz" / "sub" / "x.wav")
    np.testing.assert_array_equal(got[0], clean)  # the clean file was read, not the degraded one
    res = run_script("restore_group.py", "--method", "degraded", "--task", "bandwidth-extension",
                     "--in-dir", in_dir, "--out-dir", tmp_path / "o2", "--settings", "4kHz",
                     "--protocol", "official")  # fmt: skip
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "A2SB methods only" in res.stderr and not (tmp_path / "o2").exists()
    res = run_script("restore_group.py", "--method", "degraded", "--task", "bandwidth-extension",
                     "--in-dir", in_dir, "--clean-dir", tmp_path / "nowhere", "--out-dir",
                     tmp_path / "o3", "--settings", "4kHz")  # fmt: skip
    assert res.returncode == 2 and "clean input of" in res.stderr and res.stderr.count("\n") == 1


@pytest.mark.parametrize(("task", "setting"), [("bandwidth-extension", "4kHz"),
                                               ("inpainting", "300ms")])  # fmt: skip
def test_restore_group_official_protocol_on_clean_input(tmp_path: Path, task, setting) -> None:
    clean_dir, in_dir, clean = degraded_layout(tmp_path)
    bundle = tiny_bundle(tmp_path / "models")
    out = tmp_path / "restored"
    res = run_script("restore_group.py", "--method", "a2sb_p2", "--checkpoint", bundle,
                     "--task", task, "--in-dir", in_dir, "--clean-dir", clean_dir,
                     "--out-dir", out, "--settings", setting, "--steps", "2",
                     "--protocol", "official")  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    got, rate = read_audio(out / setting / "sub" / "x.wav")
    hop = STFT.hop_length
    assert rate == 44100 and got.shape == (1, len(clean) // hop * hop)  # mono, official length


# ----------------------------------------------------------------------------- the table


def test_table_without_checkpoints_reads_not_run(tmp_path: Path) -> None:
    prefix = build(PAPER, tmp_path / "released", datasets=["AAM"], profile="paper")
    md = (tmp_path / "released.md").read_text()
    table = pd.read_csv(tmp_path / "released.csv", comment="#", index_col=0, dtype=str)
    ours = table[[c for c in table.columns if c.endswith(" ours") and not c.startswith("F1")]]
    assert set(ours[table["test set"] != "Maestro"].stack()) == {NOT_PROVIDED}
    first = table.iloc[0]  # twosplit, AAM, bandwidth extension, 4 kHz: the paper's 2-partition row
    assert (first["test set"], first["setting"], first["LSD paper"]) == ("AAM", "4kHz", "1.440")
    assert "stand-in" not in md.splitlines()[0]
    assert "https://huggingface.co/nvidia/audio_to_audio_schrodinger_bridge" in md
    assert "`released.checkpoints` in config/paper.yaml" in md
    assert (
        "snakemake --cores all --configfile config/paper.yaml results/paper/tables/released.md"
        in md
    )
    assert prefix.with_suffix(".tex").is_file()


def per_item_rows(values: dict[str, list[float]]) -> list[dict[str, str]]:
    rows = []
    for metric, vals in values.items():
        for i, v in enumerate(vals):
            rows.append({"task": "bandwidth_extension", "dataset": "AAM", "method": "twosplit",
                         "setting": "4kHz", "item": f"x{i}.wav", "metric": metric,
                         "value": repr(v), "status": "ok", "error": ""})  # fmt: skip
    return rows


def fake_converted_bundle(folder: Path) -> Path:
    folder.mkdir(parents=True)
    parts = []
    for stem, t in zip(TWOSPLIT, ([0.0, 0.5], [0.5, 1.0])):
        extra = {"converted_from": f"{stem}.ckpt", "source_sha256": "ab" * 32}
        (folder / f"{stem}.json").write_text(json.dumps({"extra": extra}))
        parts.append({"checkpoint": f"{stem}.safetensors", "t_range": t, "sha256": "0" * 64})
    (folder / "twosplit.json").write_text(json.dumps({"partitions": parts}))
    return folder / "twosplit.json"


def test_table_with_metrics_reads_numbers(tmp_path: Path) -> None:
    rows = per_item_rows({"lsd": [1.0, 2.0], "sispec": [20.0, 22.0]})
    per_item = tmp_path / "per_item.csv"
    per_item.write_text(rows_to_csv(rows))
    summary = tmp_path / "summary.csv"
    with open(per_item) as f:
        agg = aggregate_rows(list(csv.DictReader(f)), ["task", "dataset", "setting", "method"])
    summary.write_text(rows_to_csv(agg))
    bundle = fake_converted_bundle(tmp_path / "models")
    source = tmp_path / "source.json"
    source.write_text(
        json.dumps({"bundle": "results/x/models/a2sb_p2.json", "bundle_sha256": "c" * 64})
    )
    build(PAPER, tmp_path / "released", summary_csv=summary, models={"twosplit": bundle},
          stand_in={"twosplit": source}, datasets=["AAM"], profile="ci",
          steps={"bandwidth_extension": 2, "inpainting": 2})  # fmt: skip
    md = (tmp_path / "released.md").read_text()
    table = pd.read_csv(tmp_path / "released.csv", comment="#", index_col=0, dtype=str)
    row = table[(table["test set"] == "AAM") & (table["setting"] == "4kHz")
                & (table["task"] == "bandwidth_extension")].loc["twosplit (2 partitions)"]  # fmt: skip
    half = 12.706204736174706 * np.std([1.0, 2.0], ddof=1) / np.sqrt(2)  # t(0.975, 1)
    assert row["LSD ours"] == f"1.500 ± {half:.3f} (n=2)"
    assert row["LSD paper"] == "1.440" and row["LSD ours - paper"] == "+0.060"
    assert row["SiSpec ours"].startswith("21.00 ± ") and row["SiSpec ours - paper"] == "-2.03"
    assert row["ViSQOL ours"] == "not run: metric not computed in this profile"
    other = table[(table["test set"] == "CCMixter")].loc["twosplit (2 partitions)"].iloc[0]
    assert other["LSD ours"] == "not run: test set not evaluated in this profile"
    onesplit = table.loc["onesplit (1 partition)"].iloc[0]
    assert onesplit["LSD ours"] == "not run: not in released.models"
    heading = md.splitlines()[0]
    assert "stand-in checkpoint made from this run's own 2-partition model, not NVIDIA's weights: " \
           "this exercises the audit path only" in heading  # fmt: skip
    assert "A2SB_twosplit_0.0_0.5_release.ckpt (sha256 abababababababab" in md
    assert "2 cells with both values, ours better than the paper in 0" in md
    assert "steps n = 2 (bandwidth extension) / 2 (inpainting) (the paper: 100 / 200)" in md


def test_table_cli_error_is_one_line(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "reports.released", "--paper", str(PAPER),
                          "--model", f"twosplit={tmp_path / 'missing.json'}", "--summary",
                          str(tmp_path / "missing.csv"), "--out-prefix", str(tmp_path / "t")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert res.returncode == 1 and res.stderr.startswith("released: error: ")
    assert res.stderr.count("\n") == 1 and "missing.csv" in res.stderr
    assert not (tmp_path / "t.md").exists()


# ----------------------------------------------------------------------------- the pipeline


def dry_run(config: str, *extra: str) -> str:
    res = subprocess.run([str(SNAKEMAKE), "-n", "--quiet", "rules", "--configfile", config, *extra],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return res.stdout + res.stderr


def rule_counts(text: str) -> dict[str, int]:
    counts = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


@pytest.mark.parametrize("config", ["config/config.yaml", "config/ci.yaml"])
def test_dry_run_default_profiles_audit_the_stand_in(config: str) -> None:
    counts = rule_counts(dry_run(config))
    assert counts["released_standin"] == 2 and counts["convert_released"] == 3
    assert counts["bundle_released"] == 2 and counts["released_table"] == 1
    datasets = 4 if config == "config/config.yaml" else 1
    assert counts["restore_released"] == counts["evaluate_released"] == 2 * 2 * datasets


def test_dry_run_paper_profile_with_and_without_checkpoints(tmp_path: Path) -> None:
    counts = rule_counts(dry_run("config/paper.yaml"))
    assert counts["released_table"] == 1 and "convert_released" not in counts
    assert "released_standin" not in counts
    for stems in (TWOSPLIT, ("A2SB_onesplit_0.0_1.0_release",)):
        for stem in stems:
            (tmp_path / f"{stem}.ckpt").touch()
    counts = rule_counts(
        dry_run("config/paper.yaml", "--config", f"released={{checkpoints: {tmp_path}}}")
    )
    assert counts["convert_released"] == 3 and counts["bundle_released"] == 2
    assert counts["restore_released"] == 2 * 2 * 4 and "released_standin" not in counts
    (tmp_path / "A2SB_onesplit_0.0_1.0_release.ckpt").unlink()
    res = subprocess.run([str(SNAKEMAKE), "-n", "--configfile", "config/paper.yaml", "--config",
                          f"released={{checkpoints: {tmp_path}}}"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert (
        res.returncode != 0
        and "A2SB_onesplit_0.0_1.0_release.ckpt not found" in res.stdout + res.stderr
    )
