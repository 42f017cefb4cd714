"""The official inference protocol, rule by rule, and our protocol's inpainting scope and splice.

Each official rule is stated on a small case with the numbers of
``shared/reference/official_protocol.md`` (no official code is used or needed).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import a2sb
from a2sb.bridge import partition_boundaries, time_grid
from a2sb.errors import InputError
from a2sb.masks import gap_mask
from a2sb.multidiffusion import WindowConfig, multidiffusion_eps
from a2sb.protocol import (
    Protocol,
    official_gap_frames,
    official_gap_mask,
    official_gap_windows,
    official_gaps,
    official_padding,
    pad_with_copy,
    sampling_times,
)
from a2sb.representation import decode, encode
from a2sb.restoration import CROSSFADE_S, Restorer, paper_gaps, restore
from a2sb.sampler import PartitionRouter, sample, windowed_eps_fn
from a2sb.splice import splice_gaps
from tests.conftest import music_like

PAPER = a2sb.STFTConfig()  # 44.1 kHz, 2048 / 512
STFT = a2sb.STFTConfig(
    sample_rate=16000, n_fft=256, hop_length=128, win_length=256, segment_frames=64
)
RATE = STFT.sample_rate


class Counting(torch.nn.Module):
    """A network that records the batch size and time of every call."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net
        self.calls: list[tuple[int, float, int]] = []

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        self.calls.append((x.shape[0], float(t[0]), x.shape[-1]))
        return self.net(x, t)


def restorer(partitions: int = 1, seed: int = 0) -> Restorer:
    torch.manual_seed(seed)
    models = [
        (Counting(a2sb.build_model("tiny")).eval(), r) for r in partition_boundaries(partitions)
    ]
    return Restorer(router=PartitionRouter(models), stft=STFT, kind="factorized")


def calls(model: Restorer) -> list[tuple[int, float, int]]:
    return [c for net, _ in model.router.partitions for c in net.calls]


# ---------------------------------------------------------------- rule 1: time grid and steps


def test_official_steps_mean_n_minus_one_calls_on_the_float32_grid():
    official = sampling_times(5, Protocol.OFFICIAL)
    assert official == pytest.approx([1.0, 0.7625, 0.525, 0.2875], abs=1e-7)
    assert official == [float(np.float32(t)) for t in official]  # float32 values
    assert sampling_times(100, Protocol.OFFICIAL)[-1] == pytest.approx(0.05 + 0.95 / 99, abs=1e-7)
    ours = sampling_times(5, Protocol.OURS)
    assert len(ours) == 5 and ours[-1] == 0.05
    with pytest.raises(InputError, match="steps >= 2"):
        sampling_times(1, Protocol.OFFICIAL)


def test_the_sampler_calls_the_network_at_the_given_times_and_returns_the_last_prediction():
    seen: list[float] = []

    def eps(x_t: torch.Tensor, t: float) -> torch.Tensor:
        seen.append(t)
        return torch.zeros_like(x_t)

    x1 = torch.randn(3, 8, 10)
    mask = torch.ones(8, 10)
    times = sampling_times(6, Protocol.OFFICIAL)
    out = sample(eps, x1, mask, a2sb.BridgeSchedule(), times=times, generator=torch.Generator())
    assert seen == times and len(seen) == 5
    assert out.shape == x1.shape


# ---------------------------------------------------------------- rule 2: inpainting mask, scope


def test_official_gap_mask_frames():
    # 2.35-2.65 s at 44.1 kHz / hop 512: [int(86.13 * 2.35), int(86.13 * 2.65)) = [202, 228)
    assert official_gap_frames(PAPER, 2.35, 2.65, 1000) == (202, 228)
    mask = official_gap_mask(PAPER, 1000, [(2.35, 2.65)])
    frames = torch.nonzero(mask[0]).flatten()
    assert (int(frames[0]), int(frames[-1]) + 1) == (202, 228) and mask[:, 202:228].all()
    # ours masks every frame whose window overlaps the gap: one more before, three after
    ours = torch.nonzero(gap_mask(PAPER, 1000, [(2.35, 2.65)])[0]).flatten()
    assert (int(ours[0]), int(ours[-1]) + 1) == (201, 231)


def test_official_gaps_count_whole_periods_only():
    assert official_gaps(13.0, 0.3) == [(2.35, 2.65), (7.35, 7.65)]
    assert paper_gaps(13.0, 0.3)[-1] == (12.35, 12.65)  # ours fills a fitting last partial period


def test_official_window_is_centred_on_each_gap_and_shifted_inside():
    missing = torch.zeros(1000, dtype=torch.bool)
    missing[202:228] = True  # centre int((202 + 227) / 2) = 214: window [86, 342)
    missing[5:20] = True  # near the start: shifted to [0, 256)
    missing[990:] = True  # near the end: shifted to [744, 1000)
    assert official_gap_windows(missing, 256) == [(0, 256), (86, 342), (744, 1000)]


def test_official_inpainting_samples_one_window_per_gap_and_nothing_else():
    model = restorer()
    audio = music_like(RATE * 12, RATE, seed=1, lowest_hz=300).astype(np.float32)
    gaps = official_gaps(12.0, 0.3)  # two gaps
    out = restore(audio, RATE, task="inpainting", gaps=gaps, checkpoint=model, steps=4,
                  protocol="official")  # fmt: skip
    record = calls(model)
    # 2 gaps x (4 - 1) calls, each on one window of 64 frames
    assert len(record) == 6 and all(b == 1 and w == 64 for b, _, w in record)
    # outside the two windows the output is the input's own representation decoded
    hop = STFT.hop_length
    assert out.shape == (hop * (audio.size // hop),)
    x_in = encode(torch.from_numpy(audio), STFT, power_eps=1e-9)
    plain = decode(x_in, STFT, out.size, power_eps=1e-9).numpy()
    far = slice(0, 1 * RATE)  # the first window starts at about 2.5 s - 32 frames
    np.testing.assert_allclose(out[far], plain[far], atol=1e-5)


# ---------------------------------------------------------------- rules 3, 4, 7: decoding


def test_signed_magnitudes_flip_the_phase():
    x = torch.rand(3, STFT.n_rows, 20) + 0.1
    x[1:] = torch.nn.functional.normalize(x[1:], dim=0)
    flipped = torch.stack([-x[0], -x[1], -x[2]])
    a = decode(x, STFT, 19 * STFT.hop_length, power_eps=1e-9)
    b = decode(flipped, STFT, 19 * STFT.hop_length, power_eps=1e-9)
    torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    clamped = decode(flipped, STFT, 19 * STFT.hop_length)  # ours: clamped to 0
    assert float(clamped.abs().max()) == 0.0


def test_official_output_loses_dc_and_the_tail_and_downmixes():
    model = restorer()
    n = RATE * 2 + 77
    audio = music_like(n, RATE, seed=2, lowest_hz=300).astype(np.float32) + 0.2  # DC offset
    kw = dict(task="bandwidth-extension", cutoff_hz=3000.0, checkpoint=model, steps=3, seed=4)
    official = restore(audio, RATE, protocol="official", **kw)
    ours = restore(audio, RATE, **kw)
    assert ours.shape == (n,) and official.shape == (n - 77,)
    assert abs(float(ours.mean()) - 0.2) < 0.01  # ours keeps the input's DC row
    # official: the DC row is zeroed, so most of the offset is lost (the Hann window leaks a
    # part of it into the first row, which stays)
    assert abs(float(official[RATE // 2 : -RATE // 2].mean()) - 0.2) > 0.1
    stereo = restore(np.stack([audio, audio + 0.1]), RATE, protocol="official", **kw)
    mono = restore(audio + 0.05, RATE, protocol="official", **kw)
    assert stereo.shape == mono.shape and np.allclose(stereo, mono, atol=1e-5)


# ---------------------------------------------------------------- rule 5: padding


def test_official_padding_copies_the_first_frames_once():
    assert official_padding(259, 256, 128) == 125  # 384 = 256 + 128
    assert official_padding(384, 256, 128) == 0 and official_padding(100, 256, 128) == 156
    x = torch.arange(5.0).reshape(1, 5)
    assert pad_with_copy(x, 3).tolist() == [[0, 1, 2, 3, 4, 0, 1, 2]]
    assert pad_with_copy(x, 7).tolist() == [[0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]]  # repeats
    assert pad_with_copy(x, 2, value=0.0).tolist() == [[0, 1, 2, 3, 4, 0, 0]]


def test_official_bandwidth_extension_samples_the_padded_state():
    model = restorer()
    frames = 100  # 64-frame windows, hop 32: padded to 128
    audio = music_like((frames - 1) * STFT.hop_length, RATE, seed=3).astype(np.float32)
    restore(audio, RATE, task="bandwidth-extension", cutoff_hz=3000.0, checkpoint=model,
            steps=3, protocol="official")  # fmt: skip
    # per step: windows at 0, 32, 64 of the 128-frame padded state, none wrapping
    assert [b for b, _, _ in calls(model)] == [3, 3]


# ---------------------------------------------------------------- rule 6: routing at t = 0.5


@pytest.mark.parametrize("n", [20, 39, 77])
def test_a_grid_point_at_one_half_goes_to_the_upper_partition(n):
    router = PartitionRouter([(torch.nn.Identity(), r) for r in partition_boundaries(2)])
    ours = time_grid(n).tolist()
    hit = min(ours, key=lambda t: abs(t - 0.5))
    assert hit != 0.5 and abs(hit - 0.5) < 1e-15  # float64 rounding: 0.49999999999999994
    assert router.index(hit) == 1
    official = sampling_times(n, Protocol.OFFICIAL)
    assert 0.5 in official and router.index(0.5) == 1


# ---------------------------------------------------------------- ours: inpainting scope, splice


def test_inpainting_runs_only_windows_that_reach_a_gap_with_the_same_result():
    torch.manual_seed(0)
    net = a2sb.build_model("tiny").eval()
    router = PartitionRouter([(Counting(net), (0.0, 1.0))])
    window = WindowConfig(64, 32, 4)
    n_frames = 400
    x1 = torch.randn(3, STFT.n_rows, n_frames)
    mask = gap_mask(STFT, n_frames, [(1.0, 1.3)])
    needed = mask.any(dim=0)
    full = sample(windowed_eps_fn(router, window), x1, mask, a2sb.BridgeSchedule(), 3,
                  generator=torch.Generator().manual_seed(1))  # fmt: skip
    n_full = sum(b for b, _, _ in router.partitions[0][0].calls)
    router.partitions[0][0].calls.clear()
    fast = sample(windowed_eps_fn(router, window, needed), x1, mask, a2sb.BridgeSchedule(), 3,
                  generator=torch.Generator().manual_seed(1))  # fmt: skip
    n_fast = sum(b for b, _, _ in router.partitions[0][0].calls)
    assert n_full == 3 * 12 and n_fast == 3 * 4  # 12 windows per step; 4 reach the gap's frames
    torch.testing.assert_close(fast, full, atol=1e-5, rtol=1e-5)


def test_multidiffusion_skips_windows_but_keeps_needed_frames_exact():
    torch.manual_seed(0)
    net = a2sb.build_model("tiny").eval()
    x = torch.randn(3, STFT.n_rows, 150)
    needed = torch.zeros(150, dtype=torch.bool)
    needed[70:75] = True
    cfg = WindowConfig(64, 32, 2)
    with torch.inference_mode():
        full = multidiffusion_eps(net, x, 0.5, cfg)
        part = multidiffusion_eps(net, x, 0.5, cfg, needed)
    torch.testing.assert_close(part[..., needed], full[..., needed], atol=1e-5, rtol=1e-5)
    assert torch.isfinite(part).all() and float(part[..., :10].abs().max()) == 0.0


def _max_step(x: np.ndarray) -> float:
    return float(np.abs(np.diff(x)).max())


def test_gap_edges_are_cross_faded_without_a_step():
    model = restorer()
    audio = music_like(RATE * 3, RATE, seed=5, lowest_hz=300).astype(np.float32)
    gap = (1.0, 1.3)
    out = restore(audio, RATE, task="inpainting", gaps=[gap], checkpoint=model, steps=2)
    fade = round(CROSSFADE_S * RATE)
    a, b = round(gap[0] * RATE), round(gap[1] * RATE)
    for edge in (a, b):
        region = slice(edge - fade - 2, edge + fade + 2)
        # the generated signal is what the output holds inside the gap: compare with the
        # steps of the input and of the output's own generated part around the edge
        bound = 1.5 * max(_max_step(audio[region]), _max_step(out[a + fade : b - fade]))
        assert _max_step(out[region]) <= bound
    # a hard switch at the same place makes a step larger than that bound
    generated = out.copy()
    hard = splice_gaps(audio, generated, [(a, b)], 0)
    jump = abs(float(hard[a]) - float(hard[a - 1]))
    assert jump > 1.5 * _max_step(audio[a - fade : a])
    # outside the cross-fades the input is kept exactly
    np.testing.assert_array_equal(out[: a - fade], audio[: a - fade])
    np.testing.assert_array_equal(out[b + fade :], audio[b + fade :])


def test_splice_gains_are_equal_power_and_stay_inside_the_file():
    kept, gen = np.ones(100), np.zeros(100) + 2.0
    out = splice_gaps(kept, gen, [(0, 10), (50, 60)], 8)
    assert out[:10].tolist() == [2.0] * 10  # a gap at the start: no fade before it
    u = (np.arange(8) + 0.5) / 8  # cos / sin gains just before the second gap
    np.testing.assert_allclose(out[42:50], np.cos(np.pi * u / 2) + 2 * np.sin(np.pi * u / 2))


# ---------------------------------------------------------------- the CLI: --protocol, auto cutoff


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from a2sb.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = a2sb.build_model("tiny")
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_checkpoint(path, model, model.config.to_dict(), STFT.to_dict())
    return path


def brickwall(x: np.ndarray, rate: int, cutoff_hz: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    spec[np.fft.rfftfreq(x.size, 1 / rate) >= cutoff_hz] = 0
    return np.fft.irfft(spec, x.size)


def test_cli_auto_cutoff_and_official_protocol(tmp_path, checkpoint, capsys):
    import json

    import soundfile as sf

    from a2sb.cli import main as cli_main

    noise = np.random.default_rng(0).standard_normal(RATE * 3)
    src = tmp_path / "in.wav"
    sf.write(src, 0.1 * brickwall(noise, RATE, 4000.0), RATE, subtype="FLOAT")
    base = ["restore", str(src), "--task", "bandwidth-extension", "--cutoff-hz", "auto",
            "--checkpoint", str(checkpoint), "--steps", "2", "--no-progress"]  # fmt: skip
    out = tmp_path / "ours.wav"
    assert cli_main(base[:2] + [str(out)] + base[2:]) == 0
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert info["protocol"] == "ours" and 3900 <= info["cutoff_hz"] <= 4050
    assert sf.info(out).frames == RATE * 3
    official = tmp_path / "official.wav"
    code = cli_main(base[:2] + [str(official)] + base[2:] + ["--protocol", "official"])
    assert code == 0
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert info["protocol"] == "official" and 0 < info["cutoff_hz"] < RATE / 2  # mean roll-off
    assert sf.info(official).frames == STFT.hop_length * (RATE * 3 // STFT.hop_length)
    full_band = tmp_path / "full.wav"
    sf.write(full_band, 0.1 * noise, RATE, subtype="FLOAT")
    code = cli_main(["restore", str(full_band), str(tmp_path / "x.wav")] + base[2:])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "full-band" in err[0] and str(full_band) in err[0]
