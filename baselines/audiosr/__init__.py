"""AudioSR (Liu, Chen, Tian, Wang, Plumbley, "AudioSR: versatile audio super-resolution at
scale", ICASSP 2024): the pretrained latent-diffusion super-resolution model, used as published
for bandwidth extension (the A2SB paper's baseline, SPEC 8: pretrained, 48 kHz).

The ``audiosr`` package (0.0.7) pins old numpy, librosa and transformers and a torch with CUDA,
so it runs in an environment of its own (:mod:`.env`, ``requirements.txt``) behind a small
JSON-lines server script (:mod:`.runner`); :mod:`.adapter` talks to it, resamples (48 kHz in,
the input's rate out, soxr) and level-matches the output to the degraded input's low band.

Weights: the published ``pytorch_model.bin`` of ``haoheliu/audiosr_basic`` on the Hugging Face
hub, downloaded by the user (the hub is not reachable from the pipeline) and given as
``options["weights"]`` (``--weights``) or ``A2SB_AUDIOSR_WEIGHTS``; without them :func:`load`
raises ``BaselineError("AudioSR weights not provided: ...")``. The environment's python:
``options["python"]``, ``A2SB_AUDIOSR_PYTHON`` or ``.venv-audiosr/bin/python`` in the repository.

Options of :func:`load`: ``weights``, ``python``, ``steps`` (DDIM steps, 50 as the package's
command line), ``seed`` (42), ``guidance_scale`` (3.5), ``device`` ("auto"), ``chunk_s`` (10.24),
``overlap_s`` (0.5), ``threads`` (0: torch's default).

Its task (bandwidth extension only) is listed in :mod:`baselines.registry`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..interface import BaselineError
from .adapter import AudioSRRestorer, band_rms, find_python, find_weights, level_match


def train(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """AudioSR is used as published: there is nothing to train (the registry lists it as
    pretrained, so ``python -m baselines train`` never calls this)."""
    raise BaselineError("AudioSR is a pretrained baseline, used as published: nothing to train")


def load(checkpoint: Path | None = None, options: dict[str, Any] | None = None) -> AudioSRRestorer:
    """The restorer; ``checkpoint`` (if given) is taken as the weights file."""
    options = dict(options or {})  # options it does not know (e.g. vocoder) are ignored
    weights = find_weights(options.get("weights") or checkpoint)
    python = find_python(options.get("python"))
    return AudioSRRestorer(
        weights,
        python,
        ddim_steps=int(options.get("steps") or 50),
        guidance_scale=float(options.get("guidance_scale", 3.5)),
        seed=int(options["seed"]) if options.get("seed") is not None else 42,
        device=str(options.get("device", "auto")),
        chunk_s=float(options.get("chunk_s", 10.24)),
        overlap_s=float(options.get("overlap_s", 0.5)),
        threads=int(options.get("threads", 0)),
    )


__all__ = ["AudioSRRestorer", "band_rms", "level_match", "load", "train"]
