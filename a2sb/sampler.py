"""The I2SB posterior sampler with known-region paste and t-partition routing (SPEC 4).

At each time t of the grid: ``eps = net(X_t, t)`` (MultiDiffusion over windows), ``X0_hat = X_t -
sigma_t eps`` with the known region pasted from X1, then the posterior step to the next time s, whose
known region is reset to X1 plus bridge noise of std at s. The output is the last ``X0_hat``, so known
bins equal the input exactly. Deterministic for a given seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .bridge import BridgeSchedule, time_grid
from .multidiffusion import WindowConfig, multidiffusion_eps
from .noise import FrameNoise, known_draw, posterior_draw

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
                raise ValueError(
                    f"partitions must tile [0, 1] without gaps or overlaps, got {edges}"
                )

    def index(self, t: float) -> int:
        """Index of the partition whose range holds ``t``, compared in float32 as the official code.

        A float64 grid point that rounds to an edge (``linspace(1, 0.05, 20)`` gives
        0.49999999999999994 for 0.5) belongs to the upper range, like the official float32 time.
        """
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"t = {t} lies outside [0, 1]")
        t32 = _float32(t)
        for i, (_, (lo, hi)) in enumerate(self.partitions):
            if _float32(lo) <= t32 < _float32(hi):
                return i
        return len(self.partitions) - 1  # t == 1 belongs to the last range

    def select(self, t: float) -> torch.nn.Module:
        return self.partitions[self.index(t)][0]


def _float32(value: float) -> float:
    return float(np.float32(value))


EpsFn = Callable[[torch.Tensor, float], torch.Tensor]
"""``eps_fn(x_t [C, N, W], t) -> [C, N, W]``."""


def windowed_eps_fn(
    router: PartitionRouter, window: WindowConfig, needed: torch.Tensor | None = None
) -> EpsFn:
    """Network output over a whole spectrogram: route by t, then MultiDiffusion over windows.

    ``needed`` [W] bool: only windows holding a needed frame are run (see
    :func:`a2sb.multidiffusion.multidiffusion_eps`).
    """

    def eps_fn(x_t: torch.Tensor, t: float) -> torch.Tensor:
        return multidiffusion_eps(router.select(t), x_t, t, window, needed)

    return eps_fn


def _randn_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise drawn on the CPU (device-independent results), moved to ``x``'s device."""
    return torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)


def predict_x0_(
    eps: torch.Tensor, x_t: torch.Tensor, sigma_t2: float, m: torch.Tensor, x1_known: torch.Tensor
) -> torch.Tensor:
    """``X0_hat = X_t - sigma_t eps`` with the known region pasted from X1, in place of ``eps``."""
    return eps.mul_(-(sigma_t2**0.5)).add_(x_t).mul_(m).add_(x1_known)


def posterior_(
    x_t: torch.Tensor, x0_hat: torch.Tensor, sigma_t2: float, sigma_s2: float, z: torch.Tensor
) -> torch.Tensor:
    """The posterior step from t to s in place of ``x_t`` (SPEC 4; eq. 19):
    ``X_s = (a^2 X0_hat + sigma_s^2 X_t) / sigma_t^2 + sqrt(a^2 sigma_s^2 / sigma_t^2) z`` with
    ``a^2 = sigma_t^2 - sigma_s^2``. Per frame, like :func:`reset_known_` and
    :func:`predict_x0_`: a slice of frames steps alone exactly as inside the whole state (the
    streaming sampler relies on it)."""
    a2 = sigma_t2 - sigma_s2
    x_t.mul_(sigma_s2 / sigma_t2).add_(x0_hat, alpha=a2 / sigma_t2)
    return x_t.add_(z, alpha=(a2 * sigma_s2 / sigma_t2) ** 0.5)


def reset_known_(
    x_t: torch.Tensor,
    std_s: float,
    z: torch.Tensor,
    m: torch.Tensor,
    known: torch.Tensor,
    x1: torch.Tensor,
) -> torch.Tensor:
    """The known region of ``x_t`` reset to X1 plus bridge noise of the marginal std at s, in
    place (``z`` is used up: scaled in place)."""
    return x_t.mul_(m).add_(z.mul_(std_s).add_(x1).mul_(known))


def check_times(times: Sequence[float] | None, n_steps: int | None, t_end: float) -> list[float]:
    """The sampling times: ``times`` checked (decreasing, in (0, 1]) or the grid of ``n_steps``."""
    if times is None:
        if n_steps is None:
            raise ValueError("give n_steps or times")
        return time_grid(n_steps, t_end).tolist()
    grid = [float(t) for t in times]
    if not grid or any(not 0 < t <= 1 for t in grid):
        raise ValueError(f"times must be non-empty and lie in (0, 1], got {grid[:5]}...")
    if any(b >= a for a, b in zip(grid[:-1], grid[1:])):
        raise ValueError("times must decrease")
    return grid


@torch.inference_mode()
def sample(
    eps_fn: EpsFn,
    x1: torch.Tensor,
    mask: torch.Tensor,
    schedule: BridgeSchedule,
    n_steps: int | None = None,
    t_end: float = 0.05,
    generator: torch.Generator | None = None,
    progress: bool = False,
    times: Sequence[float] | None = None,
    noise: FrameNoise | None = None,
) -> torch.Tensor:
    """Run the bridge from the degraded ``x1`` [C, N, W] to the clean estimate ``X0_hat`` [C, N, W].

    The network is called at ``times`` (decreasing, in (0, 1]) or, when not given, at the
    ``n_steps`` points of :func:`a2sb.bridge.time_grid` ending at ``t_end``; the output is the
    prediction at the last of them. ``mask`` [N, W] is 1 where the representation is missing.
    Noise is drawn on the CPU: from ``noise`` (keyed by frame, :mod:`a2sb.noise`; what
    restoration uses) or else from ``generator``, so results do not depend on the device.
    """
    grid = check_times(times, n_steps, t_end)
    m = mask.to(x1.dtype).unsqueeze(0)  # [1, N, W]: broadcasts over channels
    known = 1 - m
    x1_known = x1 * known
    x_t = x1.clone()
    x0_hat = x1
    n_frames = x1.shape[-1]

    def draw(number: int) -> torch.Tensor:
        if noise is None:
            return _randn_like(x_t, generator)
        return noise.frames(number, 0, n_frames).reshape(x_t.shape).to(x_t.device, x_t.dtype)

    # Every update below works in place on state-sized tensors: memory holds a fixed number of
    # them whatever the number of steps (no per-step prediction is kept).
    steps = tqdm(range(len(grid)), desc="sampling", unit="step", disable=not progress, leave=False)
    for i in steps:
        t = grid[i]
        sigma_t2 = float(schedule.sigma2(t))
        x0_hat = predict_x0_(eps_fn(x_t, t), x_t, sigma_t2, m, x1_known)
        if i == len(grid) - 1:
            break
        s = grid[i + 1]
        sigma_s2 = float(schedule.sigma2(s))
        std_s = float(schedule.marginal_std(s, x_t))
        posterior_(x_t, x0_hat, sigma_t2, sigma_s2, draw(posterior_draw(i)))
        reset_known_(x_t, std_s, draw(known_draw(i)), m, known, x1)
    return x0_hat
