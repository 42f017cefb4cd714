"""The Schroedinger bridge of I2SB with A2SB's symmetric schedule (SPEC 4; paper eq. 9, 10, 19).

``beta_t = beta_max * min(t, 1 - t)^2`` on t in [0, 1]; ``sigma_t^2 = int_0^t beta`` and
``sigmabar_t^2 = int_t^1 beta = sigma_{1-t}^2``. All functions are pure tensor maps; ``t`` is a
float or a tensor [B] that broadcasts against [B, ...] data.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .partitions import partition_boundaries  # noqa: F401  (re-exported)

TimeLike = float | torch.Tensor


def _as_time(t: TimeLike, like: torch.Tensor) -> torch.Tensor:
    """t as a tensor of ``like``'s dtype/device, shaped [B, 1, ..., 1] to broadcast over ``like``."""
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    if t.ndim == 0:
        return t
    return t.reshape(t.shape[0], *([1] * (like.ndim - 1)))


@dataclass(frozen=True)
class BridgeSchedule:
    """Noise schedule of the bridge with closed-form integrals (SPEC 4)."""

    beta_max: float = 1.0

    def beta(self, t: TimeLike) -> torch.Tensor:
        """``beta_t = beta_max * min(t, 1 - t)^2``."""
        t = torch.as_tensor(t, dtype=torch.float64)
        return self.beta_max * torch.minimum(t, 1 - t) ** 2

    def _half_integral(self, t: torch.Tensor) -> torch.Tensor:
        """``int_0^t beta`` for t in [0, 1] in closed form (eq. 9)."""
        total = self.beta_max / 12.0
        first = self.beta_max * t**3 / 3.0
        second = total - self.beta_max * (1 - t) ** 3 / 3.0
        return torch.where(t <= 0.5, first, second)

    def sigma2(self, t: TimeLike) -> torch.Tensor:
        """``sigma_t^2 = int_0^t beta_s ds``; same shape as ``t``."""
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            t = torch.as_tensor(t, dtype=torch.float64)
        return self._half_integral(t.to(torch.float64)).to(t.dtype)

    def sigmabar2(self, t: TimeLike) -> torch.Tensor:
        """``sigmabar_t^2 = int_t^1 beta_s ds = sigma_{1-t}^2``."""
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            t = torch.as_tensor(t, dtype=torch.float64)
        return self.sigma2(1 - t)

    def _coefs(self, t: TimeLike, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tt = _as_time(t, like)
        s2 = self.sigma2(tt.to(torch.float64)).to(like.dtype)
        sb2 = self.sigmabar2(tt.to(torch.float64)).to(like.dtype)
        return s2, sb2

    def marginal_std(self, t: TimeLike, like: torch.Tensor) -> torch.Tensor:
        """Std of the forward marginal: ``sqrt(sigmabar^2 sigma^2 / (sigmabar^2 + sigma^2))``."""
        s2, sb2 = self._coefs(t, like)
        return torch.sqrt(sb2 * s2 / (sb2 + s2))

    def marginal(
        self, x0: torch.Tensor, x1: torch.Tensor, t: TimeLike, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Sample ``X_t`` of the bridge between x0 (clean) and x1 (degraded). ``[B, ...] -> [B, ...]``.

        ``X_t = (sigmabar^2 X0 + sigma^2 X1) / (sigmabar^2 + sigma^2) + std_t * z``.
        """
        s2, sb2 = self._coefs(t, x0)
        mean = (sb2 * x0 + s2 * x1) / (sb2 + s2)
        if noise is None:
            return mean
        return mean + torch.sqrt(sb2 * s2 / (sb2 + s2)) * noise

    def sigma(self, t: TimeLike, like: torch.Tensor) -> torch.Tensor:
        """``sigma_t`` shaped to broadcast over ``like``."""
        s2, _ = self._coefs(t, like)
        return torch.sqrt(s2)

    def target(self, x_t: torch.Tensor, x0: torch.Tensor, t: TimeLike) -> torch.Tensor:
        """Training target of the network (eq. 10): ``(X_t - X0) / sigma_t``. ``[B, ...]``."""
        return (x_t - x0) / self.sigma(t, x_t)

    def predict_x0(self, x_t: torch.Tensor, eps: torch.Tensor, t: TimeLike) -> torch.Tensor:
        """``X0_hat = X_t - sigma_t * eps``. ``[B, ...]``."""
        return x_t - self.sigma(t, x_t) * eps

    def posterior(
        self,
        x_t: torch.Tensor,
        x0_hat: torch.Tensor,
        t: TimeLike,
        s: TimeLike,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One I2SB posterior step from t to s < t (eq. 19, clean form of SPEC 4). ``[B, ...]``.

        ``a^2 = sigma_t^2 - sigma_s^2``; ``X_s = (a^2 X0_hat + sigma_s^2 X_t) / sigma_t^2
        + sqrt(a^2 sigma_s^2 / sigma_t^2) z``.
        """
        st2, _ = self._coefs(t, x_t)
        ss2, _ = self._coefs(s, x_t)
        a2 = st2 - ss2
        mean = (a2 * x0_hat + ss2 * x_t) / st2
        if noise is None:
            return mean
        return mean + torch.sqrt(a2 * ss2 / st2) * noise


def time_grid(n_steps: int, t_end: float = 0.05) -> torch.Tensor:
    """Sampling times from 1 down to ``t_end`` (official: ``linspace(1, 0.05, n)``). ``[n_steps]`` float64.

    The sampler evaluates the network once per grid point.
    """
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    if not 0 < t_end < 1:
        raise ValueError(f"t_end must lie in (0, 1), got {t_end}")
    if n_steps == 1:
        return torch.tensor([1.0], dtype=torch.float64)
    return torch.linspace(1.0, t_end, n_steps, dtype=torch.float64)
