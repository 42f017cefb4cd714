"""Stereo modes (a2sb.stereo): identical channels come back identical and a silent channel
silent in every mode, the in-memory and streaming paths agree in every mode, and shared noise
keeps a near-centred source's generated band coherent where independent noise does not."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

import a2sb
from a2sb.checkpoint import save_checkpoint
from a2sb.cli import main as cli_main
from a2sb.errors import InputError
from a2sb.masks import MaskConfig
from a2sb.multidiffusion import WindowConfig
from a2sb.noise import FrameNoise, MixedKey
from a2sb.restoration import Restorer, restore
from a2sb.sampler import PartitionRouter
from a2sb.stereo import (
    DEFAULT_STEREO_MODE,
    ChannelLayout,
    StereoMode,
    StereoPlan,
    scan_layout,
)
from a2sb.stream.restore import restore_file, restore_stream, scan_input
from metrics.stereo import stereo_measures
from tests.conftest import music_like

STFT = a2sb.STFTConfig(
    sample_rate=16000, n_fft=256, hop_length=128, win_length=256, segment_frames=64
)
RATE = STFT.sample_rate
MODES = list(StereoMode)
GAPS = [(0.5, 0.8), (1.6, 1.95)]
WINDOW = WindowConfig(32, 12, 3)  # the hops do not end on the last frame


@pytest.fixture(scope="module")
def micro() -> Restorer:
    torch.manual_seed(0)
    net = a2sb.build_model("micro").eval()
    return Restorer(router=PartitionRouter([(net, (0.0, 1.0))]), stft=STFT, kind="factorized",
                    mask=MaskConfig(fill_prior="context-trend"))  # fmt: skip


def task_args(task: str) -> dict:
    return {"cutoff_hz": 3000.0} if task == "bandwidth-extension" else {"gaps": GAPS}


def streamed(r: Restorer, audio: np.ndarray, block: int, **kwargs) -> np.ndarray:
    """``restore_stream`` over blocks of ``block`` samples, given the cross spectrum of the same
    blocks where the mode needs it (what restore_file scans), not their layout."""
    out: list[np.ndarray] = []
    blocks = [audio[:, a : a + block] for a in range(0, audio.shape[-1], block)]
    mode, gaps = kwargs.get("stereo_mode"), kwargs.get("gaps")
    kwargs["spectrum"] = scan_input(blocks, audio.shape[0], RATE, mode, gaps)[1]
    restore_stream(r, blocks, audio.shape[-1], audio.shape[0], emit=out.append, **kwargs)
    return np.concatenate(out, axis=-1)


# ----------------------------------------------------------------------------- plan and layout


def test_the_layout_finds_silent_equal_and_opposite_channels_in_any_blocks():
    x = music_like(3000, RATE, seed=1).astype(np.float32)
    y = music_like(3000, RATE, seed=2).astype(np.float32)
    audio = np.stack([x, np.zeros_like(x), y, x, -y, -x])
    layout = ChannelLayout.of(audio)
    assert layout.silent == (False, True, False, False, False, False)
    assert layout.same_as == (None, None, None, (0, 1), (2, -1), (0, -1))
    assert layout.restored == (0, 2)
    blocks = [audio[:, a : a + 700] for a in range(0, 3000, 700)]
    assert scan_layout(blocks, 6) == layout
    almost = audio.copy()
    almost[3, 2999] += 1e-7  # one sample differs: restored on its own
    assert ChannelLayout.of(almost).same_as[3] is None
    assert ChannelLayout.of(x[None]) == ChannelLayout.distinct(1)  # mono: as before
    assert ChannelLayout.of(np.zeros((1, 10), np.float32)).restored == (0,)


@pytest.mark.parametrize("mode", MODES)
def test_the_plan_round_trips_and_keys_its_noise(mode):
    rng = np.random.default_rng(0)
    audio = rng.normal(0, 0.3, (2, 500)).astype(np.float32)
    weights = (1.0, 0.0, 0.5, 1.0)  # matched-coherence: the noise correlation of 4 rows
    plan = StereoPlan.build(mode, ChannelLayout.of(audio), weights)
    voices = plan.forward(audio)
    assert voices.shape == (2, 500) and voices.dtype == np.float32
    np.testing.assert_allclose(plan.inverse(voices), audio, atol=1e-7)
    mixed = (MixedKey(0, -1, weights), MixedKey(1, -1, weights))
    expected = {"independent": (0, 1), "shared-noise": (0, 0), "mid-side": (0, 1),
                "mid-side-shared": (0, 0), "matched-coherence": mixed}  # fmt: skip
    assert plan.keys == expected[mode.value]
    if mode.mid_side:
        np.testing.assert_allclose(voices[1], (audio[0] - audio[1]) / 2, atol=1e-7)
    else:
        assert np.array_equal(voices, audio)
    # slots that share a key draw the same numbers, and the numbers of a lone channel 0
    noise = FrameNoise(3, plan.keys, (3, 4)).frames(1, 5, 30)
    if mode is StereoMode.MATCHED_COHERENCE:  # rows of weight 1 shared, of weight 0 not
        same = [torch.equal(noise[0][:, r], noise[1][:, r]) for r in range(4)]
        assert same == [True, False, False, True]
        with pytest.raises(InputError, match="matched-coherence needs"):
            StereoPlan.build(mode, ChannelLayout.of(audio))
        return
    assert torch.equal(noise[0], noise[1]) == mode.shared
    assert torch.equal(noise[0], FrameNoise(3, [0], (3, 4)).frames(1, 5, 30)[0])


def test_modes_parse_with_a_default_for_two_channels():
    assert StereoMode.parse(None, 2) is DEFAULT_STEREO_MODE
    assert StereoMode.parse("auto", 2) is DEFAULT_STEREO_MODE
    assert StereoMode.parse(None, 1) is StereoMode.parse(None, 3) is StereoMode.INDEPENDENT
    assert StereoMode.parse("shared-noise", 4) is StereoMode.SHARED_NOISE
    with pytest.raises(InputError, match="needs 2 channels"):
        StereoMode.parse("mid-side", 3)
    with pytest.raises(InputError, match="needs 2 channels"):
        StereoMode.parse("matched-coherence", 3)
    with pytest.raises(InputError, match="unknown stereo mode 'wide'"):
        StereoMode.parse("wide", 2)


# ----------------------------------------------------------------------------- invariants


@pytest.mark.parametrize(
    "task, mode",
    [("bandwidth-extension", m) for m in MODES]
    + [
        ("inpainting", m)
        for m in (StereoMode.SHARED_NOISE, StereoMode.MID_SIDE, StereoMode.MATCHED_COHERENCE)
    ],  # fmt: skip
)
def test_identical_channels_come_back_identical_and_silent_ones_silent(micro, task, mode):
    x = music_like(RATE, RATE, seed=4).astype(np.float32)
    y = music_like(RATE, RATE, seed=5).astype(np.float32)
    args = {"gaps": [(0.4, 0.6)]} if task == "inpainting" else task_args(task)
    common = dict(task=task, steps=2, seed=3, window=WindowConfig(32, 16, 4), checkpoint=micro,
                  stereo_mode=mode, **args)  # fmt: skip
    mono = restore(x, RATE, **common)
    same = restore(np.stack([x, x]), RATE, **common)
    assert np.array_equal(same[0], same[1])
    one_silent = restore(np.stack([x, np.zeros_like(x)]), RATE, **common)
    assert not one_silent[1].any()
    # the channel left is restored as a mono file is (channel 0: noise key 0 in every mode)
    assert np.array_equal(one_silent[0], mono) and np.array_equal(same[0], mono)
    opposite = restore(np.stack([y, -y]), RATE, **common)
    assert np.array_equal(opposite[0], -opposite[1])
    assert not restore(np.zeros((2, x.size), np.float32), RATE, **common).any()
    # the streaming path, given the file's layout, does the same
    audio = np.stack([np.zeros_like(x), x])
    layout = ChannelLayout.of(audio)
    kwargs = {k: v for k, v in common.items() if k != "checkpoint"}
    got = streamed(micro, audio, 5000, layout=layout, **kwargs)
    assert not got[0].any() and np.abs(got - restore(audio, RATE, **common)).max() <= 1e-5


# ----------------------------------------------------------------------------- both paths


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("task", ["bandwidth-extension", "inpainting"])
def test_streaming_equals_in_memory_in_every_mode(micro, mode, task):
    length = 2 * RATE + 77
    audio = np.stack([music_like(length, RATE, seed=k) for k in (6, 7)]).astype(np.float32)
    common = dict(task=task, steps=2, seed=5, window=WINDOW, stereo_mode=mode, **task_args(task))
    expected = restore(audio, RATE, checkpoint=micro, **common)
    got = streamed(micro, audio, 3001, **common)
    assert got.shape == expected.shape == audio.shape
    assert np.abs(got - expected).max() <= 1e-5
    if task == "inpainting":  # the kept audio stays bit for bit away from the gaps in every mode
        away = np.ones(length, bool)
        for a, b in GAPS:
            away[int((a - 0.01) * RATE) : int((b + 0.01) * RATE)] = False
        assert np.array_equal(got[:, away], audio[:, away])
        assert np.array_equal(expected[:, away], audio[:, away])


def test_a_stream_without_the_cross_spectrum_is_refused_in_the_default_mode(micro):
    audio = np.stack([music_like(RATE, RATE, seed=k) for k in (1, 2)]).astype(np.float32)
    common = dict(task="bandwidth-extension", cutoff_hz=3000.0, steps=1, window=WINDOW)
    with pytest.raises(InputError, match="matched-coherence needs the cross spectrum"):
        restore_stream(micro, [audio], RATE, 2, emit=lambda out: None, **common)
    out: list[np.ndarray] = []  # another mode needs none
    restore_stream(micro, [audio], RATE, 2, emit=out.append, stereo_mode="shared-noise", **common)
    assert np.concatenate(out, axis=-1).shape == audio.shape


def test_restore_file_scans_the_layout_and_the_cli_takes_the_mode(micro, tmp_path, capsys):
    x = music_like(2 * RATE, RATE, seed=8).astype(np.float32)
    src = tmp_path / "same.wav"
    sf.write(src, np.stack([x, x], axis=1), RATE, subtype="FLOAT")
    common = dict(task="bandwidth-extension", cutoff_hz=3000.0, steps=2, seed=1, window=WINDOW)
    result = restore_file(micro, src, tmp_path / "out.wav", block=3000, **common)
    data, _ = sf.read(tmp_path / "out.wav", always_2d=True, dtype="float32")
    assert result.channels == 2 and np.array_equal(data[:, 0], data[:, 1])
    mono = restore(x, RATE, checkpoint=micro, **common)
    assert np.abs(data[:, 0] - mono).max() <= 1e-5
    # matched-coherence: the file's scan measures the band correlation the in-memory path does
    wide = np.stack([x, music_like(2 * RATE, RATE, seed=9)]).astype(np.float32)
    sf.write(src, wide.T, RATE, subtype="FLOAT")
    matched = dict(common, stereo_mode="matched-coherence")
    restore_file(micro, src, tmp_path / "matched.wav", block=3000, **matched)
    data, _ = sf.read(tmp_path / "matched.wav", always_2d=True, dtype="float32")
    expected = restore(wide, RATE, checkpoint=micro, **matched)
    assert np.abs(data.T - expected).max() <= 1e-5
    # the CLI: the mode resolved in the JSON line; mid-side refused for 3 channels, in one line
    ckpt = tmp_path / "micro.safetensors"
    net = micro.router.partitions[0][0]
    save_checkpoint(ckpt, net, net.config.to_dict(), STFT.to_dict(),
                    extra={"mask_config": micro.mask.to_dict(), "beta_max": 1.0})  # fmt: skip
    args = ["restore", str(src), str(tmp_path / "cli.wav"), "--task", "bandwidth-extension",
            "--cutoff-hz", "3000", "--checkpoint", str(ckpt), "--steps", "1", "--no-progress",
            "--window-frames", "32", "--no-memory-check"]  # fmt: skip
    assert cli_main(args) == 0
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert info["stereo_mode"] == DEFAULT_STEREO_MODE.value
    assert cli_main([*args, "--stereo-mode", "independent"]) == 0
    assert json.loads(capsys.readouterr().out.strip())["stereo_mode"] == "independent"
    three = tmp_path / "three.wav"
    sf.write(three, np.stack([x, x, -x], axis=1), RATE, subtype="FLOAT")
    args[1] = str(three)
    assert cli_main([*args, "--stereo-mode", "mid-side"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"a2sb: error: {three}: stereo mode mid-side needs 2 channels, the input has 3"]


# ----------------------------------------------------------------------------- the image


def test_shared_noise_keeps_a_near_centred_source_coherent(micro):
    """A centred source with a faint independent hiss per channel (so the channels differ): with
    shared noise the generated band of the two channels agrees, with independent noise not."""
    length = 2 * RATE
    x = music_like(length, RATE, seed=9)
    rng = np.random.default_rng(0)
    audio = (x + 1e-3 * rng.standard_normal((2, length))).astype(np.float32)
    common = dict(task="bandwidth-extension", cutoff_hz=3000.0, steps=2, seed=2,
                  window=WindowConfig(32, 16, 4), checkpoint=micro)  # fmt: skip
    errors = {}
    for mode in (StereoMode.INDEPENDENT, StereoMode.SHARED_NOISE):
        out = restore(audio, RATE, stereo_mode=mode, **common)
        m = stereo_measures(audio.T, out.T, RATE, cutoff_hz=3000.0)
        errors[mode] = (m.icc_err, m.width_err)
    (icc_ind, width_ind), (icc_shared, width_shared) = errors.values()
    assert icc_shared < 0.5 * icc_ind and width_shared < width_ind, errors
