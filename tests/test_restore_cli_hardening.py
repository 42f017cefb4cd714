"""``a2sb restore`` hardening: memory estimate and refusal, auto batch size, output peaks
(--normalize, --limit), --help with defaults and --version of the three CLIs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import a2sb
import a2sb.restore_cli as restore_cli
import a2sb.stream.restore as stream_restore
from a2sb import memory
from a2sb.checkpoint import save_checkpoint
from a2sb.cli import build_parser, package_version
from a2sb.cli import main as cli_main
from a2sb.masks import MaskConfig

STFT = a2sb.STFTConfig(
    sample_rate=16000, n_fft=256, hop_length=128, win_length=256, segment_frames=64
)
RATE = STFT.sample_rate


@pytest.fixture(scope="module", autouse=True)
def calibration_cache(tmp_path_factory):
    """The memory calibration's cache in a folder of this module's own."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("A2SB_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = a2sb.build_model("tiny")
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    extra = {"mask_config": MaskConfig().to_dict(), "beta_max": 1.0}
    save_checkpoint(path, model, model.config.to_dict(), STFT.to_dict(), extra=extra)
    return path


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "in.wav"
    t = np.arange(2 * RATE) / RATE
    sf.write(path, (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), RATE, subtype="FLOAT")
    return path


def restore_args(src: Path, out: Path, checkpoint: Path, *extra: str) -> list[str]:
    return ["restore", str(src), str(out), "--task", "bandwidth-extension", "--cutoff-hz", "4000",
            "--checkpoint", str(checkpoint), "--steps", "1", "--no-progress", *extra]  # fmt: skip


@pytest.fixture
def loud_restore(monkeypatch):
    """Replace the restoration by a fast fake whose output peaks at 2.5 (and 40 in one sample);
    records the window it was given."""
    seen: dict[str, object] = {}

    def loud(first: int, n: int) -> np.ndarray:
        out = 2.5 * np.sin(np.arange(first, first + n) / 7.0).astype(np.float32)
        if first <= 10 < first + n:
            out[10 - first] = 40.0
        return out

    def fake(audio, rate, **kwargs):  # the in-memory path
        seen["window"] = kwargs["window"]
        return loud(0, audio.shape[-1]).reshape(audio.shape)

    def fake_stream(restorer, blocks, length, channels, *, window, emit, **kwargs):
        seen["window"] = window
        done = 0
        for block in blocks:
            emit(np.stack([loud(done, block.shape[-1])] * channels))
            done += block.shape[-1]
        return {"frames_held": 0, "frames": 0}

    monkeypatch.setattr(restore_cli, "restore", fake)
    monkeypatch.setattr(stream_restore, "restore_stream", fake_stream)
    return seen


def json_line(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- memory


def test_an_estimate_above_the_available_memory_is_refused_before_reading(
    tmp_path, checkpoint, source, monkeypatch, capsys
):
    def no_read(*args, **kwargs):
        raise AssertionError("the audio was read before the memory check")

    monkeypatch.setattr(restore_cli, "read_audio", no_read)
    monkeypatch.setattr(restore_cli, "available_memory", lambda device: 64 * memory.MIB)
    out = tmp_path / "out.wav"
    code = cli_main(restore_args(source, out, checkpoint, "--batch-size", "16"))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"a2sb: error: {source}: restoring needs about "), err
    assert "7 windows per network call on cpu) but only 64 MiB available" in err[0]
    assert "shorter input" in err[0] and "--device" in err[0]  # batch 1 does not fit either
    assert not out.exists() and not list(tmp_path.glob(".*"))


def test_the_refusal_names_batch_size_1_when_that_fits(
    tmp_path, checkpoint, source, monkeypatch, capsys
):
    shape = memory.checkpoint_shape(checkpoint)
    cost = memory.calibrate(shape.model, STFT.n_rows, STFT.segment_frames)
    assert cost.measured and cost.per_window > 0

    def estimate(batch: int) -> int:
        return memory.estimate_memory(2 * RATE, 1, shape.stft, shape.model, 64, 32, batch,
                                      activation=cost, weight_bytes=shape.weight_bytes).total  # fmt: skip

    assert estimate(16) > estimate(4) > estimate(1)  # 2 s: 251 frames, 7 windows
    between = (estimate(1) + estimate(16)) // 2
    monkeypatch.setattr(restore_cli, "available_memory", lambda device: between)
    out = tmp_path / "out.wav"
    code = cli_main(restore_args(source, out, checkpoint, "--batch-size", "16"))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "use --batch-size 1 (about" in err[0], err
    assert "(estimate, 7 windows per network call" in err[0]  # 16 > the 7 windows there are
    assert not out.exists()


def test_no_memory_check_skips_the_refusal(tmp_path, checkpoint, source, monkeypatch, capsys):
    monkeypatch.setattr(restore_cli, "available_memory", lambda device: 1)
    monkeypatch.setattr(restore_cli, "calibrate", lambda *a, **k: pytest.fail("calibrated"))
    out = tmp_path / "out.wav"
    assert cli_main(restore_args(source, out, checkpoint, "--no-memory-check")) == 0
    info = json_line(capsys.readouterr().out)
    assert out.exists() and info["batch_size"] == 1 and "memory_estimate_bytes" not in info


def test_the_estimate_counts_the_sampler_state_and_grows_with_length():
    from a2sb.network import resolve_config

    model = resolve_config("tiny")
    cost = memory.ActivationCost(fixed=10 * memory.MIB, per_window=20 * memory.MIB)
    short, long = (
        memory.estimate_memory(n, 2, STFT, model, 64, 32, 4, activation=cost, weight_bytes=0)
        for n in (RATE, 60 * RATE)
    )
    frames = 60 * RATE // STFT.hop_length + 1
    live = (5 * 3 + 2) * STFT.n_rows * frames * 4  # 5 S + 2 S / C
    assert long.state == live + memory.RETAINED_STATES * 3 * STFT.n_rows * frames * 4
    assert long.total > short.total and long.activations == 10 * memory.MIB + 4 * 20 * memory.MIB
    assert memory.attention_floor(model, 128, 64) == 2 * (16 * 8) ** 2 * 4  # level 3: 16 x 8


def test_the_checkpoint_shape_counts_every_partition_of_a_bundle(tmp_path, checkpoint):
    from a2sb.checkpoint import write_bundle

    model = a2sb.build_model("tiny")
    halves = [tmp_path / "lo.safetensors", tmp_path / "hi.safetensors"]
    for path, t_range in zip(halves, [(0.0, 0.5), (0.5, 1.0)]):
        save_checkpoint(path, model, model.config.to_dict(), STFT.to_dict(), t_range=t_range)
    write_bundle(tmp_path / "bundle.json", [(halves[0], (0.0, 0.5)), (halves[1], (0.5, 1.0))])
    shape = memory.checkpoint_shape(tmp_path / "bundle.json")
    assert shape.stft == STFT and shape.model == model.config
    assert shape.weight_bytes == sum(path.stat().st_size for path in halves)
    assert memory.checkpoint_shape(checkpoint.with_suffix(".json")).weight_bytes == (
        checkpoint.stat().st_size
    )
    assert memory.checkpoint_shape(tmp_path / "missing.safetensors") is None


# ----------------------------------------------------------------------------- batch size


def test_auto_batch_size_on_cpu_stays_within_the_activation_budget(
    tmp_path, checkpoint, source, loud_restore, capsys
):
    out = tmp_path / "out.wav"
    assert cli_main(restore_args(source, out, checkpoint)) == 0
    info = json_line(capsys.readouterr().out)
    shape = memory.checkpoint_shape(checkpoint)
    cost = memory.calibrate(shape.model, STFT.n_rows, STFT.segment_frames)  # cached
    fitting = max(b for b in range(1, 17) if b == 1 or cost.bytes(b) <= memory.CPU_CALL_BYTES)
    expected = min(7, fitting)  # the 2-s input has 7 windows
    assert info["batch_size"] == expected == loud_restore["window"].batch_size
    assert info["memory_estimate_bytes"] > memory.BASELINE_BYTES

    def cpu_auto(cost: memory.ActivationCost) -> int:
        def estimate_for(batch: int) -> memory.MemoryEstimate:
            return memory.estimate_memory(600 * RATE, 1, STFT, shape.model, 64, 32, batch,
                                          activation=cost, weight_bytes=0)  # fmt: skip

        return memory.auto_batch_size(estimate_for, 64 * memory.GIB, "cpu")

    # the paper's 1024 x 256 windows with the tiny model: 30 MiB + 302 MiB each, 3 per call
    assert cpu_auto(memory.ActivationCost(30 * memory.MIB, 302 * memory.MIB)) == 3
    # half-size 512 x 128 windows: 33 MiB + 46 MiB each, the most a CPU call takes
    assert cpu_auto(memory.ActivationCost(33 * memory.MIB, 46 * memory.MIB)) == 16
    assert cpu_auto(memory.ActivationCost(0, 600 * memory.MIB)) == 1  # larger windows: 1


def test_an_explicit_batch_size_overrides_auto(tmp_path, checkpoint, source, loud_restore):
    assert cli_main(restore_args(source, tmp_path / "o.wav", checkpoint, "--batch-size", "3")) == 0
    assert loud_restore["window"].batch_size == 3


@pytest.mark.parametrize("text", ["0", "-2", "many"])
def test_a_bad_batch_size_is_one_line(tmp_path, checkpoint, source, capsys, text):
    code = cli_main(restore_args(source, tmp_path / "o.wav", checkpoint, "--batch-size", text))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and f"--batch-size {text}: must" in err[0], err


def test_auto_batch_size_on_cuda_is_the_largest_that_fits():
    def estimate_for(batch: int) -> memory.MemoryEstimate:
        return memory.MemoryEstimate("cuda", min(batch, 40), 0, 100, 0, 0, 0, 10 * batch)

    assert memory.auto_batch_size(estimate_for, 10_000, "cuda") == 40  # capped by the windows
    assert memory.auto_batch_size(estimate_for, 300, "cuda") == 17  # 0.9 x 300 >= 100 + 170
    assert memory.auto_batch_size(estimate_for, 10, "cuda") == 1  # refused by the caller
    assert memory.auto_batch_size(estimate_for, 10_000, "cpu") == memory.CPU_MAX_BATCH


# ----------------------------------------------------------------------------- peaks


@pytest.mark.parametrize("path", ["streaming", "in-memory"])
def test_normalize_brings_the_peak_under_full_scale_and_reports_the_gain(
    tmp_path, checkpoint, source, loud_restore, capsys, path
):
    out = tmp_path / "out.wav"
    flags = ["--in-memory"] if path == "in-memory" else []
    args = restore_args(source, out, checkpoint, "--normalize", "--subtype", "PCM_16", *flags)
    assert cli_main(args) == 0
    captured = capsys.readouterr()
    info = json_line(captured.out)
    expected = restore_cli.NORMALIZE_PEAK_DBFS - 20 * math.log10(40.0)
    assert info["normalize_gain_db"] == pytest.approx(expected, abs=1e-3)
    assert "scaled by -33.04 dB" in captured.err and "clips" not in captured.err
    data, _ = sf.read(out)
    assert 0.88 < np.abs(data).max() <= 1.0
    assert not list(tmp_path.glob(".*"))  # the staged float file of the streaming path is gone
    quiet, gain = restore_cli.normalize_peak(np.full(8, 0.7, dtype=np.float32))
    assert gain == 0.0 and np.all(quiet == np.float32(0.7))  # under full scale: unchanged


@pytest.mark.parametrize("path", ["streaming", "in-memory"])
def test_limit_keeps_every_sample_inside_full_scale(
    tmp_path, checkpoint, source, loud_restore, capsys, path
):
    out = tmp_path / "out.wav"
    flags = ["--in-memory"] if path == "in-memory" else []
    assert cli_main(restore_args(source, out, checkpoint, "--limit", *flags)) == 0
    info = json_line(capsys.readouterr().out)
    data, _ = sf.read(out, dtype="float32")
    assert np.all(np.abs(data) < 1.0) and info["limited_samples"] > 0
    x = np.linspace(-50, 50, 100_001).astype(np.float32)
    y, changed = restore_cli.soft_limit(x)
    assert np.all(np.abs(y) < 1.0) and np.all(np.diff(y) >= 0)  # monotonic, inside (-1, 1)
    low = np.abs(x) <= restore_cli.LIMIT_THRESHOLD
    assert np.array_equal(y[low], x[low]) and changed == int(np.count_nonzero(~low))


def test_normalize_and_limit_are_mutually_exclusive(tmp_path, checkpoint, capsys):
    out = tmp_path / "out.wav"
    missing = tmp_path / "missing.wav"  # the options are checked before the input
    code = cli_main(restore_args(missing, out, checkpoint, "--normalize", "--limit"))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [
        "a2sb: error: --normalize and --limit: choose one (both bring peaks under full scale)"
    ]
    assert not out.exists()


def test_an_integer_subtype_still_warns_without_normalize_or_limit(
    tmp_path, checkpoint, source, loud_restore, capsys
):
    out = tmp_path / "out.flac"
    assert cli_main(restore_args(source, out, checkpoint)) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("a2sb: warning: ") and "PCM_24 clips" in err[0]


# ----------------------------------------------------------------------------- help and version


def test_restore_help_describes_every_option_with_its_default(capsys):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["restore"]
    assert all(action.help for action in sub._actions)
    with pytest.raises(SystemExit) as exc:
        cli_main(["restore", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for default in ("(default: auto)", "(default: 0)", "(default: cpu)", "(default: ours)"):
        assert default in text
    assert "(default: None)" not in text and "(default: False)" not in text


def run_main(main, argv: list[str]) -> int:
    try:
        return int(main(argv) or 0)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.mark.parametrize(
    "module, prog",
    [("a2sb.cli", "a2sb"), ("baselines.cli", "python -m baselines"),
     ("metrics.cli", "python -m metrics")],
)  # fmt: skip
def test_version_prints_and_exits_0(module, prog, capsys):
    import importlib

    main = importlib.import_module(module).main
    assert run_main(main, ["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"{prog} {package_version()}"
