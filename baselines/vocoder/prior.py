"""A Griffin-Lim waveform prior for the small CPU vocoders (our addition, not part of BigVGAN).

A GAN vocoder trained from scratch for a few minutes on two CPU cores has not yet learnt to
synthesise pitched oscillations (it emits a buzz at multiples of the frame rate). The small
profiles therefore add the network's output to a signal-processing estimate that already has
the right pitch: the mel is mapped back to a linear magnitude (non-negative least squares:
the filter bank's clamped pseudo-inverse refined by 30 multiplicative updates), then ``iters`` iterations of fast Griffin-Lim (Perraudin,
Balazs and Sondergaard 2013: Griffin-Lim with momentum 0.99) from zero phase estimate a
consistent phase. The STFT framing is exactly that of :func:`baselines.mel.log_mel` (Hann
window ``win_length`` zero-padded to ``n_fft``, frame ``j`` reading samples
``[j hop - p, j hop - p + n_fft)``, ``p = (n_fft - hop) / 2``), so the estimate is aligned with the
generator's output. Deterministic; no trainable parameters. ``iters = 0`` (paper profile,
released weights) switches it off.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from ..mel import MelConfig, mel_filters


@lru_cache(maxsize=8)
def _pinv(cfg: MelConfig) -> np.ndarray:
    return np.linalg.pinv(mel_filters(cfg).numpy().astype(np.float64)).astype(np.float32)


def _window(cfg: MelConfig, device: torch.device) -> Tensor:
    w = torch.hann_window(cfg.win_length, device=device)
    left = (cfg.n_fft - cfg.win_length) // 2
    return F.pad(w, (left, cfg.n_fft - cfg.win_length - left))


def _stft(x: Tensor, cfg: MelConfig, window: Tensor) -> Tensor:
    """``[B, F * hop]`` -> ``[B, n_fft / 2 + 1, F]`` complex, framing of ``log_mel`` (zero padding)."""
    pad = (cfg.n_fft - cfg.hop_length) // 2
    frames = F.pad(x, (pad, pad)).unfold(-1, cfg.n_fft, cfg.hop_length)  # [B, F, n_fft]
    return torch.fft.rfft(frames * window, dim=-1).transpose(1, 2)


def _istft(spec: Tensor, cfg: MelConfig, window: Tensor, norm: Tensor) -> Tensor:
    """Least-squares inverse of :func:`_stft`: ``[B, bins, F]`` -> ``[B, F * hop]``."""
    n, h = cfg.n_fft, cfg.hop_length
    frames = torch.fft.irfft(spec, n=n, dim=1) * window[None, :, None]  # [B, n, F]
    count = frames.shape[-1]
    total = (count - 1) * h + n
    out = F.fold(frames, (1, total), (1, n), stride=(1, h)).reshape(spec.shape[0], total)
    pad = (n - h) // 2
    return out[:, pad : pad + count * h] / norm


def _norm(cfg: MelConfig, count: int, window: Tensor) -> Tensor:
    n, h = cfg.n_fft, cfg.hop_length
    total = (count - 1) * h + n
    w2 = (window**2)[None, :, None].expand(1, n, count)
    norm = F.fold(w2, (1, total), (1, n), stride=(1, h)).reshape(1, total)
    pad = (n - h) // 2
    return norm[:, pad : pad + count * h].clamp(min=1e-3)


#: Multiplicative non-negative least-squares updates of the mel inversion.
NNLS_ITERS = 30


@torch.no_grad()
def mel_to_magnitude(mel: Tensor, cfg: MelConfig, iters: int = NNLS_ITERS) -> Tensor:
    """``[B, n_mels, F]`` log-mel -> ``[B, n_fft / 2 + 1, F]`` non-negative linear magnitude.

    The least-squares solution of ``filters @ s = exp(mel)`` with ``s >= 0``: the clamped
    pseudo-inverse, refined by ``iters`` multiplicative updates
    ``s <- s * (A^T m) / (A^T A s)`` (Lee and Seung's rule, which keeps ``s`` non-negative).
    """
    filters = mel_filters(cfg, mel.device)
    target = torch.exp(mel.float())
    s = (torch.from_numpy(_pinv(cfg)).to(mel.device) @ target).clamp(min=0.0) + 1e-6
    numerator = filters.T @ target
    for _ in range(iters):
        s = s * numerator / (filters.T @ (filters @ s) + 1e-10)
    return s


@torch.no_grad()
def griffin_lim(mel: Tensor, cfg: MelConfig, iters: int, momentum: float = 0.99) -> Tensor:
    """``[B, n_mels, F]`` natural-log mel -> ``[B, F * hop]`` waveform estimate."""
    device = mel.device
    mag = mel_to_magnitude(mel, cfg)  # [B, bins, F]
    window = _window(cfg, device)
    norm = _norm(cfg, mel.shape[-1], window)
    spec = mag.to(torch.complex64)
    previous = torch.zeros_like(spec)
    wave = _istft(spec, cfg, window, norm)
    for _ in range(iters):
        rebuilt = _stft(wave, cfg, window)
        accelerated = rebuilt + momentum * (rebuilt - previous) if momentum else rebuilt
        previous = rebuilt
        phase = accelerated / accelerated.abs().clamp(min=1e-8)
        wave = _istft(mag * phase, cfg, window, norm)
    return wave.clamp(-1.0, 1.0)
