"""The log-mel spectrogram shared by the mel baselines (MAID, IBAR) and their vocoder.

BigVGAN's mel definition (NVIDIA/BigVGAN, MIT; ``bigvgan_v2_44khz_128band_512x``): Slaney-scale
mel filters with Slaney area normalisation (librosa's defaults) from ``fmin`` to ``fmax``
(``None``: Nyquist), the signal reflect-padded by ``(n_fft - hop) / 2`` on both sides, an
uncentred STFT with a periodic Hann window, magnitude ``sqrt(re^2 + im^2 + 1e-9)``, the filter
bank applied, then ``log(clamp(mel, min=1e-5))``. So ``frames = samples // hop`` exactly, for
lengths that are multiples of the hop. Written for this project from that description.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from .interface import BaselineError

#: log(1e-5): the value of a silent mel bin.
LOG_FLOOR = float(np.log(1e-5))


@dataclass(frozen=True)
class MelConfig:
    """Mel parameters; the defaults are BigVGAN-v2 44 kHz 128-band 512x."""

    sample_rate: int = 44100
    n_fft: int = 2048
    hop_length: int = 512
    win_length: int = 2048
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None

    def __post_init__(self) -> None:
        if self.n_fft < self.win_length or self.hop_length < 1 or self.n_mels < 1:
            raise ValueError(f"mel config: bad sizes {self}")
        if (self.n_fft - self.hop_length) % 2:
            raise ValueError("mel config: n_fft - hop_length must be even (symmetric padding)")
        top = self.fmax if self.fmax is not None else self.sample_rate / 2
        if not 0 <= self.fmin < top <= self.sample_rate / 2:
            raise ValueError(f"mel config: need 0 <= fmin < fmax <= Nyquist, got {self}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"mel config: unknown keys {unknown}")
        return cls(**data)


def mel_config(data: dict[str, Any] | None, source: str) -> MelConfig:
    """The :class:`MelConfig` of a config's ``mel`` mapping (``None``: the defaults); a
    :class:`BaselineError` naming ``source`` when it is invalid."""
    try:
        return MelConfig.from_dict(dict(data or {}))
    except (TypeError, ValueError) as exc:
        raise BaselineError(f"{source}: {exc}") from None


@lru_cache(maxsize=16)
def _filters(cfg: MelConfig) -> np.ndarray:
    import librosa  # the metrics extra; imported late (slow import)

    return librosa.filters.mel(
        sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax
    ).astype(np.float32)


def mel_filters(cfg: MelConfig, device: torch.device | str = "cpu") -> torch.Tensor:
    """The filter bank ``[n_mels, n_fft // 2 + 1]``."""
    return torch.from_numpy(_filters(cfg)).to(device)


def log_mel(wave: torch.Tensor, cfg: MelConfig) -> torch.Tensor:
    """``[..., L]`` waveform -> ``[..., n_mels, L // hop]`` natural-log mel spectrogram."""
    shape = wave.shape[:-1]
    x = wave.reshape(-1, wave.shape[-1]).float()
    pad = (cfg.n_fft - cfg.hop_length) // 2
    x = torch.nn.functional.pad(x.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    window = torch.hann_window(cfg.win_length, device=x.device)
    spec = torch.stft(
        x, cfg.n_fft, cfg.hop_length, cfg.win_length, window, center=False, return_complex=True
    )
    mag = torch.sqrt(spec.real**2 + spec.imag**2 + 1e-9)
    mel = torch.matmul(mel_filters(cfg, x.device), mag)
    out = torch.log(torch.clamp(mel, min=1e-5))
    return out.reshape(*shape, cfg.n_mels, out.shape[-1])
