"""The shared mel vocoder of the mel baselines (MAID, IBAR): a BigVGAN-v2-style GAN vocoder.

Source: Lee, Ping, Ginsburg, Catanzaro and Yoon, "BigVGAN: A Universal Neural Vocoder with
Large-Scale Training", ICLR 2023, and the v2 release (NVIDIA/BigVGAN, MIT licence; read for
facts, code written anew). It inverts the BigVGAN log-mel of :mod:`baselines.mel` (44.1 kHz,
128 bands, n_fft 2048, hop 512 by default).

What we reproduce: the generator (transposed-conv upsampling stages, AMP residual blocks with
Snake/SnakeBeta periodic activations, optional anti-aliased 2x-oversampled activations, see
:mod:`.model`), the multi-period and multi-resolution STFT discriminators of BigVGAN-v1
(:mod:`.discriminators`), least-squares GAN + feature matching (x2) + multi-scale mel L1
(weight 45) losses (:mod:`.losses`), AdamW (0.8, 0.99) with exponential learning-rate decay
(:mod:`.train`). The ``paper`` profile has the released ``bigvgan_v2_44khz_128band_512x`` shape
and :func:`load_vocoder` also reads those released weights from a local file
(:mod:`.released`).

Deviations: v2's CQT sub-band discriminator is replaced by v1's STFT one. The ``default`` and
``ci`` profiles are small (128 -> 16 channels, two AMP kernels, no anti-aliasing) and, because a
GAN vocoder trained for minutes on two CPU cores has not learnt to synthesise pitch yet (it
emits a buzz at multiples of the frame rate; measured), they add two things of ours: an affine
input map of the log-mel (``model.input_shift`` / ``input_scale``) and a Griffin-Lim prior
(``model.prior_iters``, :mod:`.prior`: NNLS mel inversion + fast Griffin-Lim) to which the
network's output is added, starting from zero gain. They train with the reconstruction losses
only (multi-scale mel + multi-resolution STFT, the usual warm-up of GAN vocoder recipes):
``train.gan_start: null`` keeps the GAN off; the ci profile switches it on for its last steps
so that the code runs. The paper profile and the released weights use neither addition.

The vocoder is a component (:mod:`baselines.registry`): trained by the shared training loop
(:func:`train`, :mod:`.train`), loaded by MAID and IBAR, no restorer of its own. Its config is
the one place of the mel the mel baselines use.

API::

    train(config, "runs/vocoder", manifests=["train.csv"])   # the loop's run folder
    voc = build_vocoder({"mel": {...}, "model": {...}})      # a Vocoder (random weights)
    voc = load_vocoder("runs/vocoder/final.safetensors")      # ours, or released BigVGAN weights
    wave = vocode(voc, mel)                                   # [n_mels, F] -> float32 [F * hop]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from a2sb.checkpoint import sidecar_path

from ..common import load_state, load_weights, resolve_config
from ..interface import BaselineError
from ..mel import MelConfig, mel_config
from .model import MODEL_DEFAULTS, Vocoder
from .released import RELEASED_44K_512X, config_from_json, is_released_state, map_released
from .released import read_released as _read_released
from .train import DEFAULTS, METHOD, full_config, train

__all__ = [
    "DEFAULTS",
    "METHOD",
    "MODEL_DEFAULTS",
    "RELEASED_44K_512X",
    "Vocoder",
    "build_vocoder",
    "full_config",
    "load",
    "load_vocoder",
    "train",
    "vocode",
]


def build_vocoder(config: dict[str, Any], source: str = "vocoder config") -> Vocoder:
    """A :class:`Vocoder` with random weights from ``{"mel": {...}, "model": {...}}`` (either
    may be missing or ``None``: the defaults)."""
    cfg = resolve_config({"mel": MelConfig().to_dict(), "model": MODEL_DEFAULTS}, config, source)
    try:
        return Vocoder(mel_config(cfg["mel"], source), cfg["model"])
    except ValueError as exc:
        raise BaselineError(f"{source}: {exc}") from None


def _load_released(path: Path, device: str) -> Vocoder:
    state = _read_released(path)
    if not is_released_state(state):
        raise BaselineError(f"{path}: neither our vocoder checkpoint nor BigVGAN generator weights")
    config_json = path.parent / "config.json"
    if config_json.is_file():
        mel, model = config_from_json(config_json)
    else:
        mel, model = MelConfig(), dict(RELEASED_44K_512X)
    try:
        vocoder = Vocoder(mel, model)
        vocoder.load_state_dict(map_released(state, len(model["resblock_kernel_sizes"])))
    except (ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0]
        raise BaselineError(
            f"{path}: BigVGAN weights do not fit the expected shape ({first})"
        ) from None
    return vocoder.to(device).eval()


def load_vocoder(path: str | Path, device: str = "cpu") -> Vocoder:
    """Our checkpoint (``.safetensors`` + sidecar), or released BigVGAN-v2 generator weights.

    Released weights: a ``.safetensors`` without our sidecar, or ``.pt``/``.pth`` read with
    ``torch.load(weights_only=True)``; shape from a ``config.json`` beside it, else
    ``bigvgan_v2_44khz_128band_512x``. Returns the vocoder in eval mode on ``device``.
    """
    path = Path(path)
    if not path.is_file():
        raise BaselineError(f"{path}: vocoder checkpoint not found")
    if path.suffix == ".safetensors" and sidecar_path(path).is_file():
        state, sidecar = load_weights(path, METHOD)
        config = sidecar.get("config") or {}
        vocoder = build_vocoder(
            {"mel": config.get("mel"), "model": config.get("model")}, str(sidecar_path(path))
        )
        load_state(vocoder, state, path)
        return vocoder.to(device).eval()
    return _load_released(path, device)


@torch.no_grad()
def vocode(vocoder: Vocoder, mel: Tensor | np.ndarray, chunk_frames: int = 256) -> np.ndarray:
    """``[n_mels, F]`` log-mel -> float32 ``[F * hop]`` waveform, without gradients.

    Long inputs run in chunks of ``chunk_frames`` frames, each with the generator's receptive
    field of extra frames on both sides, which are computed and dropped, so chunk borders match
    a single pass up to float rounding.
    """
    mel_t = torch.as_tensor(np.asarray(mel) if not isinstance(mel, Tensor) else mel)
    if mel_t.dim() != 2 or mel_t.shape[0] != vocoder.mel.n_mels:
        raise BaselineError(
            f"vocode: expected a [{vocoder.mel.n_mels}, frames] mel, got {tuple(mel_t.shape)}"
        )
    device = next(vocoder.parameters()).device
    was_training = vocoder.training
    vocoder.eval()
    mel_t = mel_t.float().to(device)
    frames, hop = mel_t.shape[1], vocoder.hop
    context = vocoder.receptive_frames()
    pieces = []
    try:
        for start in range(0, frames, chunk_frames):
            stop = min(frames, start + chunk_frames)
            lo, hi = max(0, start - context), min(frames, stop + context)
            wave = vocoder(mel_t[None, :, lo:hi])[0]
            pieces.append(wave[(start - lo) * hop : (stop - lo) * hop])
    finally:
        vocoder.train(was_training)
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    return torch.cat(pieces).cpu().numpy().astype(np.float32)


def load(checkpoint: Path | None, options: dict[str, Any]):  # noqa: ANN201
    """The learned-baseline protocol's ``load``: the vocoder is a component (its tasks, none, are
    in :mod:`baselines.registry`) and restores nothing by itself."""
    raise BaselineError(
        "the vocoder is a component of MAID and IBAR, not a restorer (pass it as --vocoder)"
    )
