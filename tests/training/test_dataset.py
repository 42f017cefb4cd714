"""Manifest crops: slices, resampling, downmix, normalisation, skips, determinism, rank split."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from training_helpers import TINY_MASKS, TINY_STFT, make_corpus, tone, write_manifest

from a2sb.errors import InputError
from a2sb.masks import MaskConfig
from a2sb.representation import STFTConfig
from a2sb.training import dataset as ds_mod
from a2sb.training.dataset import (
    CropDataset,
    RankSampler,
    filter_bandwidth,
    read_crop,
    read_entries,
)

STFT = STFTConfig(**TINY_STFT)
MASKS = MaskConfig.from_dict(TINY_MASKS)
L = STFT.segment_samples


def dataset(entries, **kw):
    return CropDataset(entries, STFT, MASKS, "factorized", (0.0, 1.0), seed=kw.pop("seed", 0), **kw)


def test_manifest_rows_paths_and_optional_columns(tmp_path):
    (tmp_path / "sub").mkdir()
    m = tmp_path / "m.csv"
    m.write_text("split,path,duration\ntrain,a.wav,2.5\nvalid,b.wav,\ntrain,/abs/c.wav,\n")
    train = read_entries([m], "train")
    assert [e.path for e in train] == [str(tmp_path / "a.wav"), "/abs/c.wav"]
    assert train[0].duration == 2.5 and train[0].true_sr is None and train[1].duration is None
    assert len(read_entries([m], None)) == 3
    with pytest.raises(InputError, match="manifest not found"):
        read_entries([tmp_path / "nope.csv"], "train")
    (tmp_path / "x.csv").write_text("split,file\ntrain,a.wav\n")
    with pytest.raises(InputError, match="lacks the column"):
        read_entries([tmp_path / "x.csv"], "train")


def test_crop_reads_only_its_slice(tmp_path, monkeypatch):
    path = tmp_path / "long.wav"
    sf.write(path, tone(16000, 30.0, 0), 16000)  # 30 s: a crop must not decode it all
    requested = []
    real_read = sf.SoundFile.read

    def spy(self, frames=-1, *args, **kwargs):
        requested.append(frames)
        return real_read(self, frames, *args, **kwargs)

    monkeypatch.setattr(sf.SoundFile, "read", spy)
    wave, rate = read_crop(str(path), 8000, L, 0.5)
    need = int(np.ceil(L * 16000 / 8000)) + 2 * ds_mod.resample_margin(16000)
    assert rate == 16000 and wave.shape == (L,) and wave.dtype == np.float32
    assert requested and all(0 < f <= need for f in requested)


def test_crop_matches_file_content_downmix_and_resample(tmp_path):
    x = tone(8000, 2.0, 1)
    sf.write(tmp_path / "s.wav", np.stack([x, 0.5 * x], 1), 8000, subtype="FLOAT")
    wave, _ = read_crop(str(tmp_path / "s.wav"), 8000, L, 0.0)  # start at frame 0
    np.testing.assert_allclose(wave, 0.75 * x[:L], atol=1e-6)
    # a 16 kHz copy resampled to 8 kHz matches the 8 kHz crop away from nothing but filter ripple
    t16 = np.arange(32000) / 16000
    sf.write(tmp_path / "hi.wav", 0.5 * np.sin(2 * np.pi * 440 * t16), 16000, subtype="FLOAT")
    low, _ = read_crop(str(tmp_path / "hi.wav"), 8000, L, 0.5)
    start = round(0.5 * (32000 - int(np.ceil(L * 2)) + 1)) / 2
    ref = 0.5 * np.sin(2 * np.pi * 440 * (np.arange(L) + start) / 8000)
    assert np.abs(low - ref).max() < 1e-2


def test_short_file_is_zero_padded_and_loud_crop_normalised(tmp_path):
    sf.write(tmp_path / "short.wav", np.full(100, 0.5), 8000, subtype="FLOAT")
    wave, _ = read_crop(str(tmp_path / "short.wav"), 8000, L, 0.3)
    assert np.allclose(wave[:100], 0.5) and not wave[100:].any()
    sf.write(tmp_path / "loud.wav", 3.0 * tone(8000, 1.0, 2), 8000, subtype="FLOAT")
    wave, _ = read_crop(str(tmp_path / "loud.wav"), 8000, L, 0.2)
    assert np.isclose(np.abs(wave).max(), 1.0)


def test_bad_files_give_reasons(tmp_path):
    (tmp_path / "junk.wav").write_bytes(b"not audio at all")
    sf.write(tmp_path / "nan.wav", np.full(2000, np.nan), 8000, subtype="FLOAT")
    cases = {"missing.wav": "missing", "junk.wav": "unreadable", "nan.wav": "nan_or_inf"}
    for name, reason in cases.items():
        with pytest.raises(ds_mod.BadAudio) as err:
            read_crop(str(tmp_path / name), 8000, L, 0.0)
        assert err.value.reason == reason


def test_items_are_deterministic_and_skip_bad_files(tmp_path):
    manifest = make_corpus(tmp_path / "d", bad=True)
    entries, low = filter_bandwidth(read_entries([manifest], "train"), MASKS.min_true_sr)
    assert low == [(str(tmp_path / "d" / "lowband.wav"), "true_sr_below_floor")]
    a, b = dataset(entries), dataset(entries)
    reasons = set()
    for g in range(24):
        item = a[g]
        reasons |= {r for _, r in item["skipped"]}
        assert item["wave"].shape == (L,) and item["fill"].shape == (
            3,
            STFT.n_rows,
            STFT.segment_frames,
        )
        assert 1e-4 <= float(item["t"]) <= 1.0
        assert item["mask"].sum() > 0
    assert reasons == {"unreadable", "missing"}
    # b learns the bad files in another order: items are the same whatever the process knows
    for g in reversed(range(24)):
        x, y = a[g], b[g]
        for key in ("wave", "mask", "keep", "t", "fill", "z"):
            assert torch.equal(x[key], y[key]), key
    assert not torch.equal(a[0]["z"], dataset(entries, seed=1)[0]["z"])


def test_quality_mask_drops_rows_above_true_bandwidth(tmp_path):
    sf.write(tmp_path / "a.wav", tone(8000, 1.0, 3), 8000)
    m = write_manifest(tmp_path / "m.csv", [{"split": "train", "path": "a.wav", "duration": 1.0,
                                             "sample_rate": 8000, "estimated_true_sr": 6000}])  # fmt: skip
    item = dataset(read_entries([m], "train"))[0]
    first_dropped = STFT.row_of_frequency(3000)
    assert item["keep"][:first_dropped].all() and not item["keep"][first_dropped:].any()


def test_no_usable_file_is_one_clear_error(tmp_path):
    m = write_manifest(tmp_path / "m.csv", [{"split": "train", "path": "gone.wav", "duration": 1}])
    with pytest.raises(InputError, match="no readable audio file"):
        dataset(read_entries([m], "train"))[0]


@pytest.mark.parametrize("world,micro", [(1, 4), (2, 2), (4, 1), (2, 1)])
def test_rank_sampler_covers_each_global_batch_once(world, micro):
    global_batch = 8
    accum = global_batch // (world * micro)
    seen = [list(RankSampler(3, 5, micro, accum, r, world)) for r in range(world)]
    assert sorted(i for s in seen for i in s) == list(range(3 * 8, 5 * 8))
    assert all(len(s) == 2 * accum * micro for s in seen)


def test_random_rolloff_darkens_only_above_its_corner():
    wave = np.random.default_rng(0).standard_normal(44100).astype(np.float32)
    out = ds_mod.random_rolloff(wave, 44100, np.random.default_rng(3))
    again = ds_mod.random_rolloff(wave, 44100, np.random.default_rng(3))
    assert out.shape == wave.shape and out.dtype == np.float32 and np.array_equal(out, again)
    f0 = float(np.exp(np.random.default_rng(3).uniform(np.log(1000.0), np.log(16000.0))))
    freqs = np.fft.rfftfreq(wave.size, 1 / 44100)
    ratio = np.abs(np.fft.rfft(out)) / np.maximum(np.abs(np.fft.rfft(wave)), 1e-9)
    assert np.allclose(ratio[freqs < f0], 1.0, atol=1e-3)
    assert np.all(ratio[freqs > 1.5 * f0] < 0.95)


def test_rolloff_augmentation_changes_the_wave_and_nothing_else(tmp_path):
    entries = read_entries([make_corpus(tmp_path / "d")], "train")
    plain, never, always = (
        dataset(entries),
        dataset(entries, augment_rolloff=0.0),
        dataset(entries, augment_rolloff=1.0),
    )
    for g in range(6):
        x, y, z = plain[g], never[g], always[g]
        assert torch.equal(x["wave"], y["wave"])
        for key in ("mask", "t", "z"):
            assert torch.equal(x[key], z[key]), key
        aug = np.random.default_rng([0, 0, g, 7])  # the item's own augmentation stream
        assert aug.random() < 1.0
        darker = ds_mod.random_rolloff(x["wave"].numpy(), STFT.sample_rate, aug)
        assert np.array_equal(z["wave"].numpy(), darker)
