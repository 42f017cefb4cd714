"""STFT configuration and the factorized spectrogram representation (SPEC 1-2; paper eq. 6-7, 11, 16-18).

The factorized representation of a waveform is ``X = [|S|^rho, cos(angle S), sin(angle S)]`` with the
DC row of the STFT ``S`` dropped, so the network sees ``N = n_fft / 2`` rows (Nyquist kept). The
inverse projects the (cos, sin) pair of every bin back onto the unit circle ("phase
orthogonalization", eq. 12-16: the SO(2) projection of the 2x2 block equals this normalisation).
The 2-channel ablation uses ``[Re S, Im S]`` through the same functions (``kind="complex"``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

import torch

from .errors import InputError

Kind = Literal["factorized", "complex"]
KINDS: tuple[str, ...] = ("factorized", "complex")


@dataclass(frozen=True)
class STFTConfig:
    """STFT and representation settings; defaults are the paper's (44.1 kHz, 2048/512 Hann, rho 0.25)."""

    sample_rate: int = 44100
    n_fft: int = 2048
    hop_length: int = 512
    win_length: int = 2048
    rho: float = 0.25
    segment_frames: int = 256  # training segment: 130560 samples = 256 frames at hop 512

    def __post_init__(self) -> None:
        if self.n_fft % 2:
            raise ValueError(f"n_fft must be even, got {self.n_fft}")
        if not 0 < self.hop_length <= self.win_length <= self.n_fft:
            raise ValueError(
                f"need 0 < hop_length <= win_length <= n_fft, got "
                f"{self.hop_length}, {self.win_length}, {self.n_fft}"
            )
        if self.rho <= 0:
            raise ValueError(f"rho must be positive, got {self.rho}")

    @property
    def n_rows(self) -> int:
        """Frequency rows the network sees: n_fft / 2 (bins 1 .. n_fft / 2, DC dropped)."""
        return self.n_fft // 2

    @property
    def segment_samples(self) -> int:
        """Samples of a training segment whose centred STFT has ``segment_frames`` frames."""
        return (self.segment_frames - 1) * self.hop_length

    def bin_frequency(self, bin_index: int) -> float:
        """Centre frequency in Hz of STFT bin ``bin_index`` (0 = DC)."""
        return bin_index * self.sample_rate / self.n_fft

    def row_of_frequency(self, freq_hz: float) -> int:
        """First representation row whose bin centre lies at or above ``freq_hz`` (row r = bin r + 1)."""
        return max(0, math.ceil(freq_hz * self.n_fft / self.sample_rate) - 1)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> STFTConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown STFT config keys: {sorted(unknown)}")
        return cls(**data)


def _window(cfg: STFTConfig, like: torch.Tensor) -> torch.Tensor:
    real_dtype = like.real.dtype if like.is_complex() else like.dtype
    return torch.hann_window(cfg.win_length, periodic=True, dtype=real_dtype, device=like.device)


def stft(wave: torch.Tensor, cfg: STFTConfig) -> torch.Tensor:
    """Complex centred STFT with reflect padding. ``[..., L] -> [..., n_fft/2 + 1, frames]``."""
    length = wave.shape[-1]
    if length <= cfg.n_fft // 2:
        raise InputError(
            f"signal of {length} samples is too short for n_fft {cfg.n_fft} (needs > {cfg.n_fft // 2})"
        )
    lead = wave.shape[:-1]
    flat = wave.reshape(-1, length)
    spec = torch.stft(
        flat,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.win_length,
        window=_window(cfg, flat),
        center=True,
        pad_mode="reflect",
        normalized=False,
        onesided=True,
        return_complex=True,
    )
    return spec.reshape(*lead, *spec.shape[-2:])


def istft(spec: torch.Tensor, cfg: STFTConfig, length: int) -> torch.Tensor:
    """Inverse of :func:`stft`, exactly ``length`` samples. ``[..., n_fft/2 + 1, W] -> [..., length]``."""
    lead = spec.shape[:-2]
    flat = spec.reshape(-1, *spec.shape[-2:])
    wave = torch.istft(
        flat,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.win_length,
        window=_window(cfg, flat),
        center=True,
        normalized=False,
        onesided=True,
        length=length,
    )
    return wave.reshape(*lead, length)


def num_channels(kind: Kind) -> int:
    """Channels of the representation: 3 (factorized) or 2 (complex ablation)."""
    _check_kind(kind)
    return 3 if kind == "factorized" else 2


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown representation kind {kind!r}; expected one of {KINDS}")


def signed_power(x: torch.Tensor, power: float, eps: float) -> torch.Tensor:
    """The official power law ``x |x|^p / (|x| + eps)``: ``sign(x) |x|^p`` away from 0."""
    a = x.abs()
    return x * a.pow(power) / (a + eps)


def spec_to_rep(
    spec: torch.Tensor, cfg: STFTConfig, kind: Kind = "factorized", power_eps: float | None = None
) -> torch.Tensor:
    """Complex STFT (DC row included) to the representation. ``[..., N + 1, W] -> [..., C, N, W]`` (eq. 7).

    ``power_eps``: magnitude by :func:`signed_power` (the official transform) instead of ``|S|^rho``.
    """
    _check_kind(kind)
    spec = spec[..., 1:, :]  # drop DC: N = n_fft / 2 rows halve cleanly in the UNet
    if kind == "complex":
        return torch.stack([spec.real, spec.imag], dim=-3)
    mag = spec.abs()
    phase = torch.atan2(spec.imag, spec.real)
    scaled = mag.pow(cfg.rho) if power_eps is None else signed_power(mag, cfg.rho, power_eps)
    return torch.stack([scaled, torch.cos(phase), torch.sin(phase)], dim=-3)


def rep_to_spec(
    x: torch.Tensor,
    cfg: STFTConfig,
    kind: Kind = "factorized",
    dc: torch.Tensor | None = None,
    power_eps: float | None = None,
) -> torch.Tensor:
    """Representation to a complex STFT with the DC row restored (zeros, or ``dc`` [..., W]).

    Factorized: ``S = max(X1, 0)^(1/rho) * (X2 + i X3) / r`` with ``r = sqrt(X2^2 + X3^2)``; ``r = 0``
    gives phase 0 (eq. 16-17). With ``power_eps`` the magnitude is :func:`signed_power` of X1
    (the official inverse: a negative X1 keeps its sign, i.e. flips the phase by pi).
    ``[..., C, N, W] -> [..., N + 1, W]``.
    """
    _check_kind(kind)
    if kind == "complex":
        body = torch.complex(x[..., 0, :, :], x[..., 1, :, :])
    else:
        if power_eps is None:
            mag = x[..., 0, :, :].clamp(min=0).pow(1.0 / cfg.rho)
        else:
            mag = signed_power(x[..., 0, :, :], 1.0 / cfg.rho, power_eps)
        cos, sin = x[..., 1, :, :], x[..., 2, :, :]
        r = torch.sqrt(cos * cos + sin * sin)
        zero = r == 0
        safe_r = torch.where(zero, torch.ones_like(r), r)
        cos = torch.where(zero, torch.ones_like(cos), cos / safe_r)
        sin = torch.where(zero, torch.zeros_like(sin), sin / safe_r)
        body = torch.complex(mag * cos, mag * sin)
    if dc is None:
        dc_row = torch.zeros_like(body[..., :1, :])
    else:
        dc_row = dc.to(body.dtype).unsqueeze(-2)
    return torch.cat([dc_row, body], dim=-2)


def encode(
    wave: torch.Tensor, cfg: STFTConfig, kind: Kind = "factorized", power_eps: float | None = None
) -> torch.Tensor:
    """Waveform to representation. ``[..., L] -> [..., C, N, W]`` with C = 3 (factorized) or 2."""
    return spec_to_rep(stft(wave, cfg), cfg, kind, power_eps)


def decode(
    x: torch.Tensor,
    cfg: STFTConfig,
    length: int,
    kind: Kind = "factorized",
    dc: torch.Tensor | None = None,
    power_eps: float | None = None,
) -> torch.Tensor:
    """Representation to waveform of exactly ``length`` samples, with phase orthogonalization.

    ``[..., C, N, W] -> [..., length]``; ``dc`` [..., W] complex is the DC row to put back (zeros if
    None); ``power_eps`` as in :func:`rep_to_spec`.
    """
    return istft(rep_to_spec(x, cfg, kind, dc, power_eps), cfg, length)


def dc_row(wave: torch.Tensor, cfg: STFTConfig) -> torch.Tensor:
    """The DC row of the STFT that :func:`encode` drops. ``[..., L] -> [..., W]`` complex."""
    return stft(wave, cfg)[..., 0, :]


def phase_error_map(x: torch.Tensor) -> torch.Tensor:
    """Phase-orthogonalization error (eq. 18): ``2 (r - 1)^2`` with ``r = sqrt(X2^2 + X3^2)``.

    ``[..., 3, N, W] -> [..., N, W]``; zero on a clean encoding.
    """
    if x.shape[-3] != 3:
        raise ValueError(
            f"phase error needs the 3-channel representation, got {x.shape[-3]} channels"
        )
    r = torch.sqrt(x[..., 1, :, :] ** 2 + x[..., 2, :, :] ** 2)
    return 2.0 * (r - 1.0) ** 2
