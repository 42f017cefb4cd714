"""Optimal-transport conditional flow matching: the training loss and the ODE sampler.

Lipman et al., "Flow Matching for Generative Modeling" (ICLR 2023), OT path with noise
``x0 ~ N(0, I)`` and data ``x1``::

    x_t = (1 - (1 - sigma_min) t) x0 + t x1,      u_t = x1 - (1 - sigma_min) x0,

loss ``E || v(x_t, t) - u_t ||^2`` with ``t ~ U[0, 1]`` (the A2SB paper cites this loss with Tong
et al. 2023; with independent x0 and x1 the minibatch-OT coupling of Tong et al. is not used).
Sampling integrates ``dx/dt = v(x, t)`` from t = 0 (noise) to t = 1 with Euler or explicit
midpoint steps on a uniform grid.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def ot_path(
    x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor, sigma_min: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x_t, u_t)`` for ``x0, x1 [B, ...]`` and ``t [B]``."""
    tt = t.view(-1, *([1] * (x1.ndim - 1)))
    x_t = (1 - (1 - sigma_min) * tt) * x0 + tt * x1
    return x_t, x1 - (1 - sigma_min) * x0


def cfm_loss(
    velocity: Velocity, x1: torch.Tensor, x0: torch.Tensor, t: torch.Tensor, sigma_min: float
) -> torch.Tensor:
    """Mean squared error of ``velocity(x_t, t)`` against the OT target (a scalar)."""
    x_t, target = ot_path(x0, x1, t, sigma_min)
    return torch.mean((velocity(x_t, t).float() - target.float()) ** 2)


@torch.no_grad()
def sample_ode(velocity: Velocity, x0: torch.Tensor, steps: int, solver: str) -> torch.Tensor:
    """Integrate from ``x0`` (t = 0) to t = 1 in ``steps`` uniform steps; ``[B, ...]`` -> same.

    ``solver``: ``"euler"`` (``steps`` evaluations) or ``"midpoint"`` (``2 steps``).
    """
    if solver not in ("euler", "midpoint"):
        raise ValueError(f"unknown solver {solver!r}")
    x = x0
    dt = 1.0 / steps
    ones = torch.ones(x.shape[0], device=x.device)
    for i in range(steps):
        t = ones * (i * dt)
        v = velocity(x, t)
        if solver == "midpoint":
            v = velocity(x + 0.5 * dt * v, t + 0.5 * dt)
        x = x + dt * v
    return x
