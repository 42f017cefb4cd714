"""Checkpoints (safetensors + JSON sidecar) and t-partition bundles."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import safetensors.torch
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from a2sb.checkpoint import (
    check_tiling,
    file_sha256,
    load_bundle,
    load_checkpoint,
    load_partitions,
    read_sidecar,
    save_checkpoint,
    sidecar_path,
    write_bundle,
)
from a2sb.errors import A2SBError, CheckpointError
from a2sb.network import PRESETS, build_model

STFT = {"sample_rate": 22050, "n_fft": 512, "hop_length": 128}


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    model = build_model("tiny")
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.01 * torch.randn_like(p))  # no zeros left: a real round trip test
    return model


def save_tiny(path: Path, model, t_range=(0.0, 1.0), **kw) -> dict:
    return save_checkpoint(path, model, PRESETS["tiny"].to_dict(), STFT, t_range=t_range, **kw)


def test_round_trip(tmp_path, tiny_model):
    path = tmp_path / "model.safetensors"
    sidecar = save_tiny(path, tiny_model, (0.5, 1.0), extra={"step": 7})
    assert sidecar_path(path) == tmp_path / "model.json"
    on_disk = json.loads((tmp_path / "model.json").read_text())
    assert on_disk == sidecar == read_sidecar(path)
    assert sidecar["format"] == "a2sb-checkpoint/1"
    assert sidecar["sha256"] == file_sha256(path)
    assert sidecar["t_range"] == [0.5, 1.0] and sidecar["extra"] == {"step": 7}
    assert sidecar["stft_config"] == STFT and sidecar["model_config"] == PRESETS["tiny"].to_dict()
    assert {"git_commit", "git_dirty", "created"} <= set(sidecar)
    assert sorted(os.listdir(tmp_path)) == ["model.json", "model.safetensors"]  # no temp files

    model, side = load_checkpoint(path, expect_model_config="tiny")
    assert side == sidecar and not model.training and model.config == PRESETS["tiny"]
    ours, theirs = tiny_model.state_dict(), model.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert not model.enc_blocks[3][1].pos_emb.freqs.requires_grad
    assert all(p.device.type == "cpu" for p in model.parameters())
    x = torch.randn(1, 3, 32, 64)
    tiny_model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x, 0.3), tiny_model(x, 0.3), rtol=0, atol=0)


def test_corrupt_weights_are_refused(tmp_path, tiny_model):
    path = tmp_path / "m.safetensors"
    save_tiny(path, tiny_model)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"m\.safetensors: sha256 .* differs") as err:
        load_checkpoint(path)
    assert "\n" not in str(err.value) and isinstance(err.value, A2SBError)


def test_missing_sidecar_and_wrong_suffix(tmp_path, tiny_model):
    path = tmp_path / "m.safetensors"
    save_tiny(path, tiny_model)
    (tmp_path / "m.json").unlink()
    with pytest.raises(CheckpointError, match="m.json: checkpoint sidecar not found"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="must end in .safetensors"):
        save_tiny(tmp_path / "m.pt", tiny_model)
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "absent.safetensors")


def test_expected_config_mismatch_names_keys(tmp_path, tiny_model):
    path = tmp_path / "m.safetensors"
    save_tiny(path, tiny_model)
    with pytest.raises(CheckpointError, match=r"m\.safetensors: model config differs.*widths"):
        load_checkpoint(path, expect_model_config="small")


def test_weights_must_match_config(tmp_path, tiny_model):
    state = dict(tiny_model.state_dict())
    state.pop("input_projection.bias")
    with pytest.raises(CheckpointError, match="1 missing: input_projection.bias"):
        save_tiny(tmp_path / "m.safetensors", state)
    with pytest.raises(CheckpointError, match="wrong shape"):
        save_checkpoint(tmp_path / "m.safetensors", tiny_model, PRESETS["small"].to_dict(), STFT)
    with pytest.raises(CheckpointError, match="0 <= lo < hi <= 1"):
        save_tiny(tmp_path / "m.safetensors", tiny_model, (0.5, 0.5))
    with pytest.raises(CheckpointError, match="not JSON-serialisable"):
        save_tiny(tmp_path / "m.safetensors", tiny_model, extra={"when": object()})
    assert os.listdir(tmp_path) == []


def test_tampered_weights_with_fixed_sidecar_fail_strict_load(tmp_path, tiny_model):
    path = tmp_path / "m.safetensors"
    sidecar = save_tiny(path, tiny_model)
    state = dict(tiny_model.state_dict())
    state["extra.weight"] = torch.zeros(2)
    safetensors.torch.save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    sidecar["sha256"] = file_sha256(path)
    (tmp_path / "m.json").write_text(json.dumps(sidecar))
    with pytest.raises(CheckpointError, match="1 unexpected: extra.weight"):
        load_checkpoint(path)


def test_failed_write_leaves_nothing(tmp_path, tiny_model, monkeypatch):
    def broken(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        save_tiny(tmp_path / "m.safetensors", tiny_model)
    assert os.listdir(tmp_path) == []


def test_bundle_round_trip_and_partitions(tmp_path, tiny_model):
    (tmp_path / "ckpt").mkdir()
    lo_path, hi_path = tmp_path / "ckpt" / "lo.safetensors", tmp_path / "ckpt" / "hi.safetensors"
    save_tiny(lo_path, tiny_model, (0.0, 0.5))
    save_tiny(hi_path, build_model("tiny"), (0.5, 1.0))
    bundle = write_bundle(tmp_path / "bundle.json", [(hi_path, (0.5, 1.0)), (lo_path, (0.0, 0.5))])
    assert bundle["format"] == "a2sb-bundle/1"
    assert [p["checkpoint"] for p in bundle["partitions"]] == [
        "ckpt/lo.safetensors",
        "ckpt/hi.safetensors",
    ]
    assert bundle["partitions"][0]["sha256"] == file_sha256(lo_path)

    parts = load_bundle(tmp_path / "bundle.json")
    assert [r for _, r, _ in parts] == [(0.0, 0.5), (0.5, 1.0)]
    assert torch.equal(parts[0][0].input_projection.weight, tiny_model.input_projection.weight)
    assert [r for _, r, _ in load_partitions(tmp_path / "bundle.json")] == [(0.0, 0.5), (0.5, 1.0)]
    single = load_partitions(hi_path)
    assert len(single) == 1 and single[0][1] == (0.5, 1.0)
    assert load_partitions(tmp_path / "ckpt" / "lo.json")[0][1] == (0.0, 0.5)

    save_tiny(hi_path, tiny_model, (0.5, 1.0))  # replaced after the bundle was written
    with pytest.raises(CheckpointError, match=r"hi\.safetensors: sha256 .* bundle\.json"):
        load_bundle(tmp_path / "bundle.json")


def test_bundle_ranges_must_tile(tmp_path, tiny_model):
    path = tmp_path / "m.safetensors"
    save_tiny(path, tiny_model)
    with pytest.raises(CheckpointError, match="gap between 0.4 and 0.5"):
        write_bundle(tmp_path / "b.json", [(path, (0.0, 0.4)), (path, (0.5, 1.0))])
    with pytest.raises(CheckpointError, match="overlap"):
        write_bundle(tmp_path / "b.json", [(path, (0.0, 0.6)), (path, (0.5, 1.0))])
    with pytest.raises(CheckpointError, match="end at 0.9"):
        write_bundle(tmp_path / "b.json", [(path, (0.0, 0.9))])
    digest = file_sha256(path)
    bad = {
        "format": "a2sb-bundle/1",
        "partitions": [{"checkpoint": "m.safetensors", "t_range": [0.25, 1.0], "sha256": digest}],
    }
    (tmp_path / "b.json").write_text(json.dumps(bad))
    with pytest.raises(CheckpointError, match="start at 0.25"):
        load_bundle(tmp_path / "b.json")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(CheckpointError, match="neither a bundle nor a checkpoint sidecar"):
        load_partitions(tmp_path / "x.json")


# cuts on a 0.01 grid: every range is far wider than check_tiling's tolerance (1e-9), so
# dropping one always leaves a gap (two float cuts 1e-16 apart made a range it may forget)
@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, 99), min_size=0, max_size=5, unique=True), st.data())
def test_tiling_property(cuts, data):
    edges = [0.0, *(c / 100 for c in sorted(cuts)), 1.0]
    ranges = list(zip(edges[:-1], edges[1:]))
    shuffled = data.draw(st.permutations(ranges))
    assert check_tiling(shuffled, "x") == ranges
    if len(ranges) > 1:
        dropped = data.draw(st.integers(0, len(ranges) - 1))
        with pytest.raises(CheckpointError):
            check_tiling(ranges[:dropped] + ranges[dropped + 1 :], "x")
