"""CQTDiff: an unconditional diffusion model of music used as an inverse-problem solver.

Source: E. Moliner, J. Lehtinen, V. Välimäki, "Solving audio inverse problems with a diffusion
model", ICASSP 2023 (arXiv:2210.15228). The A2SB paper (SPEC 8) retrains a larger version at
44.1 kHz (depth 8, channels [64,128,128,256,256,256,256,256,256]) and uses it for bandwidth
extension and inpainting.

What we reproduce (written for this project from the paper and the public description of the
official code, whose licence is not ours; no code is copied):

- EDM formulation (:mod:`.edm`): VE noise, preconditioning with ``sigma_data`` estimated from the
  training crops (stored in the checkpoint's config), loss weighting ``lambda(sigma)``, training
  noise levels from the rho-schedule (``rho_train = 10``, as the official code; EDM's
  log-normal is the option ``diffusion.train_sigma: lognormal``), the stochastic Heun sampler
  (``S_churn 5, S_noise 1, S_tmin 0, S_tmax 50``; 35 steps, ``sigma_max 10``, ``rho 10`` in the
  paper profile).
- The network works on an invertible CQT computed inside the model (:mod:`.cqt`: a painless
  NSGT with Hann windows on a log scale and the canonical dual frame, exact to float precision);
  a U-Net of FiLM-conditioned residual blocks of frequency-dilated 2-D convolutions
  (:mod:`.network`).
- Restoration (:mod:`.guidance`, :mod:`.restore`): reconstruction guidance with the official
  step normalisation (``xi = 0.2``) plus data consistency (known samples or known band pasted
  into the denoised estimate) at every sampler evaluation.

Where we deviate:

- Sizes: the default CPU profile is tiny (about 0.1 M parameters, 12 bins per octave, 1-s
  crops, a few hundred steps, 6 sampler steps, ``sigma_max 1``, ``rho 7``); the paper profile has
  the A2SB paper's depth and channels with 64 bins per octave.
- The CQT is rasterised per octave (each octave has its own hop) and the U-Net runs over octaves
  (one octave joins per level); the original rasterises all bins at one hop and keeps the
  frequency axis whole at every level.
- Bandwidth extension: the operator ``A`` is an FFT brick-wall low-pass at the cutoff, a
  differentiable stand-in for the evaluation's soxr resampling (same pass-band edge); the
  output's band below the cutoff is replaced by the input's at the end.
- Inpainting restores only each gap and ``context_s`` around it; the output equals the input
  outside the gaps exactly.
- Long files: segments of at most ``sampler.segment_s`` with cross-fades (the network is fully
  convolutional, so restoration segments may be longer than training crops).

Protocol (:mod:`baselines.learned`): :data:`TASKS`, :func:`train`, :func:`load`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..interface import BaselineError

TASKS = ("bandwidth-extension", "inpainting")


def train(
    config: dict[str, Any],
    out_dir: Path,
    *,
    manifests: list[str],
    threads: int | None = None,
    source: str = "config",
) -> dict[str, Any]:
    """Train into ``out_dir`` (``final.safetensors`` + sidecar); see :mod:`.train`."""
    from .train import train as _train

    return _train(config, out_dir, manifests=manifests, threads=threads, source=source)


def load(checkpoint: Path | None, options: dict[str, Any] | None = None):  # noqa: ANN201
    """A :class:`.restore.CQTDiffRestorer` from ``checkpoint``.

    ``options``: ``steps`` and ``seed`` (default: the checkpoint's ``sampler`` section),
    ``device`` (default: CUDA when available); other options are ignored.
    """
    from ..common import load_weights, sidecar_of
    from .config import resolve
    from .network import build_network
    from .restore import CQTDiffRestorer

    if checkpoint is None:
        raise BaselineError("cqtdiff needs a checkpoint (train one with python -m baselines train)")
    options = dict(options or {})
    state, sidecar = load_weights(checkpoint, "cqtdiff")
    config = resolve(sidecar.get("config"), source=str(sidecar_of(checkpoint)))
    if config["diffusion"]["sigma_data"] is None:
        raise BaselineError(f"{sidecar_of(checkpoint)}: the config has no sigma_data")
    import torch

    net = build_network(config)
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise BaselineError(f"{checkpoint}: weights do not match the config ({first})") from None
    steps, seed = options.get("steps"), options.get("seed")
    if steps is not None and int(steps) < 1:
        raise BaselineError(f"--steps must be positive, got {steps}")
    device = options.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
    return CQTDiffRestorer(net.to(device), config, steps=steps, seed=seed)
