"""Shared fixtures: small deterministic music-like signals."""

from __future__ import annotations

import numpy as np
import pytest


def music_like(
    length: int, sample_rate: int = 44100, seed: int = 0, lowest_hz: float = 196.0
) -> np.ndarray:
    """Six harmonic notes (fundamentals from ``lowest_hz`` up two octaves, 12 partials decaying
    as 0.6^k) with a slow amplitude envelope: content well above 100 Hz, float64 [length]."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / sample_rate
    out = np.zeros(length)
    for f0 in lowest_hz * 2 ** (rng.integers(0, 24, 6) / 12):
        env = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t + rng.uniform(0, 6))
        for k in range(12):
            f = f0 * (k + 1)
            if f < 0.45 * sample_rate:
                out += env * 0.6**k * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return 0.9 * out / np.abs(out).max()


@pytest.fixture
def music():
    return music_like


@pytest.fixture(scope="session", autouse=True)
def memory_calibration_cache(tmp_path_factory):
    """The restore CLI's memory calibration (a2sb/memory.py) cached in the session's temporary
    folder, for the tests and the pipelines they start, not in the user's ~/.cache."""
    import os

    folder = tmp_path_factory.mktemp("a2sb_cache")
    old = os.environ.get("A2SB_CACHE_DIR")
    os.environ["A2SB_CACHE_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("A2SB_CACHE_DIR", None)
    else:
        os.environ["A2SB_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def ci_local_run(tmp_path_factory):
    """The ci profile run once per session with the local executor, interrupted and resumed
    (tests/workflow/ci_run.py); the pipeline and SLURM tests read it."""
    from tests.workflow.ci_run import run_ci_locally

    return run_ci_locally(tmp_path_factory.mktemp("ci_local"))


def trend_checkpoint(path, stft, fill_prior: str = "context-trend"):
    """A random 'tiny' model (torch seed 0) saved at ``path`` with the STFT ``stft`` and a
    sidecar saying it was trained with the default profile's fill (fill_std 0.1, ``fill_prior``)."""
    import torch

    import a2sb
    from a2sb.checkpoint import save_checkpoint
    from a2sb.masks import MaskConfig

    torch.manual_seed(0)
    model = a2sb.build_model("tiny")
    masks = MaskConfig(fill_std=0.1, fill_prior=fill_prior)
    save_checkpoint(path, model, model.config.to_dict(), stft.to_dict(),
                    extra={"mask_config": masks.to_dict(), "beta_max": 1.0})  # fmt: skip
    return path
