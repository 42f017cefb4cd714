"""DDPM noise schedule, training target and the DDIM sampler of the MAID baseline.

Forward process (Ho et al. 2020): ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` for integer
``t`` in ``[0, T)``, ``abar_t = prod_{s <= t} (1 - beta_s)``. Schedules: ``linear`` (betas evenly
from ``beta_start`` to ``beta_end``, MAID's 1e-4 to 0.02 over T = 1000) or ``cosine`` (Nichol and
Dhariwal 2021, ``s = 0.008``, betas capped at 0.999). The network predicts ``eps`` (MAID; the
paper profile) or ``v = sqrt(abar) eps - sqrt(1 - abar) x_0`` (Salimans and Ho 2022; the CPU
profiles: an undertrained eps-model's ``x_0`` estimate at high noise is its error times
``1 / sqrt(abar)``, ~150 at ``t = T - 1``, which v-prediction avoids).

Sampler: DDIM (Song et al. 2021) over ``steps`` timesteps evenly spaced in ``[0, T - 1]``,
``eta = 0`` deterministic given the initial noise (``eta > 0`` adds DDPM-like noise), the
predicted ``x_0`` clipped to ``[-clip, clip]`` (0: no clipping).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor


def make_betas(schedule: str, timesteps: int, beta_start: float, beta_end: float) -> Tensor:
    """``[T]`` float64 betas."""
    if schedule == "linear":
        return torch.linspace(beta_start, beta_end, timesteps, dtype=torch.float64)
    if schedule == "cosine":
        s = 0.008
        steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
        f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        abar = f / f[0]
        return (1 - abar[1:] / abar[:-1]).clamp(max=0.999)
    raise ValueError(f"unknown noise schedule {schedule!r} (linear, cosine)")


class Diffusion:
    """``abar`` table and the two operations MAID needs: noising and DDIM sampling."""

    def __init__(
        self,
        schedule: str,
        timesteps: int,
        beta_start: float,
        beta_end: float,
        prediction: str = "eps",
    ) -> None:
        if prediction not in ("eps", "v"):
            raise ValueError(f"unknown prediction {prediction!r} (eps, v)")
        betas = make_betas(schedule, timesteps, beta_start, beta_end)
        self.timesteps = timesteps
        self.prediction = prediction
        self.abar = torch.cumprod(1 - betas, dim=0).float()  # [T]

    def noisy(self, x0: Tensor, t: Tensor, eps: Tensor) -> Tensor:
        """``x_t`` for ``x0 [B, ...]``, integer ``t [B]``, ``eps`` like ``x0``."""
        a = self.abar.to(x0.device)[t].view(-1, *([1] * (x0.dim() - 1)))
        return a.sqrt() * x0 + (1 - a).sqrt() * eps

    def target(self, x0: Tensor, t: Tensor, eps: Tensor) -> Tensor:
        """What the network regresses: ``eps``, or ``v = sqrt(abar) eps - sqrt(1 - abar) x0``."""
        if self.prediction == "eps":
            return eps
        a = self.abar.to(x0.device)[t].view(-1, *([1] * (x0.dim() - 1)))
        return a.sqrt() * eps - (1 - a).sqrt() * x0

    @torch.no_grad()
    def ddim(
        self,
        eps_model: Callable[[Tensor, Tensor], Tensor],
        noise: Tensor,
        steps: int,
        eta: float = 0.0,
        clip: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Sample ``x_0`` from ``x_T = noise``; ``eps_model(x_t, t [B] float)`` returns the
        network's prediction (``eps`` or ``v``, as ``self.prediction``)."""
        steps = max(1, min(int(steps), self.timesteps))
        times = torch.linspace(self.timesteps - 1, 0, steps).round().long().tolist()
        abar = self.abar.to(noise.device)
        x = noise
        for i, t in enumerate(times):
            a = abar[t]
            a_prev = abar[times[i + 1]] if i + 1 < len(times) else torch.ones((), device=x.device)
            tt = torch.full((x.shape[0],), float(t), device=x.device)
            out = eps_model(x, tt)
            if self.prediction == "v":
                x0 = a.sqrt() * x - (1 - a).sqrt() * out
                eps = (1 - a).sqrt() * x + a.sqrt() * out
            else:
                eps = out
                x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
            if clip > 0:
                x0 = x0.clamp(-clip, clip)
                eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
            sigma = eta * ((1 - a_prev) / (1 - a) * (1 - a / a_prev)).clamp(min=0).sqrt()
            x = a_prev.sqrt() * x0 + (1 - a_prev - sigma**2).clamp(min=0).sqrt() * eps
            if eta > 0 and i + 1 < len(times):
                z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
                x = x + sigma * z
        return x
