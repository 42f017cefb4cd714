"""Every CLI's audio output gets ordinary permissions (0666 minus the umask), never the 0600 of
the temporary file it is written through (issue 23)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf


def _signal(path: Path) -> Path:
    t = np.arange(44100) / 44100
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 44100)
    return path


def test_baselines_and_metrics_outputs_follow_the_umask(tmp_path: Path) -> None:
    from baselines.cli import main as baselines_main
    from metrics.cli import main as metrics_main

    source = _signal(tmp_path / "in.wav")
    mask = os.umask(0o022)
    try:
        assert baselines_main(["restore", "--method", "sbr", "--task", "bandwidth-extension",
                               "--cutoff-hz", "4000", "--quiet", str(source),
                               str(tmp_path / "sbr.flac")]) == 0  # fmt: skip
        assert metrics_main(["degrade", "--task", "bandwidth-extension", "--cutoff-hz", "4000",
                             "--quiet", str(source), str(tmp_path / "low.wav")]) == 0  # fmt: skip
    finally:
        os.umask(mask)
    for name in ("sbr.flac", "low.wav"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
