"""Restoration API and the ``a2sb restore`` CLI end to end, including every bad-input case."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import a2sb
from a2sb.checkpoint import save_checkpoint
from a2sb.cli import main as cli_main
from a2sb.masks import MaskConfig
from a2sb.restoration import CROSSFADE_S, Restorer, paper_gaps
from tests.conftest import music_like

# A small STFT through the same code path as the paper's (SPEC 1, 11).
STFT = a2sb.STFTConfig(
    sample_rate=16000, n_fft=256, hop_length=128, win_length=256, segment_frames=64
)
RATE = STFT.sample_rate


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = a2sb.build_model("tiny")
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_checkpoint(
        path,
        model,
        model.config.to_dict(),
        STFT.to_dict(),
        extra={"mask_config": MaskConfig().to_dict(), "beta_max": 1.0},
    )
    return path


def bwe_args(src: Path, out: Path, checkpoint: Path, *extra: str) -> list[str]:
    """``a2sb restore SRC OUT`` at a 4 kHz cutoff with ``checkpoint``, no progress bar."""
    return ["restore", str(src), str(out), "--task", "bandwidth-extension", "--cutoff-hz", "4000",
            "--checkpoint", str(checkpoint), "--no-progress", *extra]  # fmt: skip


def run_cli(*args: str) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "a2sb", *args], capture_output=True, text=True, timeout=300
    )
    return proc.returncode, proc.stderr


def test_cli_end_to_end_stereo_10s(tmp_path, checkpoint):
    rate = 44100  # resampled to the model's 22050 Hz inside
    left, right = music_like(10 * rate, rate, seed=1), music_like(10 * rate, rate, seed=2)
    src = tmp_path / "in.wav"
    sf.write(src, np.stack([left, right], axis=1), rate, subtype="PCM_16")
    out = tmp_path / "out.wav"
    code, err = run_cli(*bwe_args(src, out, checkpoint, "--steps", "2", "--seed", "1"))
    assert code == 0, err
    data, out_rate = sf.read(out, always_2d=True)
    assert out_rate == RATE and data.shape == (10 * RATE, 2)
    assert np.isfinite(data).all() and np.abs(data).max() > 0.1
    assert not np.allclose(data[:, 0], data[:, 1])
    # inpainting with the paper's protocol leaves the audio outside the gaps untouched, except
    # the cross-fades just outside their edges
    out2 = tmp_path / "inp.wav"
    code, err = run_cli(
        "restore",
        str(out),
        str(out2),
        "--task",
        "inpainting",
        "--gap-every",
        "5",
        "--gap-ms",
        "300",
        "--checkpoint",
        str(checkpoint),
        "--steps",
        "2",
        "--no-progress",
    )
    assert code == 0, err
    inp, _ = sf.read(out2, always_2d=True)
    keep = np.ones(len(inp), dtype=bool)
    fade = round(CROSSFADE_S * RATE)
    for s, e in paper_gaps(10.0, 0.3):
        keep[round(s * RATE) - fade : round(e * RATE) + fade] = False
    np.testing.assert_array_equal(inp[keep], data.astype(np.float32)[keep])
    assert not np.array_equal(inp[~keep], data.astype(np.float32)[~keep])


def test_api_is_deterministic_and_keeps_layout(checkpoint):
    audio = music_like(RATE * 2, RATE, seed=3).astype(np.float32)
    kwargs = dict(task="bandwidth-extension", cutoff_hz=3000.0, checkpoint=checkpoint, steps=2)
    a = a2sb.restore(audio, RATE, seed=5, **kwargs)
    b = a2sb.restore(audio, RATE, seed=5, **kwargs)
    c = a2sb.restore(audio, RATE, seed=6, **kwargs)
    assert a.shape == audio.shape and np.array_equal(a, b) and not np.array_equal(a, c)
    stereo = a2sb.restore(np.stack([audio, audio]), RATE, seed=5, **kwargs)
    assert stereo.shape == (2, audio.size)


@pytest.mark.parametrize("n_samples", [1, 100, 200, 129, 5000])
def test_any_length_from_one_sample(checkpoint, n_samples):
    audio = np.random.default_rng(0).standard_normal(n_samples).astype(np.float32) * 0.1
    out = a2sb.restore(
        audio, RATE, task="bandwidth-extension", cutoff_hz=4000.0, checkpoint=checkpoint, steps=2
    )
    assert out.shape == (n_samples,) and np.isfinite(out).all()


def test_known_band_is_kept_for_bandwidth_extension(checkpoint):
    """Below the cutoff the restored spectrum equals the input's (known bins pasted)."""
    audio = music_like(RATE * 2, RATE, seed=4, lowest_hz=300).astype(np.float32)
    out = a2sb.restore(
        audio, RATE, task="bandwidth-extension", cutoff_hz=5000.0, checkpoint=checkpoint, steps=2
    )
    spec_in = torch.stft(
        torch.from_numpy(audio), 256, 64, window=torch.hann_window(256), return_complex=True
    ).abs()
    spec_out = torch.stft(
        torch.from_numpy(out), 256, 64, window=torch.hann_window(256), return_complex=True
    ).abs()
    low = slice(1, int(4000 / RATE * 256))
    ref = spec_in[low, 4:-4]
    err = (spec_out[low, 4:-4] - ref).abs().max() / ref.max()
    assert float(err) < 0.05


def write(tmp_path: Path, name: str, audio: np.ndarray, rate: int = RATE) -> Path:
    path = tmp_path / name
    sf.write(path, audio, rate, subtype="FLOAT")
    return path


BAD_CASES = {
    "missing": (
        lambda p: p / "nope.wav",
        ["--task", "bandwidth-extension", "--cutoff-hz", "4000"],
        "no such file",
    ),
    "not audio": (
        lambda p: (p / "x.wav").write_text("hello") and p / "x.wav",
        ["--task", "bandwidth-extension", "--cutoff-hz", "4000"],
        "not a readable audio file",
    ),
    "zero length": (
        lambda p: write(p, "z.wav", np.zeros(0, dtype=np.float32)),
        ["--task", "bandwidth-extension", "--cutoff-hz", "4000"],
        "zero length",
    ),
    "nan": (
        lambda p: write(p, "n.wav", np.array([0.1, np.nan] * 3000, dtype=np.float32)),
        ["--task", "bandwidth-extension", "--cutoff-hz", "4000"],
        "NaN or Inf",
    ),
    "inf": (
        lambda p: write(p, "i.wav", np.array([0.1, np.inf] * 3000, dtype=np.float32)),
        ["--task", "bandwidth-extension", "--cutoff-hz", "4000"],
        "NaN or Inf",
    ),
    "cutoff at nyquist": (
        lambda p: write(p, "c.wav", np.zeros(8000, dtype=np.float32) + 0.1),
        ["--task", "bandwidth-extension", "--cutoff-hz", str(RATE / 2)],
        "Nyquist",
    ),
    "gap outside": (
        lambda p: write(p, "g.wav", np.zeros(RATE, dtype=np.float32) + 0.1),
        ["--task", "inpainting", "--gaps", "0.5-1.5"],
        "outside the file",
    ),
    "gaps overlap": (
        lambda p: write(p, "o.wav", np.zeros(2 * RATE, dtype=np.float32) + 0.1),
        ["--task", "inpainting", "--gaps", "0.2-0.6,0.5-0.8"],
        "overlap",
    ),
    "bad gap text": (
        lambda p: write(p, "t.wav", np.zeros(2 * RATE, dtype=np.float32) + 0.1),
        ["--task", "inpainting", "--gaps", "0.2:0.6"],
        "START-END",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_one_line_error_no_output(tmp_path, checkpoint, case, capsys):
    make, args, message = BAD_CASES[case]
    src = make(tmp_path)
    out = tmp_path / "out" / "o.wav"
    code = cli_main(
        [
            "restore",
            str(src),
            str(out),
            "--checkpoint",
            str(checkpoint),
            "--steps",
            "1",
            "--no-progress",
            *args,
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("a2sb: error: ") and message in err[0], err
    assert str(src.name) in err[0]
    assert not out.exists() and not list(tmp_path.glob("out/.*"))


def test_checkpoint_problems_are_one_line_errors(tmp_path, checkpoint, capsys):
    src = write(tmp_path, "a.wav", np.zeros(RATE, dtype=np.float32) + 0.1)
    out = tmp_path / "o.wav"
    # corrupted weights: sha256 mismatch
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(checkpoint.read_bytes()[:-8] + b"\0" * 8)
    (tmp_path / "bad.json").write_text(checkpoint.with_suffix(".json").read_text())
    code = cli_main(bwe_args(src, out, bad))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "bad.safetensors" in err[0] and not out.exists()
    # a bundle whose partitions disagree on the STFT config
    other = tmp_path / "other.safetensors"
    model = a2sb.build_model("tiny")
    save_checkpoint(
        other,
        model,
        model.config.to_dict(),
        {**STFT.to_dict(), "n_fft": 512, "win_length": 512},
        t_range=(0.5, 1.0),
    )
    first = tmp_path / "first.safetensors"
    save_checkpoint(first, model, model.config.to_dict(), STFT.to_dict(), t_range=(0.0, 0.5))
    bundle = tmp_path / "bundle.json"
    from a2sb.checkpoint import write_bundle

    write_bundle(bundle, [(first, (0.0, 0.5)), (other, (0.5, 1.0))])
    code = cli_main(bwe_args(src, out, bundle))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "disagree" in err[0] and not out.exists()


def test_restorer_reads_mask_config_from_sidecar(checkpoint):
    r = Restorer.from_checkpoint(checkpoint)
    assert r.mask == MaskConfig() and r.kind == "factorized" and r.stft == STFT
    assert json.loads(checkpoint.with_suffix(".json").read_text())["t_range"] == [0.0, 1.0]


def test_bandwidth_extension_keeps_the_dc_row(checkpoint):
    """DC lies below every cutoff: a bandwidth extension keeps the input's offset."""
    audio = (0.2 + 0.3 * music_like(RATE * 2, RATE, seed=5, lowest_hz=300)).astype(np.float32)
    out = a2sb.restore(
        audio, RATE, task="bandwidth-extension", cutoff_hz=5000.0, checkpoint=checkpoint, steps=2
    )
    inner = slice(RATE // 4, -RATE // 4)
    assert abs(float(out[inner].mean()) - float(audio[inner].mean())) < 0.02


def test_a_context_prior_checkpoint_restores_both_tasks(tmp_path):
    torch.manual_seed(0)
    model = a2sb.build_model("tiny")
    path = tmp_path / "ctx.safetensors"
    masks = MaskConfig(fill_std=0.1, fill_prior="context")
    save_checkpoint(path, model, model.config.to_dict(), STFT.to_dict(),
                    extra={"mask_config": masks.to_dict(), "beta_max": 1.0})  # fmt: skip
    assert Restorer.from_checkpoint(path).mask.fill_prior == "context"
    audio = music_like(RATE * 3, RATE, seed=6, lowest_hz=300).astype(np.float32)
    out = a2sb.restore(audio, RATE, task="inpainting", gaps=[(1.0, 1.3)], checkpoint=path, steps=2)
    keep = np.ones(audio.size, dtype=bool)
    fade = round(CROSSFADE_S * RATE)
    keep[RATE - fade : int(1.3 * RATE) + fade] = False
    assert np.array_equal(out[keep], audio[keep]) and np.all(np.isfinite(out))
    bwe = a2sb.restore(
        audio, RATE, task="bandwidth-extension", cutoff_hz=3000.0, checkpoint=path, steps=2
    )
    assert bwe.shape == audio.shape and np.all(np.isfinite(bwe))


def test_a_bad_mask_config_in_the_sidecar_is_a_one_line_error(tmp_path, capsys):
    model = a2sb.build_model("tiny")
    path = tmp_path / "bad.safetensors"
    masks = {**MaskConfig().to_dict(), "fill_prior": "zeros"}
    save_checkpoint(path, model, model.config.to_dict(), STFT.to_dict(),
                    extra={"mask_config": masks, "beta_max": 1.0})  # fmt: skip
    src = write(tmp_path, "in.wav", np.zeros(RATE, dtype=np.float32) + 0.1)
    out = tmp_path / "out.wav"
    code = cli_main(bwe_args(src, out, path))
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and str(path) in err[0] and "fill_prior" in err[0]
    assert not out.exists()


def test_a_time_major_array_is_refused_with_the_layout_to_use(checkpoint):
    audio = np.zeros((2000, 2), dtype=np.float32)  # soundfile's [T, C]
    with pytest.raises(a2sb.InputError, match=r"more channels than samples.*audio\.T"):
        a2sb.restore(audio, RATE, task="bandwidth-extension", cutoff_hz=3000.0,
                     checkpoint=checkpoint, steps=1)  # fmt: skip


@pytest.mark.parametrize("every, ms", [("0", "300"), ("5", "0"), ("-5", "300")])
def test_gap_options_out_of_range_are_named(tmp_path, checkpoint, capsys, every, ms):
    src = write(tmp_path, "in.wav", np.zeros(RATE * 3, dtype=np.float32) + 0.1)
    code = cli_main(["restore", str(src), str(tmp_path / "o.wav"), "--task", "inpainting",
                     "--gap-every", every, "--gap-ms", ms, "--checkpoint", str(checkpoint)])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "must be positive" in err[0], err
    assert not (tmp_path / "o.wav").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--steps", "1000000000"], "--steps 1000000000: must lie in 1..10000"),
        (["--steps", "0"], "--steps 0: must lie"),
        (["--batch-size", "0"], "--batch-size 0: must be at least 1"),
        (["--seed", "-1"], "--seed -1: must lie in 0..9223372036854775807"),
        (["--window-frames", "0"], "--window-frames 0: must be at least 1"),
        (["--window-frames", "100000"], "--window-frames 100000: at most 1024"),
        (["--window-frames", "64", "--hop-frames", "65"], "--hop-frames 65: must not exceed"),
        (["--device", "nonsense"], "--device 'nonsense': not a device"),
    ],
)
def test_option_ranges_are_checked_before_the_work(tmp_path, checkpoint, capsys, extra, message):
    src = write(tmp_path, "in.wav", np.zeros(RATE, dtype=np.float32) + 0.1)
    out = tmp_path / "out.wav"
    code = cli_main(bwe_args(src, out, checkpoint, *extra))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err
    assert not out.exists()


def test_cuda_without_a_gpu_is_named_as_such(tmp_path, checkpoint, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    src = write(tmp_path, "in.wav", np.zeros(RATE, dtype=np.float32) + 0.1)
    code = cli_main(bwe_args(src, tmp_path / "out.wav", checkpoint, "--device", "cuda"))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [
        "a2sb: error: --device cuda: CUDA is not available on this machine"
    ]


def test_flac_output_gets_24_bit_and_a_clipping_note(tmp_path, checkpoint, capsys):
    """``out.flac`` works with the default subtype (PCM_24; FLOAT is not valid for FLAC), and a
    peak above full scale in an integer format is reported, never clipped silently."""
    from a2sb.io.audio import clipping_note, default_subtype

    assert default_subtype("x.flac") == "PCM_24" and default_subtype("x.wav") == "FLOAT"
    src = write(tmp_path, "in.wav", (0.5 * np.sin(np.arange(RATE) / 7)).astype(np.float32))
    out = tmp_path / "out.flac"
    assert cli_main(bwe_args(src, out, checkpoint, "--steps", "1")) == 0
    assert sf.info(out).subtype == "PCM_24"
    loud = np.full(100, 1.5, dtype=np.float32)
    note = clipping_note(tmp_path / "o.flac", loud, None)
    assert note and "1.500" in note and "PCM_24 clips" in note
    assert clipping_note(tmp_path / "o.wav", loud, None) is None  # float keeps the peak
    assert clipping_note(tmp_path / "o.flac", loud * 0.5, None) is None
