"""Helpers of the training tests: synthetic audio files, manifests and a tiny config."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from a2sb.training.config import TrainConfig

MANIFEST_COLUMNS = (
    "dataset", "split", "path", "duration", "sample_rate", "channels",
    "estimated_true_sr", "license", "license_class", "sha256",
)  # fmt: skip

TINY_STFT = {
    "sample_rate": 8000,
    "n_fft": 128,
    "hop_length": 32,
    "win_length": 128,
    "segment_frames": 32,
}
TINY_MASKS = {
    "cutoff_hz_range": [500.0, 3500.0],
    "gap_s_range": [0.01, 0.05],
    "min_true_sr": 4000.0,
}


def tone(rate: int, seconds: float, seed: int, channels: int = 1) -> np.ndarray:
    """A few partials below 3.5 kHz plus a little noise: [L] or [L, channels]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    x = sum(0.15 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in rng.uniform(100, 3400, 5))
    x = x + 0.01 * rng.standard_normal(t.size)
    return np.stack([x, 0.5 * x], axis=1) if channels == 2 else x


def write_manifest(path: Path, rows: list[dict[str, Any]]) -> Path:
    """A manifest CSV in the data issue's format (missing values left empty)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {"dataset": "synthetic", "license": "CC0", "license_class": "permissive", **row}
            )
    return path


def make_corpus(root: Path, bad: bool = False) -> Path:
    """Synthetic files at several rates and lengths (one stereo, one shorter than a segment);
    with ``bad``: a corrupt file, a missing file and a file below the true-rate floor."""
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    specs = [("train", 8000, 1.5, 1), ("train", 16000, 1.0, 2), ("train", 8000, 0.05, 1),
             ("train", 22050, 0.8, 1), ("valid", 8000, 1.0, 1)]  # fmt: skip
    for i, (split, rate, seconds, channels) in enumerate(specs):
        name = f"{split}{i}.wav"
        sf.write(root / name, tone(rate, seconds, i, channels), rate)
        rows.append({"split": split, "path": name, "duration": seconds, "sample_rate": rate,
                     "channels": channels, "estimated_true_sr": rate})  # fmt: skip
    if bad:
        (root / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(64))
        sf.write(root / "lowband.wav", tone(8000, 1.0, 9), 8000)
        rows += [
            {
                "split": "train",
                "path": "corrupt.wav",
                "duration": 1.0,
                "sample_rate": 8000,
                "estimated_true_sr": 8000,
            },
            {
                "split": "train",
                "path": "missing.wav",
                "duration": 1.0,
                "sample_rate": 8000,
                "estimated_true_sr": 8000,
            },
            {
                "split": "train",
                "path": "lowband.wav",
                "duration": 1.0,
                "sample_rate": 8000,
                "estimated_true_sr": 3000,
            },
        ]
    return write_manifest(root / "manifest.csv", rows)


def tiny_config(manifest: Path, **changes: Any) -> TrainConfig:
    """The tiny model on 8 kHz, 64 x 32 segments; fp32, global batch 4, no validation."""
    data: dict[str, Any] = {
        "model": {"preset": "tiny", "dropout": 0.0},
        "stft": TINY_STFT,
        "masks": TINY_MASKS,
        "manifests": [str(manifest)],
        "global_batch": 4,
        "micro_batch": 2,
        "max_steps": 4,
        "precision": "fp32",
        "checkpoint_every": 2,
        "log_every": 1,
        "valid_every": 0,
        "valid_segments": 1,
        "valid_steps": 2,
        "valid_cutoff_hz": 2000.0,
        "valid_gap_s": 0.03,
        "deterministic": True,
    }
    data.update(changes)
    return TrainConfig.from_dict(data, "test")
