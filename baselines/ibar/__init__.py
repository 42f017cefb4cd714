"""IBAR, the A2SB paper's instruction-based audio restoration baseline.

Source. The A2SB paper (Kong et al., NVIDIA 2025, section 4.1 "Baselines") describes IBAR in one
sentence: a 48 kHz instruction-based model trained on the A2SB training data, with "the
instruction templates for up-sampling and inpainting from Audit (Wang et al., 2023), an optimized
diffusion transformer architecture (Peebles & Xie, 2023) similar to Lee et al. (2024), the byT5
embedding (Xue et al., 2022), the optimal-transport conditional flow matching loss function
(Lipman et al., 2022; Tong et al., 2023), and a 48kHz BigVGAN-v2 vocoder (Lee et al., 2023)".
No code or further detail is published; this package is written for this project from that
sentence and the cited papers.

What we reproduce.

- Instructions: Audit-style templates, a few paraphrases per task (:mod:`.templates`), one drawn
  at random per training item, the task's canonical one at inference.
- Text embedding: byT5 in the paper profile (frozen, mean-pooled, precomputed for the templates
  and stored with the weights; :mod:`.text_encoder`); the paper does not name the byT5 size, we
  take ``google/byt5-small`` from a local path.
- Network: a DiT with adaLN-Zero over patches of the log-mel (:mod:`.dit`), the degraded input's
  mel concatenated on the channel axis with the noisy mel; conditioned on time + instruction.
- Loss and sampler: OT conditional flow matching, Euler or midpoint ODE (:mod:`.flow`).
- Training data: the project's manifests; each crop degraded on the fly exactly as the
  evaluation degrades its inputs (:func:`metrics.degradations.bandwidth_limit`, the soxr round
  trip through ``2 f_c``; a zeroed gap), task drawn at random per item (:mod:`.train`), trained
  by the project's one training loop (:mod:`a2sb.training.loop`: clipping, non-finite policy,
  step checkpoints, resume).
- Restoration of files of any length, mono or stereo, any rate (:mod:`.restore`).

Where we deviate (and why).

- Rate and vocoder: 44.1 kHz mel (BigVGAN-v2's 128-band 44 kHz definition, :mod:`baselines.mel`)
  and the project's shared mel vocoder (:mod:`baselines.vocoder`) instead of a 48 kHz
  BigVGAN-v2: the benchmark is at 44.1 kHz and the pretrained BigVGAN weights are not used.
- Network details ("optimized ... similar to Lee et al. 2024") are unknown: plain DiT, fixed 2-D
  sine-cosine positions, the instruction as one pooled vector in the adaLN conditioning (no
  cross-attention). Sizes, patching, optimiser and step counts are our choices (configs).
- Default profile: a small byte-level text encoder trained with the model replaces byT5 (no
  pretrained weights offline), and the DiT is small enough for minutes of CPU training.
- Post-processing (ours, documented in :mod:`.restore`): inpainting pastes the input back
  outside the gaps; bandwidth extension keeps the input's FFT bins below the cutoff.
- No minibatch-OT coupling (Tong et al.): x0 and x1 are paired independently.

Protocol (the tasks are listed in :mod:`baselines.registry`): ``train(config, out_dir, *,
manifests, threads=None, source="config", resume=False, progress=True)`` and
``load(checkpoint, options)``; configs in ``config/baselines/ibar/`` (without ``mel``: the
workflow writes the vocoder's mel into IBAR's generated config; :func:`full_config`).
"""

from __future__ import annotations

from .config import DEFAULTS, full_config
from .restore import IBARRestorer, load
from .templates import TEMPLATES, canonical, parse_instruction
from .train import train

__all__ = [
    "DEFAULTS",
    "TEMPLATES",
    "IBARRestorer",
    "canonical",
    "full_config",
    "load",
    "parse_instruction",
    "train",
]
