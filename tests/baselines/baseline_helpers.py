"""Helpers of the baseline tests: tiny configs of each learned baseline, manifests of synthetic
audio, untrained vocoder checkpoints."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch


def write_manifest(
    folder: Path, signals: Sequence[np.ndarray], rate: int, split: str = "train"
) -> Path:
    """``folder/a{i}.wav`` (32-bit float) for each signal and ``folder/train.csv`` listing them."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["path,split"]
    for i, signal in enumerate(signals):
        sf.write(folder / f"a{i}.wav", np.asarray(signal, dtype=np.float32), rate, subtype="FLOAT")
        rows.append(f"a{i}.wav,{split}")
    (folder / "train.csv").write_text("\n".join(rows) + "\n")
    return folder / "train.csv"


def save_untrained_vocoder(
    path: Path, model: Mapping[str, Any], mel: Mapping[str, Any] | None = None, seed: int = 0
) -> Path:
    """An untrained vocoder of ``model`` (and ``mel``) saved in the vocoder package's format."""
    from baselines.common import save_weights
    from baselines.mel import MelConfig
    from baselines.vocoder import build_vocoder

    config = {"mel": dict(mel) if mel is not None else MelConfig().to_dict(), "model": dict(model)}
    torch.manual_seed(seed)
    save_weights(path, build_vocoder(config).state_dict(), "vocoder", config)
    return path


#: A tiny CQTDiff at 16 kHz (inputs at 44.1 kHz exercise the resampling).
CQTDIFF_TINY = {
    "seed": 0,
    "sample_rate": 16000,
    "model": {
        "bins_per_octave": 4,
        "depth": 3,
        "channels": [2, 4, 4, 4],
        "emb_dim": 8,
        "dilations": [1, 2],
    },
    "diffusion": {"sigma_data": None, "sigma_max": 1.0, "rho": 7.0},
    "train": {
        "segment_s": 0.25,
        "batch_size": 2,
        "steps": 2,
        "lr": 1e-3,
        "sigma_data_crops": 2,
        "log_every": 1,
    },
    "sampler": {"steps": 2, "segment_s": 0.4, "overlap_s": 0.05, "context_s": 0.1},
}

#: Tiny MAID: 16384-sample segments (32 frames), a two-level UNet of width 8.
MAID_TINY = {
    "segment": 16384,
    "model": {
        "channels": 8,
        "mults": [1, 2],
        "res_blocks": 1,
        "attention_levels": [1],
        "heads": 2,
        "groups": 4,
    },
    "mask": {"gap_min_s": 0.05, "gap_max_s": 0.2},
    "train": {"steps": 2, "batch_size": 2},
    "sample": {"steps": 2, "margin_frames": 2},
}

#: A tiny vocoder generator (3 stages of 8x, 8 channels at the end), trains in seconds.
VOCODER_TINY = {
    "upsample_rates": [8, 8, 8],
    "upsample_kernel_sizes": [16, 16, 16],
    "initial_channels": 32,
    "min_channels": 8,
    "resblock_kernel_sizes": [3],
    "resblock_dilations": [[1, 3]],
    "input_shift": 5.0,
    "input_scale": 0.3,
    "prior_iters": 0,
}


def tiny_vocoder_config(**train) -> dict:
    return {
        "model": VOCODER_TINY,
        "discriminator": {
            "periods": [2],
            "period_mult": 0.0625,
            "resolutions": [[512, 128, 512]],
            "resolution_channels": 4,
        },
        "loss": {
            "mel_windows": [512, 2048],
            "mel_bands": [40, 80],
            "stft_resolutions": [[1024, 120, 600]],
        },
        "train": {"steps": 2, "batch_size": 1, "segment": 2048, **train},
    }


IBAR_MEL = {"sample_rate": 16000, "n_fft": 256, "hop_length": 64, "win_length": 256, "n_mels": 32}

#: A tiny IBAR at 16 kHz (0.128 s segments).
IBAR_TINY = {
    "mel": IBAR_MEL,
    "model": {
        "hidden": 32,
        "depth": 1,
        "heads": 2,
        "patch_mels": 8,
        "patch_frames": 4,
        "segment_frames": 32,  # 2048 samples = 0.128 s
    },
    "text": {"width": 32, "layers": 1, "heads": 2, "max_bytes": 48},
    "data": {"cutoff_hz_range": [1000.0, 6000.0], "gap_s_range": [0.02, 0.1]},
    "train": {"steps": 3, "batch_size": 2, "warmup_steps": 1, "log_every": 1},
    "sample": {"steps": 2, "solver": "euler", "overlap_frames": 8},
}
