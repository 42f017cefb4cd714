"""MAID: a conditional diffusion model on log-mel spectrograms for music inpainting.

Source: Liu, Gan and Yuan, "MAID: A conditional diffusion model for long music audio
inpainting", ICASSP 2023 (and the authors' follow-up code FlyToYourMooN/DDPM-Midi2Performance-
Model, read for facts: 44032 Hz, n_fft 2048, hop 512, 128 mels, UNet width 64 with multipliers
1,1,2,2,4,4 and 2 residual blocks, linear betas 1e-4 to 0.02 over T = 1000, epsilon prediction
with an L1 loss, EMA 0.9999, 50 sampling steps). A2SB retrains it as an inpainting baseline
(SPEC 8: 44.032 kHz, segment 131072).

What we reproduce: an ADM-style UNet (:mod:`.unet`) conditioned by concatenating the masked
normalised input mel (gap frames zeroed) and the frame mask with the noisy mel; DDPM training
with L1 loss and the linear schedule, predicting epsilon (paper profile, as MAID) or v (default
and ci profiles: robust for a barely trained model) (:mod:`.train`, :mod:`.diffusion`); a DDIM
sampler (``sample.steps``: 50 in the paper profile, 10 in the default); the generated frames
pasted into the gap (known frames kept), vocoded with the shared BigVGAN-style vocoder
(:mod:`baselines.vocoder`, ``--vocoder``), cross-faded into the known waveform inside the gap;
outside the gaps the output equals the input exactly (:mod:`.restore`).

Rates: MAID works at 44032 Hz (86 frames of 512 samples a second) with 131072-sample segments
(paper profile; the default profile uses 65536-sample segments, 1.49 s, to fit a 2-core CPU
budget). A gap longer than half a segment gets a longer segment: the gap plus half a segment of
context, rounded up to what the UNet takes (it is fully convolutional), so a 1 s gap in the
default profile sees about 0.38 s of audio on each side. Inputs at any rate are
resampled to 44032 Hz with soxr at the boundary, and the result back to the input rate. The
mel is the vocoder's own :class:`~baselines.mel.MelConfig` (nominally 44.1 kHz) applied to the
44032 Hz sample sequence, and the vocoder's output sequence is read at 44032 Hz: the vocoder maps
sample sequences to sample sequences, so the only mismatch is a 0.15 % stretch of the mel
filter bank's frequency axis relative to its training data, well under one mel band. MAID's
``mel`` config must equal the vocoder's (checked at load); MAID's profiles hold none (the
vocoder's config is the one place of the mel, MAID's default is the same mel).

Long files: each gap is inpainted in a segment centred on it (so any length works, with memory
set by the segment); gaps are filled in time order, each segment seeing the earlier fills.
Mono and stereo (each channel independently, its own noise seed), any input rate.

Training runs through the project's one training loop (:mod:`a2sb.training.loop`: clipping,
the weights' EMA, step checkpoints, resume); the method's tasks and name are in
:mod:`baselines.registry`.

Deviations: smaller UNet, shorter segments, v-prediction and fewer steps in the default
profile; DDIM instead of the authors' ancestral or DPM-Solver sampling; the cross-fade uses the
mirror image of the known audio inside the gap because the known samples must stay untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from a2sb.checkpoint import sidecar_path

from ..common import load_state, load_weights
from ..interface import BaselineError
from .model import DEFAULTS, MAID_RATE, MAIDNet, full_config
from .restore import MAIDRestorer
from .train import METHOD, train

__all__ = [
    "DEFAULTS",
    "MAID_RATE",
    "METHOD",
    "MAIDNet",
    "MAIDRestorer",
    "full_config",
    "load",
    "train",
]


def load(checkpoint: Path | None, options: dict[str, Any]) -> MAIDRestorer:
    """A :class:`MAIDRestorer` from a trained checkpoint.

    ``options``: ``vocoder`` (required: our vocoder checkpoint or released BigVGAN weights),
    ``steps`` (DDIM steps, default the config's ``sample.steps``), ``seed`` (default
    ``sample.seed``).
    """
    from ..vocoder import load_vocoder

    if checkpoint is None:
        raise BaselineError("MAID needs --checkpoint")
    vocoder_path = options.get("vocoder")
    if not vocoder_path:
        raise BaselineError("MAID needs --vocoder (a trained vocoder checkpoint)")
    state, sidecar = load_weights(checkpoint, METHOD)
    config = dict(sidecar.get("config") or {})
    config.pop("train", None)  # restoration needs none of it (older runs spell it differently)
    cfg = full_config(config, str(sidecar_path(checkpoint)))
    net = MAIDNet(cfg["model"])
    load_state(net, state, checkpoint)
    vocoder = load_vocoder(vocoder_path)
    return MAIDRestorer(net, cfg, vocoder, steps=options.get("steps"), seed=options.get("seed"))
