"""The I2SB posterior sampler with known-region paste and t-partition routing (SPEC 4).

At each time t of the grid: ``eps = net(X_t, t)`` (MultiDiffusion over windows), ``X0_hat = X_t -
sigma_t eps`` with the known region pasted from X1, then the posterior step to the next time s, whose
known region is reset to X1 plus bridge noise of std at s. The output is the last ``X0_hat``, so known
bins equal the input exactly. Deterministic for a given seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from tqdm.auto import tqdm

from .bridge import BridgeSchedule, time_grid
from .multidiffusion import WindowConfig, multidiffusion_eps

Partition = tuple[torch.nn.Module, tuple[float, float]]


class PartitionRouter:
    """Chooses the network whose t-range holds t: ranges are [lo, hi), the last one [lo, 1] (SPEC 4)."""

    def __init__(self, partitions: Sequence[Partition]):
        if not partitions:
            raise ValueError("need at least one partition")
        self.partitions = sorted(partitions, key=lambda p: p[1][0])
        edges = [p[1] for p in self.partitions]
        if edges[0][0] != 0.0 or edges[-1][1] != 1.0:
            raise ValueError(f"partitions must cover [0, 1], got {edges}")
        for (_, hi), (lo, _) in zip(edges[:-1], edges[1:]):
            if abs(hi - lo) > 1e-9:
                raise ValueError(f"partitions must tile [0, 1] without gaps or overlaps, got {edges}")

    def index(self, t: float) -> int:
        """Index of the partition whose range holds ``t``."""
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"t = {t} lies outside [0, 1]")
        for i, (_, (lo, hi)) in enumerate(self.partitions):
            if lo <= t < hi:
                return i
        return len(self.partitions) - 1  # t == 1 belongs to the last range

    def select(self, t: float) -> torch.nn.Module:
        return self.partitions[self.index(t)][0]


EpsFn = Callable[[torch.Tensor, float], torch.Tensor]
"""``eps_fn(x_t [C, N, W], t) -> [C, N, W]``."""


def windowed_eps_fn(router: PartitionRouter, window: WindowConfig) -> EpsFn:
    """Network output over a whole spectrogram: route by t, then MultiDiffusion over windows."""

    def eps_fn(x_t: torch.Tensor, t: float) -> torch.Tensor:
        return multidiffusion_eps(router.select(t), x_t, t, window)

    return eps_fn


@torch.inference_mode()
def sample(
    eps_fn: EpsFn,
    x1: torch.Tensor,
    mask: torch.Tensor,
    schedule: BridgeSchedule,
    n_steps: int,
    t_end: float = 0.05,
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Run the bridge from the degraded ``x1`` [C, N, W] to the clean estimate ``X0_hat`` [C, N, W].

    ``mask`` [N, W] is 1 where the representation is missing. Noise is drawn on the CPU from
    ``generator`` so results do not depend on the device.
    """
    grid = time_grid(n_steps, t_end).tolist()
    m = mask.to(x1.dtype).unsqueeze(0)
    known = 1 - m
    x1_known = x1 * known
    x_t = x1.clone()
    x0_hat = x1
    steps = tqdm(range(len(grid)), desc="sampling", unit="step", disable=not progress, leave=False)
    for i in steps:
        t = grid[i]
        eps = eps_fn(x_t, t)
        x0_hat = schedule.predict_x0(x_t, eps, t)
        del eps
        x0_hat.mul_(m).add_(x1_known)
        if i == len(grid) - 1:
            break
        s = grid[i + 1]
        noise = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype).to(x_t.device)
        x_t = schedule.posterior(x_t, x0_hat, t, s, noise)
        noise = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype).to(x_t.device)
        std_s = schedule.marginal_std(s, x_t)
        x_t.mul_(m).add_((x1 + std_s * noise).mul_(known))
        del noise
    return x0_hat
