"""Safe conversion of official Lightning checkpoints (SPEC 5)."""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
from pathlib import Path

import pytest
import torch

from a2sb.checkpoint import expected_shapes, file_sha256, load_checkpoint, shape_mismatch
from a2sb.convert import (
    convert_official_checkpoint,
    read_official_state_dict,
    register_cli,
    t_range_from_name,
)
from a2sb.errors import CheckpointError
from a2sb.network import PRESETS, build_model

TSV = Path(__file__).resolve().parent / "reference" / "official_a2sb_state_dict.tsv"
needs_tsv = pytest.mark.skipif(not TSV.is_file(), reason="shared/reference TSV not present")


class SomeCustomClass:
    """Stands for Lightning callbacks: importing it would be needed to unpickle it normally."""

    def __init__(self, value: int = 1) -> None:
        self.value = value


class RunsCode:
    """Unpickling it calls ``func(*args)``: what a malicious checkpoint does."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def lightning_like(state: dict[str, torch.Tensor], **more) -> dict:
    return {
        "state_dict": {**state, "t_to_emb.multipliers": torch.linspace(0.5, 16, 64)[None]},
        "hyper_parameters": {
            "ns": argparse.Namespace(lr=8e-5),
            "blob": b"\x00\x01",
            "dtype": torch.bfloat16,
            "size": torch.Size([3, 4]),
            "tags": {"a", "b"},
        },
        "callbacks": {SomeCustomClass(): {"best": 0.5}},
        "epoch": 3,
        "global_step": 10,
        "pytorch-lightning_version": "2.1.0",
        **more,
    }


@pytest.fixture(scope="module")
def tiny_official():
    torch.manual_seed(0)
    model = build_model("tiny")
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.01 * torch.randn_like(p))
    return {"vf_model." + k: v for k, v in model.state_dict().items()}


def read_tsv() -> dict[str, tuple[int, ...]]:
    out = {}
    for row in TSV.read_text().strip().splitlines()[1:]:
        name, shape, _ = row.split("\t")
        out[name] = tuple(int(s) for s in shape.split("x"))
    return out


# ----------------------------------------------------------------------------- conversion


def test_converts_lightning_checkpoint_with_custom_classes(tmp_path, tiny_official):
    src = tmp_path / "A2SB_twosplit_0.5_1.0_release.ckpt"
    torch.save(lightning_like(tiny_official), src)
    with pytest.raises(Exception):  # noqa: B017 - the plain safe loader cannot read it
        torch.load(src, weights_only=True)
    dst = tmp_path / "out" / "a2sb.safetensors"
    sidecar = convert_official_checkpoint(src, dst, preset="tiny")
    assert sidecar["t_range"] == [0.5, 1.0]
    extra = sidecar["extra"]
    assert extra["converted_from"] == src.name and extra["source_sha256"] == file_sha256(src)
    assert extra["reader"] == "a2sb restricted unpickler"
    assert any(g.endswith("SomeCustomClass") for g in extra["inert_globals"])
    assert "argparse.Namespace" in extra["inert_globals"]
    assert extra["ignored_state_dict_keys"] == ["t_to_emb.multipliers"]
    assert (extra["epoch"], extra["global_step"]) == (3, 10)
    assert sidecar["stft_config"]["n_fft"] == 2048 and sidecar["stft_config"]["hop_length"] == 512

    model, _ = load_checkpoint(dst, expect_model_config="tiny")
    state = model.state_dict()
    assert len(state) == len(tiny_official)
    for name, tensor in tiny_official.items():
        assert torch.equal(state[name[len("vf_model.") :]], tensor), name


def test_plain_weights_only_file_uses_torch_loader(tmp_path, tiny_official):
    src = tmp_path / "A2SB_onesplit_0.0_1.0_release.ckpt"
    torch.save({"state_dict": tiny_official, "epoch": 1}, src)
    sidecar = convert_official_checkpoint(src, tmp_path / "o.safetensors", preset="tiny")
    assert sidecar["extra"]["reader"] == "torch.load(weights_only=True)"
    assert sidecar["t_range"] == [0.0, 1.0]


def test_shared_and_strided_storages(tmp_path, tiny_official):
    state = dict(tiny_official)
    w = state["vf_model.input_projection.weight"]
    base = torch.zeros(2, *w.shape)
    base[1] = w
    state["vf_model.input_projection.weight"] = base[1]  # non-zero storage offset
    bias = state["vf_model.input_projection.bias"]
    state["vf_model.input_projection.bias"] = torch.stack([bias, -bias], 1).flatten()[::2]
    src = tmp_path / "x.ckpt"
    torch.save(lightning_like(state), src)
    weights, _ = read_official_state_dict(src)
    assert torch.equal(weights["vf_model.input_projection.weight"], w)
    assert torch.equal(weights["vf_model.input_projection.bias"], bias)


def test_mismatched_preset_is_refused_without_output(tmp_path, tiny_official):
    src = tmp_path / "x.ckpt"
    torch.save(lightning_like(tiny_official), src)
    with pytest.raises(
        CheckpointError, match=r"x\.ckpt: does not match preset 'small': .*wrong shape"
    ):
        convert_official_checkpoint(src, tmp_path / "o.safetensors", preset="small")
    state = dict(tiny_official)
    state.pop("vf_model.output_projection.2.bias")
    state["vf_model.extra.weight"] = torch.zeros(1)
    torch.save(lightning_like(state), src)
    with pytest.raises(CheckpointError, match="1 missing: output_projection.2.bias; 1 unexpected"):
        convert_official_checkpoint(src, tmp_path / "o.safetensors", preset="tiny")
    assert sorted(os.listdir(tmp_path)) == ["x.ckpt"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("A2SB_twosplit_0.5_1.0_release.ckpt", (0.5, 1.0)),
        ("A2SB_twosplit_0.0_0.5_release.ckpt", (0.0, 0.5)),
        ("A2SB_onesplit_0.0_1.0_release.ckpt", (0.0, 1.0)),
        ("model_2_3.ckpt", (0.0, 1.0)),
        ("last.ckpt", (0.0, 1.0)),
    ],
)
def test_t_range_from_name(name, expected):
    assert t_range_from_name(name) == expected


# ----------------------------------------------------------------------------- safety


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize(
    ("func", "refused"),
    [(os.system, "system"), (eval, "builtins.eval"), (subprocess.Popen, "subprocess.Popen")],
)
def test_code_execution_is_refused(tmp_path, tiny_official, protocol, func, refused):
    marker = tmp_path / "PWNED"
    cmd = f"touch {marker}"
    arg = f"__import__('os').system({cmd!r})" if func is eval else cmd
    payload = RunsCode(func, ["touch", str(marker)] if func is subprocess.Popen else arg)
    src = tmp_path / "evil.ckpt"
    torch.save(lightning_like(tiny_official, evil=payload), src, pickle_protocol=protocol)
    dst = tmp_path / "out.safetensors"
    with pytest.raises(CheckpointError) as err:
        convert_official_checkpoint(src, dst, preset="tiny")
    msg = str(err.value)
    assert msg.startswith(f"{src}: refuses to unpickle global ") and "\n" not in msg
    assert refused in msg and msg.endswith("(would execute code)")
    assert not marker.exists()
    assert sorted(os.listdir(tmp_path)) == ["evil.ckpt"]


def test_unknown_globals_are_inert(tmp_path, tiny_official):
    marker = tmp_path / "created-by-FileHandler.log"
    src = tmp_path / "x.ckpt"
    torch.save(
        lightning_like(tiny_official, logger=RunsCode(logging.FileHandler, str(marker))), src
    )
    sidecar = convert_official_checkpoint(src, tmp_path / "o.safetensors", preset="tiny")
    assert "logging.FileHandler" in sidecar["extra"]["inert_globals"]
    assert not marker.exists()


def test_legacy_format_is_refused(tmp_path, tiny_official):
    src = tmp_path / "old.ckpt"
    torch.save(lightning_like(tiny_official), src, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="not a zip-format torch checkpoint"):
        convert_official_checkpoint(src, tmp_path / "o.safetensors", preset="tiny")


# ----------------------------------------------------------------------------- CLI


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="a2sb")
    register_cli(p.add_subparsers(dest="command"))
    return p


def test_cli_success_and_error(tmp_path, tiny_official, capsys):
    src = tmp_path / "A2SB_twosplit_0.0_0.5_release.ckpt"
    torch.save(lightning_like(tiny_official), src)
    dst = tmp_path / "o.safetensors"
    args = parser().parse_args(["convert-checkpoint", str(src), str(dst), "--preset", "tiny"])
    assert args.func(args) == 0
    assert "wrote" in capsys.readouterr().out and dst.is_file()

    torch.save(lightning_like(tiny_official, evil=RunsCode(os.system, "true")), src)
    args = parser().parse_args(["convert-checkpoint", str(src), str(tmp_path / "p.safetensors")])
    assert args.preset == "paper"
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("a2sb: error: ") and err.count("\n") == 1 and "would execute code" in err


def test_cli_stft_config_inline_and_file(tmp_path, tiny_official, capsys):
    """``--stft-config`` (inline JSON or a file) goes into the sidecar; a bad one is one line."""
    import json

    src = tmp_path / "A2SB_twosplit_0.5_1.0_release.ckpt"
    torch.save(lightning_like(tiny_official), src)
    stft = {"sample_rate": 44100, "n_fft": 1024, "hop_length": 512, "win_length": 1024,
            "segment_frames": 128}  # fmt: skip
    inline = tmp_path / "inline.safetensors"
    args = parser().parse_args(["convert-checkpoint", str(src), str(inline), "--preset", "tiny",
                                "--stft-config", json.dumps(stft)])  # fmt: skip
    assert args.func(args) == 0
    sidecar = json.loads(inline.with_suffix(".json").read_text())
    assert sidecar["stft_config"] == {**stft, "rho": 0.25} and sidecar["t_range"] == [0.5, 1.0]
    (tmp_path / "stft.json").write_text(json.dumps(stft))
    from_file = tmp_path / "file.safetensors"
    args = parser().parse_args(["convert-checkpoint", str(src), str(from_file), "--preset", "tiny",
                                "--stft-config", str(tmp_path / "stft.json")])  # fmt: skip
    assert args.func(args) == 0
    assert json.loads(from_file.with_suffix(".json").read_text())["stft_config"]["n_fft"] == 1024
    capsys.readouterr()
    for bad, why in (("{not json", "neither a JSON file nor inline JSON"),
                     ('{"n_fft": 1023}', "invalid STFT config"),
                     ('{"nfft": 1024}', "unknown STFT config keys")):  # fmt: skip
        out = tmp_path / "bad.safetensors"
        args = parser().parse_args(["convert-checkpoint", str(src), str(out), "--preset", "tiny",
                                    "--stft-config", bad])  # fmt: skip
        assert args.func(args) == 2
        err = capsys.readouterr().err
        assert (
            err.startswith("a2sb: error: --stft-config: ") and why in err and err.count("\n") == 1
        )
        assert not out.exists()


# ----------------------------------------------------------------------------- the released layout


def paper_layout_file(path: Path) -> None:
    """The released checkpoints' layout (from the TSV) with 1-element storages: a small file."""
    state = {name: torch.zeros(1).expand(shape) for name, shape in read_tsv().items()}
    state["vf_model.input_projection.bias"] = torch.arange(128, dtype=torch.float32)
    torch.save(lightning_like(state), path)


@needs_tsv
def test_released_layout_is_read_and_matches_paper_preset(tmp_path):
    src = tmp_path / "A2SB_onesplit_0.0_1.0_release.ckpt"
    paper_layout_file(src)
    assert src.stat().st_size < 2_000_000
    state, info = read_official_state_dict(src)
    assert info["reader"] == "a2sb restricted unpickler"
    weights = {k[len("vf_model.") :]: v for k, v in state.items() if k.startswith("vf_model.")}
    assert len(weights) == 327
    assert (
        shape_mismatch(expected_shapes(PRESETS["paper"]), {k: v.shape for k, v in weights.items()})
        is None
    )
    assert torch.equal(weights["input_projection.bias"], torch.arange(128.0))
    assert "wrong shape" in shape_mismatch(
        expected_shapes(PRESETS["bench-small"]), {k: v.shape for k, v in weights.items()}
    )


@needs_tsv
@pytest.mark.slow
def test_full_paper_conversion(tmp_path):
    """Writes and reloads a 2.3 GB checkpoint: about 5 GB of memory and 2.3 GB of disk."""
    src = tmp_path / "A2SB_twosplit_0.5_1.0_release.ckpt"
    paper_layout_file(src)
    sidecar = convert_official_checkpoint(src, tmp_path / "paper.safetensors")
    assert (
        sidecar["t_range"] == [0.5, 1.0] and sidecar["model_config"] == PRESETS["paper"].to_dict()
    )
    model, _ = load_checkpoint(tmp_path / "paper.safetensors", expect_model_config="paper")
    assert sum(p.numel() for p in model.parameters()) == 565_544_851
    assert torch.equal(model.input_projection.bias, torch.arange(128.0))
