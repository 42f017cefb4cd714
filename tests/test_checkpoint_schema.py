"""Sidecar and bundle schemas, and what ``load_partitions`` accepts besides a checkpoint file.

Every broken sidecar or bundle is one ``CheckpointError`` line naming the JSON file and the key;
an official ``.ckpt``, a run folder and a pipeline results folder are recognised.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch

from a2sb.checkpoint import (
    load_partitions,
    resolve_checkpoint,
    save_checkpoint,
    stft_config_of,
    write_bundle,
)
from a2sb.cli import build_parser
from a2sb.cli import main as cli_main
from a2sb.errors import CheckpointError
from a2sb.network import build_model
from a2sb.representation import STFTConfig

STFT = STFTConfig(sample_rate=16000, n_fft=256, hop_length=128, win_length=256, segment_frames=64)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A valid tiny checkpoint, copied (then corrupted) by the tests."""
    torch.manual_seed(0)
    model = build_model("tiny")
    path = tmp_path_factory.mktemp("base") / "base.safetensors"
    save_checkpoint(path, model, model.config.to_dict(), STFT.to_dict(), extra={"beta_max": 1.0})
    return path


def copy_checkpoint(base: Path, dst: Path) -> Path:
    """``base`` (.safetensors + .json) copied to ``dst`` (.safetensors)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(base, dst)
    shutil.copyfile(base.with_suffix(".json"), dst.with_suffix(".json"))
    return dst


def edit_json(path: Path, change: Callable[[Any], Any]) -> None:
    """Replace the JSON in ``path`` by ``change(data)`` (or the edited ``data`` when it returns
    ``None``)."""
    data = json.loads(path.read_text())
    new = change(data)
    path.write_text(json.dumps(data if new is None else new))


def one_line_error(path: Path, pattern: str) -> str:
    """``load_partitions(path)``'s message: one line, matching ``pattern``."""
    with pytest.raises(CheckpointError, match=pattern) as err:
        load_partitions(path)
    message = str(err.value)
    assert "\n" not in message
    return message


def setter(key: str, value: Any) -> Callable[[dict], None]:
    return lambda d: d.__setitem__(key, value)


def dropper(key: str) -> Callable[[dict], None]:
    def drop(data: dict) -> None:
        del data[key]

    return drop


def extra_setter(key: str, value: Any) -> Callable[[dict], None]:
    return lambda d: d["extra"].__setitem__(key, value)


def stft_setter(key: str, value: Any) -> Callable[[dict], None]:
    return lambda d: d["stft_config"].__setitem__(key, value)


@pytest.mark.parametrize("key", ["sha256", "model_config", "stft_config", "t_range"])
def test_a_missing_sidecar_key_is_named(tmp_path, base, key):
    path = copy_checkpoint(base, tmp_path / "x.safetensors")
    edit_json(path.with_suffix(".json"), dropper(key))
    message = one_line_error(path, f"sidecar lacks key '{key}'$")
    assert message.startswith(f"{tmp_path / 'x.json'}: ")


WRONG_TYPES = {
    "stft_config list": (setter("stft_config", [1, 2]), "key 'stft_config' must be a mapping, got list"),
    "model_config name": (setter("model_config", "tiny"), "key 'model_config' must be a mapping, got \"tiny\""),
    "model_config widths": (lambda d: d["model_config"].__setitem__("widths", "abc"), "invalid model_config \\(invalid literal"),
    "extra list": (setter("extra", [1]), "key 'extra' must be a mapping, got list"),
    "extra null": (setter("extra", None), "key 'extra' must be a mapping, got null"),
    "beta_max text": (extra_setter("beta_max", "1.0"), "extra.beta_max must be a positive number, got \"1.0\""),
    "beta_max zero": (extra_setter("beta_max", 0), "extra.beta_max must be a positive number, got 0"),
    "mask_config int": (extra_setter("mask_config", 3), "extra.mask_config must be a mapping, got 3"),
    "t_range text": (setter("t_range", "0-1"), "key 't_range' must be a list of two numbers \\[lo, hi\\], got \"0-1\""),
    "t_range three": (setter("t_range", [0, 0.5, 1]), "key 't_range' must be a list of two numbers"),
    "t_range strings": (setter("t_range", ["0", "1"]), "key 't_range' must be a list of two numbers"),
    "t_range reversed": (setter("t_range", [0.5, 0.2]), "key 't_range' must satisfy 0 <= lo < hi <= 1"),
    "sha256 number": (setter("sha256", 12), "key 'sha256' must be a sha256 of 64 lowercase hex digits, got 12"),
    "sha256 short": (setter("sha256", "abc"), "key 'sha256' must be a sha256 of 64 lowercase hex"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
def test_a_wrongly_typed_sidecar_key_is_named(tmp_path, base, case):
    change, pattern = WRONG_TYPES[case]
    path = copy_checkpoint(base, tmp_path / "x.safetensors")
    edit_json(path.with_suffix(".json"), change)
    message = one_line_error(path, pattern)
    assert message.startswith(f"{tmp_path / 'x.json'}: ")
    # the same problem through the sidecar itself
    assert one_line_error(path.with_suffix(".json"), pattern) == message


@pytest.mark.parametrize("change", [dropper("format"), lambda d: [d]], ids=["no format", "list"])
def test_a_sidecar_without_its_format_is_not_taken_for_one(tmp_path, base, change):
    path = copy_checkpoint(base, tmp_path / "x.safetensors")
    edit_json(path.with_suffix(".json"), change)
    one_line_error(path, r"x\.json: not an a2sb-checkpoint/1 sidecar$")
    one_line_error(
        path.with_suffix(".json"), r"x\.json: neither a bundle nor a checkpoint sidecar$"
    )


BAD_STFT = {
    "sample rate 0": (stft_setter("sample_rate", 0), "stft_config.sample_rate must be a positive integer, got 0"),
    "sample rate float": (stft_setter("sample_rate", 16000.5), "stft_config.sample_rate must be a positive integer, got 16000.5"),
    "negative n_fft": (stft_setter("n_fft", -256), "stft_config.n_fft must be a positive integer, got -256"),
    "odd n_fft": (stft_setter("n_fft", 255), "stft_config.n_fft must be even, got 255"),
    "hop text": (stft_setter("hop_length", "128"), "stft_config.hop_length must be a positive integer, got \"128\""),
    "hop > win": (stft_setter("hop_length", 512), "stft_config needs hop_length <= win_length <= n_fft, got hop_length 512 > win_length 256"),
    "rho 0": (stft_setter("rho", 0), "stft_config.rho must be a positive number, got 0"),
    "rho null": (stft_setter("rho", None), "stft_config.rho must be a positive number, got null"),
    "unknown key": (stft_setter("nfft", 256), "stft_config has unknown keys \\['nfft'\\]"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_STFT))
def test_a_bad_stft_config_is_the_sidecars_problem(tmp_path, base, case):
    change, pattern = BAD_STFT[case]
    path = copy_checkpoint(base, tmp_path / "x.safetensors")
    edit_json(path.with_suffix(".json"), change)
    assert one_line_error(path, pattern).startswith(f"{tmp_path / 'x.json'}: ")


def test_a_bad_stft_config_is_a_one_line_restore_error(tmp_path, base, capsys):
    path = copy_checkpoint(base, tmp_path / "x.safetensors")
    edit_json(path.with_suffix(".json"), stft_setter("sample_rate", 0))
    src = tmp_path / "in.wav"
    sf.write(src, np.full(8000, 0.1, dtype=np.float32), 16000)
    out = tmp_path / "out.wav"
    argv = ["restore", str(src), str(out), "--task", "bandwidth-extension", "--cutoff-hz", "4000",
            "--checkpoint", str(path), "--steps", "1", "--no-progress"]  # fmt: skip
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"a2sb: error: {tmp_path / 'x.json'}: stft_config.sample_rate must be a positive "
        "integer, got 0"
    ]
    assert not out.exists()


def test_stft_config_of_names_the_sidecar_when_defaults_conflict(tmp_path):
    # every key valid on its own, but the default win_length 2048 exceeds this n_fft
    sidecar = {"stft_config": {"sample_rate": 16000, "n_fft": 256, "hop_length": 128}}
    with pytest.raises(CheckpointError, match=r"^x\.json: invalid stft_config \(need 0 < hop"):
        stft_config_of(sidecar, "x.json")
    assert stft_config_of({"stft_config": STFT.to_dict()}, "x.json") == STFT
    with pytest.raises(CheckpointError, match=r"^x\.json: key 'stft_config' must be a mapping"):
        stft_config_of({}, "x.json")


@pytest.fixture
def bundle(tmp_path, base) -> Path:
    """A valid two-partition bundle ``b.json`` over copies of ``base``."""
    ckpt = copy_checkpoint(base, tmp_path / "ckpt" / "m.safetensors")
    path = tmp_path / "b.json"
    write_bundle(path, [(ckpt, (0.0, 0.5)), (ckpt, (0.5, 1.0))])
    return path


def entry_setter(key: str, value: Any) -> Callable[[dict], None]:
    return lambda d: d["partitions"][1].__setitem__(key, value)


BAD_BUNDLES = {
    "no partitions": (dropper("partitions"), "bundle lacks key 'partitions'$"),
    "partitions empty": (setter("partitions", []), "key 'partitions' is empty"),
    "partitions mapping": (setter("partitions", {}), "key 'partitions' must be a list of \\{checkpoint, t_range, sha256\\}, got mapping"),
    "entry text": (lambda d: d["partitions"].__setitem__(0, "m.safetensors"), "partitions\\[0\\] must be a mapping, got \"m.safetensors\""),
    "entry without sha256": (lambda d: d["partitions"][1].__delitem__("sha256"), "partitions\\[1\\] lacks key 'sha256'$"),
    "checkpoint number": (entry_setter("checkpoint", 3), "partitions\\[1\\].checkpoint must be the path of a .safetensors file, got 3"),
    "checkpoint list": (entry_setter("checkpoint", ["m.safetensors"]), "partitions\\[1\\].checkpoint must be the path of a .safetensors file, got list"),
    "checkpoint sidecar": (entry_setter("checkpoint", "ckpt/m.json"), "partitions\\[1\\].checkpoint must be the path of a .safetensors file, got \"ckpt/m.json\""),
    "t_range one number": (entry_setter("t_range", 0.5), "partitions\\[1\\].t_range must be a list of two numbers \\[lo, hi\\], got 0.5"),
    "t_range text": (entry_setter("t_range", ["0.5", 1]), "partitions\\[1\\].t_range must be a list of two numbers"),
    "t_range outside": (entry_setter("t_range", [0.5, 2]), "partitions\\[1\\].t_range must satisfy 0 <= lo < hi <= 1, got \\[0.5, 2.0\\]"),
    "sha256 upper": (lambda d: d["partitions"][1].__setitem__("sha256", d["partitions"][1]["sha256"].upper()), "partitions\\[1\\].sha256 must be a sha256 of 64 lowercase hex digits"),
    "sha256 null": (entry_setter("sha256", None), "partitions\\[1\\].sha256 must be a sha256 of 64 lowercase hex digits, got null"),
    "format": (setter("format", "a2sb-bundle/2"), "neither a bundle nor a checkpoint sidecar"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_BUNDLES))
def test_a_bad_bundle_entry_is_named(bundle, case):
    change, pattern = BAD_BUNDLES[case]
    edit_json(bundle, change)
    assert one_line_error(bundle, pattern).startswith(f"{bundle}: ")


def test_the_valid_bundle_loads(bundle):
    assert [r for _, r, _ in load_partitions(bundle)] == [(0.0, 0.5), (0.5, 1.0)]


def test_an_official_ckpt_gets_the_convert_command(tmp_path, capsys):
    ckpt = tmp_path / "A2SB_onesplit_0.0_1.0_release.ckpt"
    # unpickling this would fail with ModuleNotFoundError: it must not be unpickled at all
    ckpt.write_bytes(b"\x80\x02cno_such_module\nno_such_name\n)R.")
    command = f"a2sb convert-checkpoint {ckpt} OUT.safetensors --preset paper"
    message = one_line_error(ckpt, "PyTorch Lightning")
    assert message == (
        f"{ckpt}: an official A2SB checkpoint (PyTorch Lightning .ckpt); convert it first: {command}"
    )
    args = build_parser().parse_args(command.split()[1:])  # the hint is the real syntax
    assert (args.command, args.src, args.dst, args.preset) == (
        "convert-checkpoint", str(ckpt), "OUT.safetensors", "paper"
    )  # fmt: skip
    src = tmp_path / "in.wav"
    sf.write(src, np.full(8000, 0.1, dtype=np.float32), 16000)
    argv = ["restore", str(src), str(tmp_path / "o.wav"), "--task", "bandwidth-extension",
            "--cutoff-hz", "4000", "--checkpoint", str(ckpt), "--no-progress"]  # fmt: skip
    assert cli_main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"a2sb: error: {message}"]
    one_line_error(tmp_path / "missing.ckpt", r"missing\.ckpt: checkpoint not found$")


def test_another_file_is_not_a_checkpoint(tmp_path):
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"RIFF")
    one_line_error(wav, r"x\.wav: not a checkpoint; expected a \.safetensors checkpoint")


def test_a_run_folder_means_its_final_checkpoint(tmp_path, base):
    run = tmp_path / "train" / "run"
    copy_checkpoint(base, run / "final.safetensors")
    (run / "checkpoints").mkdir()
    assert resolve_checkpoint(run) == run / "final.safetensors"
    [(model, t_range, sidecar)] = load_partitions(run)
    assert t_range == (0.0, 1.0) and sidecar["stft_config"] == STFT.to_dict()


def test_an_unfinished_run_folder_names_its_latest_step(tmp_path, base):
    run = tmp_path / "run"
    for step in (900, 1000):
        name = f"step_{step:08d}"
        copy_checkpoint(base, run / "checkpoints" / f"{name}.safetensors")
        (run / "checkpoints" / f"{name}.state.json").write_text("{}")
    (run / "checkpoints" / "latest.json").write_text("{}")
    latest = run / "checkpoints" / "step_00001000.safetensors"
    message = one_line_error(run, "training has not finished")
    assert message == (
        f"{run}: training has not finished (no final.safetensors yet); "
        f"its latest step checkpoint is {latest}"
    )
    assert len(load_partitions(latest)) == 1  # usable as it is


def results_folder(root: Path, base: Path, bundles: dict[str, int]) -> Path:
    """``root/models/<name>`` bundles of ``n`` equal partitions over one copy of ``base``."""
    ckpt = copy_checkpoint(base, root / "train" / "run" / "final.safetensors")
    (root / "models").mkdir(parents=True)
    for name, n in bundles.items():
        edges = np.linspace(0.0, 1.0, n + 1).tolist()
        write_bundle(root / "models" / name, [(ckpt, (lo, hi)) for lo, hi in zip(edges, edges[1:])])
    return root


def test_a_results_folder_means_its_two_partition_model(tmp_path, base, capsys):
    root = results_folder(
        tmp_path / "default", base, {"a2sb_p1.json": 1, "a2sb_p2.json": 2, "a2sb_p4.json": 4}
    )
    assert len(load_partitions(root)) == 2
    assert capsys.readouterr().err.splitlines() == [f"a2sb: using {root / 'models/a2sb_p2.json'}"]
    assert resolve_checkpoint(root, announce=False) == root / "models" / "a2sb_p2.json"
    assert capsys.readouterr().err == ""
    (root / "models" / "a2sb_p2.json").unlink()
    assert len(load_partitions(root)) == 1
    assert capsys.readouterr().err.splitlines() == [f"a2sb: using {root / 'models/a2sb_p1.json'}"]
    (root / "models" / "a2sb_p1.json").unlink()
    assert len(load_partitions(root)) == 4  # the only bundle left
    (root / "models" / "a2sb_maestro.json").write_text("{}")
    one_line_error(
        root,
        r"no a2sb_p2\.json or a2sb_p1\.json in .*models; pass one of its bundles: "
        r"a2sb_maestro\.json, a2sb_p4\.json$",
    )
    for path in (root / "models").iterdir():
        path.unlink()
    one_line_error(root, r"models holds no bundle \.json")


def test_any_other_folder_says_what_was_expected(tmp_path):
    message = one_line_error(tmp_path, "a folder that holds no checkpoint")
    assert message.startswith(f"{tmp_path}: ")
    assert "training run folder (final.safetensors + final.json)" in message
    assert "results folder (models/a2sb_p2.json)" in message
