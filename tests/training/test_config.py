"""Training config: files, unknown keys, overrides, partitions, resolved options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from a2sb.bridge import partition_boundaries
from a2sb.cli import main
from a2sb.errors import InputError
from a2sb.training.config import TrainConfig, load_config, partition_range

REPO = Path(__file__).resolve().parents[2]


def test_defaults_are_the_papers_optimiser():
    cfg = TrainConfig()
    assert (cfg.lr, cfg.weight_decay, cfg.grad_clip) == (8e-5, 1e-8, 0.5)
    assert cfg.accumulation_steps(world_size=32) == 10  # 320 = 32 GPUs x 1 x 10


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_unknown_key_names_file_and_key(tmp_path, suffix):
    path = tmp_path / f"run{suffix}"
    data = {"model": "tiny", "learning_rate": 1e-3}
    path.write_text(json.dumps(data) if suffix == ".json" else yaml.safe_dump(data))
    with pytest.raises(InputError, match=r"run\.(yaml|json): unknown key 'learning_rate'"):
        load_config(path)


def test_overrides_and_validation(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: tiny\nglobal_batch: 64\nmicro_batch: 4\n")
    cfg = load_config(path, {"max_steps": 7, "t_range": [0.5, 1.0]})
    assert cfg.max_steps == 7 and cfg.t_range == (0.5, 1.0)
    assert cfg.accumulation_steps(2) == 8
    with pytest.raises(InputError, match="not divisible by world size 3"):
        cfg.accumulation_steps(3)
    for bad, match in [
        ({"t_range": [0.6, 0.2]}, "t_range"),
        ({"precision": "fp16"}, "precision"),
        (
            {"kind": "complex"},
            "channels",
        ),  # the 3-channel tiny model cannot train the 2-channel kind
        ({"stft": {"n_fft": 96, "win_length": 96, "hop_length": 24}}, "multiples of 32"),
        ({"micro_batch": 3}, "multiple of micro_batch"),
    ]:
        with pytest.raises(InputError, match=match):
            load_config(path, bad)


def test_model_preset_with_overrides():
    cfg = TrainConfig.from_dict({"model": {"preset": "tiny", "dropout": 0.0}})
    assert cfg.model_config().dropout == 0.0 and cfg.model_config().widths == (32,) * 6


def test_partition_ranges_are_spec4():
    assert partition_range(1, 2) == (0.5, 1.0)
    assert [partition_range(i, 4) for i in range(4)] == partition_boundaries(4)
    with pytest.raises(InputError):
        partition_range(2, 2)


def test_config_hash_ignores_bookkeeping():
    a = TrainConfig.from_dict({"model": "tiny"})
    b = TrainConfig.from_dict({"model": "tiny", "max_steps": 5, "log_every": 3})
    c = TrainConfig.from_dict({"model": "tiny", "lr": 1e-4})
    assert a.config_hash() == b.config_hash() != c.config_hash()


def test_dry_run_prints_resolved_options(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("model: tiny\nglobal_batch: 8\nmicro_batch: 2\nmanifests: [m.csv]\n")
    rc = main(["train", "--config", str(path), "--out", str(tmp_path / "run"), "--dry-run",
               "--partition", "0", "4", "--set", "seed=3"])  # fmt: skip
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["accumulation_steps"] == 4
    assert out["config"]["seed"] == 3
    assert out["config"]["t_range"] == list(partition_boundaries(4)[0])
    assert Path(out["config"]["manifests"][0]).is_absolute()
    assert not (tmp_path / "run").exists()


def test_cli_reports_bad_config_in_one_line(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("model: tiny\nbogus: 1\n")
    assert main(["train", "--config", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("a2sb: error:") and "bogus" in err and "\n" not in err
