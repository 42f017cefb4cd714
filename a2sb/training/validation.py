"""In-training validation on held-out segments with fixed masks (SPEC 6, 8).

Each validation restores ``valid_segments`` fixed crops of the validation manifests twice:
bandwidth extension at ``valid_cutoff_hz`` (4 kHz) and inpainting of a gap of ``valid_gap_s``
(0.3 s) centred in the segment, with the SPEC 4 sampler for ``valid_steps`` steps and fixed
noise. It reports the LSD (SPEC 8) of each restoration against the clean crop, the LSD of the
degraded input (zeros in the masked region) for reference, and the eq. 10 loss at four fixed
times inside the run's t-range. A t-partition run uses its single network for every sampling
step, so its LSD is indicative only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..masks import bandwidth_mask, gap_mask
from ..representation import decode, encode
from ..sampler import sample
from .objective import BridgeSpec

LSD_EPS = 1e-12
VALID_SEED = 1234


def lsd(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """LSD of SPEC 8 (ssr_eval form): n_fft = 2048 rate / 44100 (even), hop = rate / 100,
    periodic Hann, centred; ``mean_frames sqrt(mean_bins log10(S^2 / (S_hat + eps)^2 + eps)^2)``.

    ``reference``, ``estimate`` [L] (cut to the shorter); lower is better, 0 for equal signals.
    """
    n = min(reference.shape[-1], estimate.shape[-1])
    n_fft = 2 * max(1, round(1024 * sample_rate / 44100))
    hop = max(1, round(sample_rate / 100))
    pair = torch.from_numpy(np.stack([reference[:n], estimate[:n]]).astype(np.float64))
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    spec = torch.stft(pair, n_fft, hop, window=window, center=True, return_complex=True).abs()
    ref, est = spec[0].T, spec[1].T  # [frames, bins]
    log_ratio = torch.log10(ref**2 / (est + LSD_EPS) ** 2 + LSD_EPS)
    return float(torch.sqrt((log_ratio**2).mean(dim=1)).mean())


class Validator:
    """Fixed validation restorations of ``waves`` (list of [L] at the model rate)."""

    def __init__(
        self,
        waves: Sequence[np.ndarray],
        spec: BridgeSpec,
        *,
        t_range: tuple[float, float],
        cutoff_hz: float,
        gap_s: float,
        n_steps: int,
        device: torch.device,
        batch: int = 4,
    ) -> None:
        self.waves = [np.asarray(w, dtype=np.float32) for w in waves]
        self.spec, self.n_steps, self.device, self.batch = spec, n_steps, device, max(1, batch)
        stft = spec.stft
        n_frames = stft.segment_frames
        duration = stft.segment_samples / stft.sample_rate
        gap = min(gap_s, duration / 2)  # a gap longer than half the segment leaves no context
        self.masks = {
            "bwe": bandwidth_mask(stft, n_frames, cutoff_hz),
            "inpainting": gap_mask(stft, n_frames, [((duration - gap) / 2, (duration + gap) / 2)]),
        }
        lo, hi = t_range
        self.times = [lo + (hi - lo) * (k + 0.5) / 4 for k in range(4)]

    def __bool__(self) -> bool:
        return bool(self.waves)

    @torch.no_grad()
    def run(self, model: nn.Module) -> dict[str, float]:
        """``{"valid_loss", "lsd_bwe", "lsd_bwe_input", "lsd_inpainting", "lsd_inpainting_input"}``."""
        if not self.waves:
            return {}
        was_training = model.training
        model.eval()
        try:
            return self._run(model)
        finally:
            model.train(was_training)

    def _run(self, model: nn.Module) -> dict[str, float]:
        spec, cfg, dev = self.spec, self.spec.stft, self.device
        schedule, kind = spec.schedule, spec.kind
        wave = torch.from_numpy(np.stack(self.waves)).to(dev)  # [S, L]
        x0 = encode(wave, cfg, kind)  # [S, C, N, W]
        gen = torch.Generator().manual_seed(VALID_SEED)
        out: dict[str, float] = {}
        losses = []
        for task, mask in self.masks.items():
            m = mask.to(dev)
            fill = torch.randn(x0.shape, generator=gen).to(dev)
            x1 = spec.masks.degrade(x0, m, fill, rho=cfg.rho)
            # eq. 10 at fixed times and noise
            for t in self.times:
                z = torch.randn(x0.shape, generator=gen).to(dev)
                diff = schedule.marginal(torch.zeros_like(x0), x1 - x0, t, z)
                target = diff / schedule.sigma(t, diff)
                pred = self._eps(model, x0 + diff, t)
                w = m.expand_as(pred)
                losses.append(float(((pred - target) ** 2 * w).sum() / w.sum().clamp_min(1)))
            # restoration with the SPEC 4 sampler, batched over segments
            x_hat = sample(
                lambda x_t, t: self._eps(model, x_t, t),
                x1,
                m,
                schedule,
                self.n_steps,
                generator=gen,
            )
            restored = decode(x_hat, cfg, wave.shape[-1], kind).cpu().numpy()
            degraded = decode(x0 * (1 - m), cfg, wave.shape[-1], kind).cpu().numpy()
            ref = wave.cpu().numpy()
            out[f"lsd_{task}"] = float(
                np.mean([lsd(r, e, cfg.sample_rate) for r, e in zip(ref, restored)])
            )
            out[f"lsd_{task}_input"] = float(
                np.mean([lsd(r, e, cfg.sample_rate) for r, e in zip(ref, degraded)])
            )
        out["valid_loss"] = float(np.mean(losses))
        return out

    def _eps(self, model: nn.Module, x_t: torch.Tensor, t: float) -> torch.Tensor:
        """Network output on ``x_t`` [S, C, N, W] in chunks of ``batch``."""
        parts = [
            model(x_t[i : i + self.batch], t).float() for i in range(0, x_t.shape[0], self.batch)
        ]
        return torch.cat(parts)
