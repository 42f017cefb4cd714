"""Streaming restoration (a2sb.stream): the same output as the in-memory sampler for a seed,
however the input is cut into blocks, in memory that does not grow with the length; files
restored block by block and written atomically; many files with one model load."""

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
from a2sb.memory import streaming_frames
from a2sb.multidiffusion import WindowConfig, window_starts
from a2sb.noise import CHUNK_FRAMES, FrameNoise
from a2sb.restoration import Restorer, restore
from a2sb.sampler import PartitionRouter
from a2sb.stream.buffer import Accumulator, FrameBuffer
from a2sb.stream.files import open_source
from a2sb.stream.restore import restore_file, restore_stream, scan_input
from tests.conftest import music_like

STFT = a2sb.STFTConfig(
    sample_rate=16000, n_fft=256, hop_length=128, win_length=256, segment_frames=64
)
RATE = STFT.sample_rate
GAPS = [(0.5, 0.8), (1.95, 2.4), (2.43, 2.6), (3.9, 4.0)]  # two closer than a window


def restorer(prior: str, partitions: int) -> Restorer:
    torch.manual_seed(partitions)
    edges = np.linspace(0.0, 1.0, partitions + 1).tolist()
    parts = [
        (a2sb.build_model("micro").eval(), (edges[i], edges[i + 1])) for i in range(partitions)
    ]
    return Restorer(router=PartitionRouter(parts), stft=STFT, kind="factorized",
                    mask=MaskConfig(fill_prior=prior))  # fmt: skip


def random_blocks(audio: np.ndarray, seed: int, most: int = 3000):
    """``audio`` [K, L] cut at random places (1 .. most samples per block)."""
    rng = np.random.default_rng(seed)
    pos = 0
    while pos < audio.shape[-1]:
        n = int(rng.integers(1, most))
        yield audio[:, pos : pos + n]
        pos += n


def streamed(r: Restorer, audio: np.ndarray, blocks, **kwargs) -> np.ndarray:
    """``restore_stream`` over ``blocks``, with the cross spectrum a stereo input's default mode
    needs (:func:`scan_input` of the same blocks, as restore_file)."""
    out: list[np.ndarray] = []
    blocks = list(blocks)
    mode, gaps = kwargs.get("stereo_mode"), kwargs.get("gaps")
    kwargs["spectrum"] = scan_input(blocks, audio.shape[0], r.stft.sample_rate, mode, gaps)[1]
    restore_stream(r, blocks, audio.shape[-1], audio.shape[0], emit=out.append, **kwargs)
    return np.concatenate(out, axis=-1)


@pytest.mark.parametrize(
    "task, channels, prior, partitions",
    [
        ("bandwidth-extension", 1, "context-trend", 1),
        ("bandwidth-extension", 2, "noise", 4),
        ("inpainting", 1, "noise", 4),
        ("inpainting", 2, "context-trend", 1),
        ("inpainting", 1, "context-trend", 4),
        ("inpainting", 2, "context-phase", 1),
    ],
)
def test_streaming_equals_in_memory(task, channels, prior, partitions):
    r = restorer(prior, partitions)
    length = 4 * RATE + 77
    audio = np.stack([music_like(length, RATE, seed=k) for k in range(channels)])
    audio = audio.astype(np.float32)
    task_args = {"cutoff_hz": 3000.0} if task == "bandwidth-extension" else {"gaps": GAPS}
    window = WindowConfig(32, 12, 3)  # the hops do not end on the last frame
    common = dict(task=task, steps=3, seed=5, window=window, **task_args)
    expected = restore(audio, RATE, checkpoint=r, **common)
    got = streamed(r, audio, random_blocks(audio, seed=channels), **common)
    assert got.shape == expected.shape == audio.shape
    assert np.abs(got - expected).max() <= 1e-5
    if task == "bandwidth-extension" and channels == 1:
        # same windows in every network call: the same numbers (2 channels: the voices' windows
        # share the stream's network batches, the in-memory path runs them voice by voice, so
        # their numbers agree to float rounding, the bound above)
        assert np.array_equal(got, expected)
    elif task == "inpainting":
        # the known audio is kept bit for bit away from the gaps (and their 5-ms cross-fades)
        away = np.ones(length, bool)
        for a, b in GAPS:
            away[int((a - 0.01) * RATE) : int((b + 0.01) * RATE)] = False
        assert np.array_equal(got[:, away], audio[:, away])


def test_block_size_does_not_change_the_output():
    r = restorer("context-trend", 1)
    audio = music_like(3 * RATE, RATE, seed=3).astype(np.float32)[None]
    common = dict(task="inpainting", gaps=[(1.0, 1.4)], steps=2, seed=1,
                  window=WindowConfig(32, 16, 2))  # fmt: skip
    whole = streamed(r, audio, [audio], **common)
    for seed, most in [(0, 50), (1, 700), (2, 9000)]:
        assert np.array_equal(streamed(r, audio, random_blocks(audio, seed, most), **common), whole)


def test_an_input_shorter_than_a_window_is_restored_whole():
    r = restorer("noise", 1)
    audio = music_like(RATE // 2, RATE, seed=4).astype(np.float32)[None]  # 63 frames < 64
    common = dict(task="bandwidth-extension", cutoff_hz=2000.0, steps=2, seed=3,
                  window=WindowConfig(64, 32, 2))  # fmt: skip
    expected = restore(audio, RATE, checkpoint=r, **common)
    assert np.array_equal(streamed(r, audio, random_blocks(audio, 0), **common), expected)


def test_the_band_held_does_not_grow_with_the_length():
    class Half(torch.nn.Module):  # a network costs nothing here: the counts are what matter
        def forward(self, x, t):
            return 0.5 * x

    r = Restorer(router=PartitionRouter([(Half(), (0.0, 1.0))]), stft=STFT, kind="factorized",
                 mask=MaskConfig(fill_prior="context-trend"))  # fmt: skip
    window = WindowConfig(32, 16, 4)
    held = {}
    for seconds in (10, 40):
        audio = np.random.default_rng(0).normal(0, 0.1, (1, seconds * RATE)).astype(np.float32)
        blocks = [audio[:, a : a + 5000] for a in range(0, audio.shape[-1], 5000)]
        info = restore_stream(r, blocks, audio.shape[-1], 1,
                              task="bandwidth-extension", cutoff_hz=3000.0, steps=4, seed=0,
                              window=window, emit=lambda block: None)  # fmt: skip
        held[seconds] = info["frames_held"]
        assert info["frames"] == seconds * RATE // STFT.hop_length + 1
    assert held[10] < 1251 and held[40] <= 1.05 * held[10]  # 1251 frames in 10 s
    assert held[10] <= streaming_frames(4, 32, 16, 4) + 5000 // 128 + 64 + 2


def test_window_starts_end_on_the_last_frame():
    starts, covered = window_starts(100, WindowConfig(32, 12))
    assert covered == 100 and starts[-1] == 100 - 32 and starts[:-1] == list(range(0, 61, 12))
    assert window_starts(92, WindowConfig(32, 12)) == (list(range(0, 61, 12)), 92)
    assert window_starts(20, WindowConfig(32, 12)) == ([0], 32)  # shorter: wraps around


def test_frame_noise_is_the_same_however_it_is_cut():
    noise = FrameNoise(7, [0, 1], (3, 5))
    whole = noise.frames(4, 0, 5 * CHUNK_FRAMES + 3)
    parts = [noise.frames(4, a, b) for a, b in [(0, 3), (3, 11), (11, 12), (12, 43)]]
    assert torch.equal(torch.cat(parts, -1), whole)
    assert not torch.equal(whole[0], whole[1])  # channels differ
    assert not torch.equal(noise.frames(5, 0, 8), whole[..., :8])  # draws differ
    assert torch.equal(FrameNoise(7, [1], (3, 5)).frames(4, 9, 20)[0], whole[1, ..., 9:20])


def test_frame_buffer_slices_across_blocks_and_forgets():
    buf = FrameBuffer(10)
    data = torch.arange(30.0).reshape(1, 30)
    for a, b in [(0, 7), (7, 8), (8, 30)]:
        buf.append(data[:, a:b])
    assert torch.equal(buf.slice(15, 35), data[:, 5:25])
    buf.drop_before(22)
    assert buf.start == 22 and torch.equal(buf.slice(22, 40), data[:, 12:])
    with pytest.raises(IndexError):
        buf.slice(21, 23)


def test_frame_buffer_reuses_its_block_when_moving_and_growing():
    """Appends and drops in any pattern keep the frames; the block is reused (moved in place)
    while the live frames fit, and grown when they do not."""
    gen = torch.Generator().manual_seed(0)
    data = torch.randn(2, 3, 420, generator=gen)
    buf, at, kept_from = FrameBuffer(0), 0, 0
    blocks = set()
    for width, keep in [(40, 0), (40, 30), (50, 70), (10, 100), (120, 110), (60, 200),
                        (80, 300), (0, 300), (20, 395)]:  # fmt: skip
        buf.append(data[..., at : at + width])
        at += width
        buf.drop_before(keep)
        kept_from = max(kept_from, keep)
        blocks.add(buf._block.data.data_ptr())
        assert (buf.start, buf.stop) == (kept_from, at)
        assert torch.equal(buf.slice(kept_from, at), data[..., kept_from:at])
    assert len(blocks) < 9  # reused, not one tensor per append
    with pytest.raises(ValueError, match="shape"):
        buf.append(torch.zeros(3, 3, 1))


def test_memory_estimate_counts_the_blocks_slack():
    from a2sb.memory import STREAM_BLOCK_SLACK
    from a2sb.stream.buffer import GROWTH

    assert STREAM_BLOCK_SLACK == GROWTH


def test_accumulator_means_match_a_whole_sum():
    gen = torch.Generator().manual_seed(1)
    acc, w, hop = Accumulator(5), 16, 6
    outs = [(5 + k * hop, torch.randn(2, w, generator=gen)) for k in range(12)]
    total = torch.zeros(2, 5 + 11 * hop + w)
    count = torch.zeros(total.shape[-1])
    means, taken = [], 5
    for first, out in outs:
        acc.add(first, out)
        total[:, first : first + w] += out
        count[first : first + w] += 1
        if first - taken > 10:  # take what no later window touches
            means.append(acc.take(first))
            taken = first
    means.append(acc.take(acc.stop))
    expected = total[:, 5:] / count[5:].clamp(min=1)
    assert torch.allclose(torch.cat(means, -1), expected)
    with pytest.raises(IndexError):
        acc.add(taken - 1, outs[0][1])


# ----------------------------------------------------------------------------- files and CLI


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = a2sb.build_model("micro")
    path = tmp_path_factory.mktemp("ckpt") / "micro.safetensors"
    save_checkpoint(path, model, model.config.to_dict(), STFT.to_dict(),
                    extra={"mask_config": MaskConfig(fill_prior="context-trend").to_dict(),
                           "beta_max": 1.0})  # fmt: skip
    return path


def write_input(path: Path, seconds: float, rate: int, channels: int, seed: int = 0) -> np.ndarray:
    n = int(seconds * rate)
    audio = np.stack([music_like(n, rate, seed=seed + k) for k in range(channels)])
    subtype = "PCM_24" if path.suffix == ".flac" else "FLOAT"
    sf.write(path, audio.T.astype(np.float32), rate, subtype=subtype)
    return audio.astype(np.float32)


@pytest.mark.parametrize("file_rate", [RATE, 44100])
def test_a_file_restored_by_streaming_equals_the_in_memory_restoration(
    tmp_path, checkpoint, file_rate
):
    src = tmp_path / "in.wav"
    audio = write_input(src, 3.3, file_rate, 2)
    r = Restorer.from_checkpoint(checkpoint)
    window = WindowConfig(32, 16, 2)
    common = dict(task="bandwidth-extension", cutoff_hz=3500.0, steps=2, seed=9, window=window)
    result = restore_file(r, src, tmp_path / "out.wav", block=5000, **common)
    got, rate = sf.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    expected = restore(audio, file_rate, checkpoint=r, **common)
    assert rate == RATE and got.T.shape == expected.shape
    assert open_source(src, RATE).length == expected.shape[-1] == result.samples
    assert np.abs(got.T - expected).max() <= 1e-5
    assert result.peak == pytest.approx(float(np.abs(expected).max()))


def test_a_failure_midway_leaves_no_output(tmp_path, checkpoint, monkeypatch):
    src = tmp_path / "in.wav"
    write_input(src, 3.0, RATE, 1)
    target = tmp_path / "out.wav"
    target.write_bytes(b"an older output")
    r = Restorer.from_checkpoint(checkpoint)
    calls = []

    def interrupted(samples):
        calls.append(samples)
        raise KeyboardInterrupt  # Ctrl-C after the first block is written

    with pytest.raises(KeyboardInterrupt):
        restore_file(r, src, target, task="inpainting", gaps=[(1.0, 1.2)], steps=1,
                     window=WindowConfig(32, 16, 2), progress=interrupted, block=4000)  # fmt: skip
    assert calls and target.read_bytes() == b"an older output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "out.wav"]


def test_many_files_one_model_load_one_line_per_failure(tmp_path, checkpoint, capsys):
    inputs = tmp_path / "inputs"
    (inputs / "sub").mkdir(parents=True)
    write_input(inputs / "a.wav", 2.2, RATE, 1, seed=1)
    write_input(inputs / "sub" / "b.flac", 2.0, 22050, 2, seed=2)
    (inputs / "broken.wav").write_bytes(b"RIFF not really")
    loose = tmp_path / "c.wav"
    write_input(loose, 2.1, RATE, 1, seed=3)
    out_dir = tmp_path / "restored"
    args = ["restore", str(inputs), str(loose), "--out-dir", str(out_dir), "--task",
            "bandwidth-extension", "--cutoff-hz", "3000", "--checkpoint", str(checkpoint),
            "--steps", "1", "--window-frames", "32", "--no-progress"]  # fmt: skip
    code = cli_main(args)
    captured = capsys.readouterr()
    errors = [x for x in captured.err.strip().splitlines() if ": warning: " not in x]
    assert code == 2
    assert errors[0].startswith(f"a2sb: error: {inputs / 'broken.wav'}: not a readable audio file")
    assert errors[1] == "a2sb: 1 of 4 files failed" and len(errors) == 2
    lines = [json.loads(x) for x in captured.out.strip().splitlines()]
    assert sorted(Path(x["output"]).relative_to(out_dir).as_posix() for x in lines) == [
        "a.wav", "c.wav", "sub/b.flac"
    ]  # fmt: skip
    assert all(x["streaming"] for x in lines)
    b, rate = sf.read(out_dir / "sub" / "b.flac", always_2d=True)
    assert rate == RATE and b.shape == (round(2.0 * RATE), 2)
    assert not (out_dir / "broken.wav").exists() and not list(out_dir.rglob(".*"))


def test_the_cli_streams_by_default_with_progress_in_seconds(tmp_path, checkpoint):
    src = tmp_path / "in.wav"
    write_input(src, 2.5, RATE, 1)
    common = [str(src), "--task", "inpainting", "--gaps", "1.0-1.3", "--checkpoint",
              str(checkpoint), "--steps", "2", "--window-frames", "32", "--seed", "4"]  # fmt: skip
    outs = {}
    for mode in ("streaming", "in-memory"):
        out = tmp_path / f"{mode}.wav"
        flags = ["--in-memory", "--no-progress"] if mode == "in-memory" else []
        proc = subprocess.run([sys.executable, "-m", "a2sb", "restore", *common[:1], str(out),
                               *common[1:], *flags], capture_output=True, text=True,
                              timeout=300)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout.strip().splitlines()[-1])["streaming"] is (
            mode == "streaming"
        )
        outs[mode] = sf.read(out, dtype="float32")[0]
        if mode == "streaming":  # seconds of audio done, and the time left
            assert "2.5/2.5 s [" in proc.stderr and "<00:00" in proc.stderr, proc.stderr
    assert np.abs(outs["streaming"] - outs["in-memory"]).max() <= 1e-5


def test_in_out_mode_takes_exactly_two_paths(tmp_path, checkpoint, capsys):
    src = tmp_path / "in.wav"
    write_input(src, 1.0, RATE, 1)
    code = cli_main(["restore", str(src), str(tmp_path / "a.wav"), str(tmp_path / "b.wav"),
                     "--task", "bandwidth-extension", "--cutoff-hz", "3000",
                     "--checkpoint", str(checkpoint)])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "give IN OUT, or inputs with --out-dir" in err[0]
