"""EDM diffusion (Karras et al., "Elucidating the design space of diffusion-based generative
models", NeurIPS 2022) as CQTDiff uses it: variance-exploding noise, preconditioning, the
rho-schedule and the stochastic second-order Heun sampler.

- Preconditioning (Karras Table 1): ``D(x; s) = c_skip(s) x + c_out(s) F(c_in(s) x, c_noise(s))``
  with ``c_skip = sd^2 / (s^2 + sd^2)``, ``c_out = s sd / sqrt(s^2 + sd^2)``,
  ``c_in = 1 / sqrt(s^2 + sd^2)``, ``c_noise = ln(s) / 4``; ``sd`` = sigma_data, estimated from
  the training crops (their RMS) and stored with the checkpoint.
- Loss (Karras eq. 2 with weighting ``lambda(s) = (s^2 + sd^2) / (s sd)^2``):
  ``lambda(s) ||D(x0 + s n; s) - x0||^2``, i.e. unit-weighted on the network output.
- Training noise levels: ``"rho"`` (default, as the CQTDiff code): ``s = (smax^(1/rt) + u
  (smin^(1/rt) - smax^(1/rt)))^rt`` with ``u ~ U(0, 1)``, ``rt`` = rho_train; or ``"lognormal"``
  (Karras): ``ln s ~ N(P_mean, P_std^2)``, clipped to ``[smin, smax]``.
- Sampling schedule (Karras eq. 5): ``s_i = (smax^(1/rho) + i / (N - 1) (smin^(1/rho) -
  smax^(1/rho)))^rho`` for ``i < N``, ``s_N = 0``.
- Sampler (Karras Algorithm 2): churn ``gamma_i = min(S_churn / N, sqrt(2) - 1)`` where
  ``S_tmin <= s_i <= S_tmax``; noise ``sqrt(s_hat^2 - s_i^2) S_noise eps`` raises ``s_i`` to
  ``s_hat = (1 + gamma_i) s_i``; an Euler step to ``s_(i+1)`` and Heun's correction unless
  ``s_(i+1) = 0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

#: ``denoise(x [B, L], sigma [B]) -> x0_hat [B, L]``
Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class EDM:
    """Preconditioning, loss and schedules for one ``sigma_data``."""

    sigma_data: float
    sigma_min: float = 1e-4
    sigma_max: float = 10.0
    rho: float = 10.0
    train_sigma: str = "rho"
    rho_train: float = 10.0
    p_mean: float = -1.2
    p_std: float = 1.2

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EDM:
        """The EDM of a resolved config's ``diffusion`` section (``sigma_data`` set)."""
        d = config["diffusion"]
        return cls(
            sigma_data=float(d["sigma_data"]),
            sigma_min=float(d["sigma_min"]),
            sigma_max=float(d["sigma_max"]),
            rho=float(d["rho"]),
            train_sigma=str(d["train_sigma"]),
            rho_train=float(d["rho_train"]),
            p_mean=float(d["p_mean"]),
            p_std=float(d["p_std"]),
        )

    def __post_init__(self) -> None:
        if not 0 < self.sigma_min < self.sigma_max:
            raise ValueError(f"EDM: need 0 < sigma_min < sigma_max, got {self}")
        if not self.sigma_data > 0:
            raise ValueError(f"EDM: sigma_data must be positive, got {self.sigma_data}")
        if self.train_sigma not in ("rho", "lognormal"):
            raise ValueError(
                f"EDM: train_sigma must be 'rho' or 'lognormal', got {self.train_sigma!r}"
            )

    def coefficients(self, sigma: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(c_skip, c_out, c_in, c_noise)`` of ``sigma [B]``, each ``[B]``."""
        sd2 = self.sigma_data**2
        total = sigma**2 + sd2
        return sd2 / total, sigma * self.sigma_data / total.sqrt(), total.rsqrt(), sigma.log() / 4

    def denoise(self, net: nn.Module, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """``D(x; sigma)``: ``x [B, L]``, ``sigma [B]`` -> ``[B, L]``."""
        c_skip, c_out, c_in, c_noise = self.coefficients(sigma)
        return c_skip[:, None] * x + c_out[:, None] * net(c_in[:, None] * x, c_noise)

    def loss(
        self, net: nn.Module, x0: torch.Tensor, sigma: torch.Tensor, noise: torch.Tensor
    ) -> torch.Tensor:
        """Mean of ``lambda(sigma) (D(x0 + sigma n; sigma) - x0)^2`` over batch and samples."""
        d = self.denoise(net, x0 + sigma[:, None] * noise, sigma)
        weight = (sigma**2 + self.sigma_data**2) / (sigma * self.sigma_data) ** 2
        return (weight[:, None] * (d - x0) ** 2).mean()

    def train_sigmas(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` training noise levels ``[n]`` (float32)."""
        if self.train_sigma == "rho":
            u = torch.rand(n, generator=generator, dtype=torch.float64)
            r = self.rho_train
            s = (
                self.sigma_max ** (1 / r)
                + u * (self.sigma_min ** (1 / r) - self.sigma_max ** (1 / r))
            ) ** r
        else:
            z = torch.randn(n, generator=generator, dtype=torch.float64)
            s = (z * self.p_std + self.p_mean).exp().clamp(self.sigma_min, self.sigma_max)
        return s.float()

    def schedule(self, steps: int) -> torch.Tensor:
        """``[steps + 1]`` noise levels from ``sigma_max`` down to ``sigma_min``, then 0 (eq. 5)."""
        if steps < 1:
            raise ValueError(f"EDM: need at least one step, got {steps}")
        i = torch.arange(steps, dtype=torch.float64)
        r = self.rho
        a, b = self.sigma_max ** (1 / r), self.sigma_min ** (1 / r)
        s = (a + i / max(steps - 1, 1) * (b - a)) ** r
        return torch.cat([s, torch.zeros(1, dtype=torch.float64)])


def seeded_generator(*keys: int) -> torch.Generator:
    """A CPU generator seeded by the integers ``keys`` (e.g. ``(seed, step)``), mixed by
    :class:`numpy.random.SeedSequence`: training noise and sampling noise are pure functions
    of their keys."""
    state = np.random.SeedSequence([int(k) for k in keys]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


@dataclass(frozen=True)
class Churn:
    """Stochasticity of Algorithm 2: ``S_churn, S_noise, S_tmin, S_tmax``."""

    s_churn: float = 5.0
    s_noise: float = 1.0
    s_tmin: float = 0.0
    s_tmax: float = 50.0


def heun_sample(
    denoise: Denoiser,
    shape: tuple[int, ...],
    sigmas: torch.Tensor,
    churn: Churn = Churn(),
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Karras Algorithm 2 from ``x_0 = sigma_0 eps`` over ``sigmas [N + 1]`` -> ``[*shape]``.

    ``denoise(x, sigma [B])`` may be guided (:mod:`.guidance`); it is called ``2 N - 1`` times.
    """
    n = len(sigmas) - 1
    sig = [float(s) for s in sigmas]

    def noise() -> torch.Tensor:
        return torch.randn(shape, generator=generator, dtype=torch.float32).to(device, dtype)

    def level(s: float) -> torch.Tensor:
        return torch.full(shape[:1], s, dtype=dtype, device=device)

    x = noise() * sig[0]
    for i in range(n):
        s, s_next = sig[i], sig[i + 1]
        gamma = (
            min(churn.s_churn / n, math.sqrt(2) - 1) if churn.s_tmin <= s <= churn.s_tmax else 0.0
        )
        s_hat = s * (1 + gamma)
        if gamma > 0:
            x = x + math.sqrt(s_hat**2 - s**2) * churn.s_noise * noise()
        d = (x - denoise(x, level(s_hat))) / s_hat
        x_next = x + (s_next - s_hat) * d
        if s_next > 0:
            d_next = (x_next - denoise(x_next, level(s_next))) / s_next
            x_next = x + (s_next - s_hat) * 0.5 * (d + d_next)
        x = x_next.detach()
    return x
