"""Degradation masks on the representation (SPEC 3; paper eq. 8).

A mask ``M`` [N, W] is 1 where the representation is missing. The degraded representation is
``X1 = X0 * (1 - M) + eta * M`` with ``eta ~ N(0, fill_std^2)`` in every channel; with
``fill_prior = "context"`` the magnitude in the masked region starts from the estimate of
:mod:`a2sb.context_prior` (read off the known region) plus that noise.
Training draws bandwidth extension or inpainting with probability 1/2 each, with the official
ranges (cutoff bins for 2-16 kHz, gaps of 0.1-1.6 s) held in :class:`MaskConfig`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .context_prior import PRIORS, TREND_FRAMES, TREND_PRIORS, context_prior
from .phase_prior import gap_phase
from .representation import STFTConfig


@dataclass(frozen=True)
class MaskConfig:
    """Distributions of the training degradations (official values by default)."""

    cutoff_hz_range: tuple[float, float] = (2000.0, 16000.0)
    gap_s_range: tuple[float, float] = (0.1, 1.6)
    p_bandwidth: float = 0.5
    fill_std: float = 0.5
    min_true_sr: float = 32000.0  # files with a lower estimated true rate are skipped (footnote 4)
    apply_quality_mask: bool = True  # also mask the loss above a file's true bandwidth
    # "noise": eq. 8; "context", "context-trend": a2sb.context_prior plus the noise;
    # "context-phase": also the gap's phase from a2sb.phase_prior
    fill_prior: str = "noise"

    def __post_init__(self) -> None:
        if self.fill_prior not in PRIORS:
            raise ValueError(f"fill_prior must be one of {PRIORS}, got {self.fill_prior!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MaskConfig:
        data = dict(data)
        for key in ("cutoff_hz_range", "gap_s_range"):
            if key in data:
                data[key] = tuple(float(v) for v in data[key])
        return cls(**data)

    def degrade(
        self, x0: torch.Tensor, mask: torch.Tensor, noise: torch.Tensor, rho: float
    ) -> torch.Tensor:
        """Eq. 8 with this config's fill: :func:`apply_mask` with ``fill_std`` and ``fill_prior``."""
        return apply_mask(x0, mask, self.fill_std, noise, prior=self.fill_prior, rho=rho)


#: Bandwidth extension (ours) regenerates the rows from this fraction of the stated cutoff up. A
#: real low-pass leaves a transition just below its cutoff: the soxr resampling that degrades
#: the test inputs (metrics.degradations.bandwidth_limit) attenuates 0.93-0.96 of the cutoff by
#: 1.5-2.8 dB, 0.96-0.98 by 24-26 dB and 0.98-1 by 45-49 dB (4, 8 and 12 kHz, the validation
#: split), an MP3 encoder's low-pass a few per cent too. The network learns from spectra masked
#: at a sharp edge (eq. 8), and the context prior fits its level and slope to the rows just
#: below the cutoff: read as known content, that transition made the default model's 4 kHz
#: output 17 dB too dim in the generated band. Chosen on the validation split (issue 24:
#: benchmarks/bench_learning_curve.py, 0.94 against 1, 0.97 and 0.9).
LOWPASS_GUARD = 0.94


def guarded_cutoff(cutoff_hz: float, guard: float = LOWPASS_GUARD) -> float:
    """The frequency from which bandwidth extension regenerates, for an input low-passed at
    ``cutoff_hz``: ``guard * cutoff_hz`` (:data:`LOWPASS_GUARD`)."""
    if not 0 < guard <= 1:
        raise ValueError(f"guard must lie in (0, 1], got {guard}")
    return guard * cutoff_hz


def bandwidth_mask(cfg: STFTConfig, n_frames: int, cutoff_hz: float) -> torch.Tensor:
    """Mask of the rows whose bin centre lies at or above ``cutoff_hz``. ``-> [N, W]`` float32."""
    nyquist = cfg.sample_rate / 2
    if not 0 < cutoff_hz < nyquist:
        raise ValueError(f"cutoff {cutoff_hz} Hz must lie in (0, {nyquist}) Hz")
    mask = torch.zeros(cfg.n_rows, n_frames)
    mask[cfg.row_of_frequency(cutoff_hz) :, :] = 1.0
    return mask


def frames_touching(
    cfg: STFTConfig, start_s: float, end_s: float, n_frames: int
) -> tuple[int, int]:
    """Frame range [first, last + 1) whose analysis window overlaps the interval [start_s, end_s]."""
    half = cfg.win_length / 2
    start, end = start_s * cfg.sample_rate, end_s * cfg.sample_rate
    first = max(0, math.floor((start - half) / cfg.hop_length) + 1)
    last = min(n_frames - 1, math.ceil((end + half) / cfg.hop_length) - 1)
    return first, last + 1


def gap_mask(cfg: STFTConfig, n_frames: int, gaps_s: Sequence[tuple[float, float]]) -> torch.Tensor:
    """Mask of every frame whose window overlaps one of the gaps (seconds), all rows. ``-> [N, W]``."""
    mask = torch.zeros(cfg.n_rows, n_frames)
    for start_s, end_s in gaps_s:
        if end_s <= start_s:
            raise ValueError(f"gap {start_s}-{end_s} s is empty or reversed")
        first, stop = frames_touching(cfg, start_s, end_s, n_frames)
        mask[:, first:stop] = 1.0
    return mask


def quality_mask(cfg: STFTConfig, n_frames: int, true_sr: float | None) -> torch.Tensor:
    """Loss mask that drops rows above a file's true bandwidth ``true_sr / 2``. ``-> [N, W]`` (1 = keep)."""
    keep = torch.ones(cfg.n_rows, n_frames)
    if true_sr is not None and true_sr / 2 < cfg.sample_rate / 2:
        keep[cfg.row_of_frequency(true_sr / 2) :, :] = 0.0
    return keep


def sample_training_mask(
    cfg: STFTConfig, mask_cfg: MaskConfig, n_frames: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Draw one training mask (SPEC 3). Returns ``M`` [N, W] and a description of the draw.

    Bandwidth extension: cutoff bin uniform over the bins of ``cutoff_hz_range``. Inpainting: a run
    of frames of length uniform in ``gap_s_range`` at a uniform position, all rows.
    """

    def uniform() -> float:
        return float(torch.rand((), generator=generator))

    mask = torch.zeros(cfg.n_rows, n_frames)
    if uniform() < mask_cfg.p_bandwidth:
        lo = cfg.row_of_frequency(mask_cfg.cutoff_hz_range[0])
        hi = min(cfg.row_of_frequency(mask_cfg.cutoff_hz_range[1]), cfg.n_rows - 1)
        row = int(torch.randint(lo, hi + 1, (), generator=generator))
        mask[row:, :] = 1.0
        return mask, {"task": "bandwidth-extension", "cutoff_hz": cfg.bin_frequency(row + 1)}
    seconds = mask_cfg.gap_s_range[0] + uniform() * (
        mask_cfg.gap_s_range[1] - mask_cfg.gap_s_range[0]
    )
    length = max(1, min(n_frames, round(seconds * cfg.sample_rate / cfg.hop_length)))
    start = int(torch.randint(0, n_frames - length + 1, (), generator=generator))
    mask[:, start : start + length] = 1.0
    return mask, {"task": "inpainting", "gap_frames": (start, start + length)}


def apply_mask(
    x0: torch.Tensor,
    mask: torch.Tensor,
    fill_std: float,
    noise: torch.Tensor | None = None,
    prior: str = "noise",
    rho: float = 0.25,
) -> torch.Tensor:
    """Degrade a representation (eq. 8): ``X1 = X0 (1 - M) + (P + eta) M``. ``x0 [..., C, N, W]``,
    ``mask [.., N, W]``.

    ``prior`` "noise": P = 0 (the paper). "context": P is the context estimate of the missing
    magnitudes (:func:`a2sb.context_prior.context_prior`, on ``|S|^rho``): in the magnitude
    channel of the factorized representation (C = 3); for the complex one (C = 2) as
    ``|S|`` with the phase of ``eta``. "context-trend": the same, gaps following the edges' level
    trends. Only the known region of ``x0`` is read.
    """
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")
    m = mask.unsqueeze(-3).to(x0.dtype)
    if noise is None:
        noise = torch.randn_like(x0)
    known = x0 * (1 - m)
    x1 = known + fill_std * noise * m
    if prior == "noise":
        return x1
    mask = mask.to(x0.dtype).expand(known[..., 0, :, :].shape)
    trend = TREND_FRAMES if prior in TREND_PRIORS else 0
    phase = prior == "context-phase"
    if x0.shape[-3] == 3:
        x1[..., 0, :, :] += context_prior(known[..., 0, :, :], mask, trend=trend, rho=rho)
        if phase:
            cos, sin, _ = gap_phase(known[..., 1, :, :], known[..., 2, :, :], mask)
            x1[..., 1, :, :] += cos
            x1[..., 2, :, :] += sin
    elif x0.shape[-3] == 2:
        mag = torch.sqrt(known[..., 0, :, :] ** 2 + known[..., 1, :, :] ** 2).pow(rho)
        est = context_prior(mag, mask, trend=trend, rho=rho).pow(1.0 / rho)
        angle = torch.atan2(noise[..., 1, :, :], noise[..., 0, :, :])
        if phase:
            cos, sin, filled = gap_phase(known[..., 0, :, :], known[..., 1, :, :], mask)
            angle = torch.where(filled > 0, torch.atan2(sin, cos), angle)
        x1[..., 0, :, :] += est * torch.cos(angle)
        x1[..., 1, :, :] += est * torch.sin(angle)
    else:
        raise ValueError(f"a context prior needs 2 or 3 channels, got {x0.shape[-3]}")
    return x1
