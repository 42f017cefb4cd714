"""A small synthetic listening-test folder (stimuli.csv and audio/, as
workflow/scripts/listening_test.py writes them) for the listening-page tests."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

#: real method names of the project, so the blindness checks look for the names that matter
METHODS = ("reference", "degraded", "sbr", "audiosr", "a2sb_p2")
EXCERPTS = (("bandwidth_extension", "AAM", "0"), ("inpainting", "MTD", "0"))
RATE = 16000
COLUMNS = ["stimulus", "task", "dataset", "setting", "method", "item", "segment", "start_s",
           "seconds"]  # fmt: skip


def version(clean: np.ndarray, method: str, rng: np.random.Generator) -> np.ndarray:
    """An audibly different version of ``clean`` per method."""
    if method == "reference":
        return clean
    if method == "degraded":
        return signal.sosfiltfilt(signal.butter(8, 2000, fs=RATE, output="sos"), clean)
    noise = {"sbr": 0.05, "audiosr": 0.02, "a2sb_p2": 0.005}.get(method, 0.03)
    return clean + noise * rng.standard_normal(len(clean))


def make_stimuli(
    folder: Path,
    excerpts: tuple[tuple[str, str, str], ...] = EXCERPTS,
    methods: tuple[str, ...] = METHODS,
    seconds: float = 1.0,
) -> list[dict]:
    """Write ``folder/stimuli.csv`` and ``folder/audio/s*.wav``; returns the rows."""
    rng = np.random.default_rng(0)
    (folder / "audio").mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * RATE)) / RATE
    rows = []
    for task, dataset, segment in excerpts:
        f0 = rng.uniform(180, 400)
        clean = sum(0.5**k * np.sin(2 * np.pi * f0 * (k + 1) * t) for k in range(12))
        clean = 0.3 * clean / np.abs(clean).max()
        clean = clean + 0.01 * rng.standard_normal(len(t))  # some content up to Nyquist
        for method in methods:
            name = f"s{len(rows):05d}.wav"
            audio = np.clip(version(clean, method, rng), -1, 1)
            sf.write(str(folder / "audio" / name), audio, RATE, subtype="PCM_16")
            rows.append({"stimulus": name, "task": task, "dataset": dataset,
                         "setting": "" if method == "reference" else "4kHz", "method": method,
                         "item": f"{dataset}_01.wav", "segment": segment, "start_s": 0.0,
                         "seconds": seconds})  # fmt: skip
    with open(folder / "stimuli.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return rows
