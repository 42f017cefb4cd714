"""Vocoder losses: multi-scale mel L1, multi-resolution STFT, least-squares GAN, feature matching.

- :class:`MultiScaleMelLoss` (BigVGAN-v2, after the DAC codec): for each (window, n_mels) pair a
  Hann STFT with hop window/4, a Slaney mel filter bank, ``log10(clamp(mel, 1e-5))`` and the L1
  distance; we average over the scales (BigVGAN-v2 sums seven scales and weights the sum by 15;
  BigVGAN-v1 weights its single mel L1 by 45: with the mean, 45 keeps v1's balance).
- :class:`MultiResolutionSTFTLoss` (Yamamoto et al., Parallel WaveGAN, 2020): spectral
  convergence plus log-magnitude L1, averaged over resolutions. Used for the reconstruction
  warm-up of the small profiles (not a BigVGAN loss).
- :func:`discriminator_loss` / :func:`generator_loss`: LSGAN (Mao et al. 2017), as HiFi-GAN and
  BigVGAN; :func:`feature_loss`: L1 between discriminator feature maps, times 2 (HiFi-GAN).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor, nn


@lru_cache(maxsize=32)
def _mel_basis(rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=rate, n_fft=n_fft, n_mels=n_mels).astype(np.float32)


def _magnitude(x: Tensor, n_fft: int, hop: int, win: int) -> Tensor:
    """``[B, L]`` -> ``[B, n_fft // 2 + 1, frames]`` magnitude (Hann, centred, reflect)."""
    window = torch.hann_window(win, device=x.device, dtype=x.dtype)
    spec = torch.stft(x, n_fft, hop, win, window, center=True, return_complex=True)
    return spec.abs()


class MultiScaleMelLoss(nn.Module):
    """Mean over scales of ``L1(log10 mel(x_hat), log10 mel(x))``; inputs ``[B, L]``."""

    def __init__(self, sample_rate: int, windows: Sequence[int], n_mels: Sequence[int]) -> None:
        super().__init__()
        if len(windows) != len(n_mels) or not windows:
            raise ValueError("mel loss: windows and n_mels need the same non-zero length")
        self.scales = [(int(w), int(m)) for w, m in zip(windows, n_mels)]
        for i, (w, m) in enumerate(self.scales):
            self.register_buffer(
                f"basis{i}", torch.from_numpy(_mel_basis(sample_rate, w, m)), persistent=False
            )

    def forward(self, x_hat: Tensor, x: Tensor) -> Tensor:
        loss = x.new_zeros(())
        for i, (w, _) in enumerate(self.scales):
            basis = getattr(self, f"basis{i}")
            a = basis @ _magnitude(x_hat, w, w // 4, w)
            b = basis @ _magnitude(x, w, w // 4, w)
            loss = loss + (a.clamp(min=1e-5).log10() - b.clamp(min=1e-5).log10()).abs().mean()
        return loss / len(self.scales)


class MultiResolutionSTFTLoss(nn.Module):
    """Mean over ``(n_fft, hop, win)`` of spectral convergence + log-magnitude L1; ``[B, L]``."""

    def __init__(self, resolutions: Sequence[Sequence[int]]) -> None:
        super().__init__()
        if not resolutions:
            raise ValueError("stft loss: need at least one resolution")
        self.resolutions = [tuple(int(v) for v in r) for r in resolutions]

    def forward(self, x_hat: Tensor, x: Tensor) -> Tensor:
        loss = x.new_zeros(())
        for n_fft, hop, win in self.resolutions:
            a = _magnitude(x_hat, n_fft, hop, win).clamp(min=1e-7)
            b = _magnitude(x, n_fft, hop, win).clamp(min=1e-7)
            sc = torch.linalg.vector_norm(b - a) / torch.linalg.vector_norm(b).clamp(min=1e-7)
            loss = loss + sc + (a.log() - b.log()).abs().mean()
        return loss / len(self.resolutions)


def discriminator_loss(real: Sequence[Tensor], fake: Sequence[Tensor]) -> Tensor:
    """LSGAN: ``sum_k mean((1 - D_k(x))^2) + mean(D_k(G(s))^2)``."""
    return sum(((1 - r) ** 2).mean() + (f**2).mean() for r, f in zip(real, fake))  # type: ignore[return-value]


def generator_loss(fake: Sequence[Tensor]) -> Tensor:
    """LSGAN: ``sum_k mean((1 - D_k(G(s)))^2)``."""
    return sum(((1 - f) ** 2).mean() for f in fake)  # type: ignore[return-value]


def feature_loss(real: Sequence[Sequence[Tensor]], fake: Sequence[Sequence[Tensor]]) -> Tensor:
    """``2 sum_k sum_l mean |F_kl(x) - F_kl(G(s))|`` (real features detached)."""
    total = sum((r.detach() - f).abs().mean() for rs, fs in zip(real, fake) for r, f in zip(rs, fs))
    return 2.0 * total  # type: ignore[return-value]
