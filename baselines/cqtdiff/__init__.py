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

Training runs through the shared loop (:mod:`a2sb.training.loop`): clipping, EMA, ``log.csv``,
step checkpoints and resume are the loop's; :mod:`.train` supplies the crops, the noise and the
EDM loss.

Protocol of a learned baseline (its tasks are listed in :mod:`baselines.registry`):
:func:`train`, :func:`load`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..interface import BaselineError


def full_config(config: dict[str, Any] | None, source: str = "config") -> dict[str, Any]:
    """``config`` over the defaults, validated (:func:`.config.full_config`)."""
    from .config import full_config as _full_config

    return _full_config(config, source)


def train(
    config: dict[str, Any],
    out_dir: str | Path,
    *,
    manifests: list[str],
    threads: int | None = None,
    source: str = "config",
    resume: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Train from the CSV manifests into ``out_dir`` (:mod:`.train`); returns the loop's summary
    (also ``out_dir/summary.json``). A fresh run into a folder holding checkpoints is refused
    unless ``resume``; ``source`` names the config in error messages."""
    from ..common import train_baseline
    from .train import METHOD, CQTDiffTraining, training_crops

    cfg = full_config(config, source)
    manifests = list(manifests)
    crops = training_crops(cfg, manifests)
    return train_baseline(lambda: CQTDiffTraining(cfg, manifests, crops), cfg, out_dir,
                          name=METHOD, threads=threads, resume=resume, progress=progress)  # fmt: skip


def load(checkpoint: Path | None, options: dict[str, Any] | None = None):  # noqa: ANN201
    """A :class:`.restore.CQTDiffRestorer` from ``checkpoint``.

    ``options``: ``steps`` and ``seed`` (default: the checkpoint's ``sampler`` section),
    ``device`` (default: CUDA when available); other options are ignored.
    """
    from a2sb.checkpoint import sidecar_path

    from ..common import load_state, load_weights
    from .config import full_config
    from .network import build_network
    from .restore import CQTDiffRestorer

    if checkpoint is None:
        raise BaselineError("cqtdiff needs a checkpoint (train one with python -m baselines train)")
    options = dict(options or {})
    state, sidecar = load_weights(checkpoint, "cqtdiff")
    side = sidecar_path(Path(checkpoint))
    config = full_config(sidecar.get("config"), source=str(side))
    if config["diffusion"]["sigma_data"] is None:
        raise BaselineError(f"{side}: the config has no sigma_data")
    import torch

    net = build_network(config)
    load_state(net, state, checkpoint)
    device = options.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
    return CQTDiffRestorer(
        net.to(device), config, steps=options.get("steps"), seed=options.get("seed")
    )
