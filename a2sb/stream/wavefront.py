"""The bridge sampler over a moving band of frames: a wavefront schedule (SPEC 4, 7).

At sampling step ``i`` a frame's MultiDiffusion output (eq. 20) depends on the state of step
``i`` within one window on either side, and the posterior step (eq. 19) is per frame. So step
``i`` runs its windows from left to right a little behind step ``i - 1``: window ``j`` of step
``i`` runs once step ``i - 1`` has finalised every frame it holds, and a frame is final at step
``i`` once every window holding it has run. Frames leave the last step in time order. Each step
holds about one window plus one batch of hops of state and of sums; X1 is held from the last
step's front to the first's. Every update is the in-memory sampler's own
(:func:`a2sb.sampler.predict_x0_`, :func:`~a2sb.sampler.posterior_`,
:func:`~a2sb.sampler.reset_known_`) on a slice of frames, with the same keyed noise
(:mod:`a2sb.noise`), so the output is the in-memory sampler's.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..bridge import BridgeSchedule
from ..noise import FrameNoise, known_draw, posterior_draw
from ..sampler import PartitionRouter, posterior_, predict_x0_, reset_known_
from .buffer import Accumulator, FrameBuffer
from .plan import Component, StreamPlan


class Wavefront:
    """Samples the frames of one :class:`~a2sb.stream.plan.Component`; X1 goes in in time order
    (:meth:`push`), finished ``X0_hat`` frames come out in time order. States are ``[K, C, N, f]``
    (K audio channels, sampled together: their windows share network calls)."""

    def __init__(
        self,
        component: Component,
        plan: StreamPlan,
        router: PartitionRouter,
        schedule: BridgeSchedule,
        times: Sequence[float],
        noise: FrameNoise,
        batch_windows: int,
        device: torch.device,
        first_index: int = 0,
    ):
        self.starts = component.starts
        self.stop = component.stop
        self.plan, self.router, self.noise, self.device = plan, router, noise, device
        self.times = [float(t) for t in times]
        self.width = plan.window.window_frames
        self.batch = max(1, batch_windows)
        # network calls group the windows as the in-memory sampler does (batch k holds its
        # windows k * batch ... of the file), so each call sees the same input: same numbers
        self.first_index = first_index
        n_steps = len(self.times)
        self.x1 = FrameBuffer(component.first)
        self.states = [self.x1] + [FrameBuffer(component.first) for _ in range(1, n_steps)]
        self.sums = [Accumulator(component.first) for _ in range(n_steps)]
        self.ran = [0] * n_steps  # windows run at each step
        self.front = [component.first] * n_steps  # frames final at each step end here
        self.sigma2 = [float(schedule.sigma2(t)) for t in self.times]
        like = torch.zeros(())
        self.std = [float(schedule.marginal_std(t, like)) for t in self.times]
        self.windows_run = 0

    @property
    def finished(self) -> bool:
        return self.front[-1] == self.stop

    @property
    def frames_held(self) -> int:
        """Frames of state, sums and X1 held now (all steps), for the memory figures."""
        return (
            sum(s.frames for s in self.states[1:])
            + self.x1.frames
            + sum(a.stop - a.start for a in self.sums)
        )

    def push(self, x1: torch.Tensor) -> list[torch.Tensor]:
        """X1 of the next frames ``[K, C, N, f]`` in; the frames finished by it out."""
        self.x1.append(x1)
        return self._advance()

    def _advance(self) -> list[torch.Tensor]:
        out: list[torch.Tensor] = []
        moved = True
        while moved:
            moved = False
            for i in range(len(self.times)):
                upstream = self.x1.stop if i == 0 else self.front[i - 1]
                first = last = self.ran[i]
                while last < len(self.starts) and self.starts[last] + self.width <= upstream:
                    last += 1
                if upstream < self.stop:  # more will come: run whole batches only
                    last -= (self.first_index + last) % self.batch
                # one network call per step and pass: what a step finalises at once (and the
                # temporaries of eqs. 19-20 over it) stays one batch of hops wide, also when
                # the input ends and every step drains the frames left in the band
                last = min(last, first + self.batch - (self.first_index + first) % self.batch)
                if last <= first:
                    continue
                self._run(i, first, last)
                front = self.starts[last] if last < len(self.starts) else self.stop
                done = self._finalise(i, self.front[i], front)
                self.front[i] = front
                if done is not None:
                    out.append(done)
                moved = True
            self._forget()
        return out

    def _run(self, step: int, first: int, last: int) -> None:
        """Windows ``first .. last - 1`` of ``step``, ``batch`` per network call."""
        t = self.times[step]
        net = self.router.select(t)
        source = self.states[step]
        w = self.width
        a = first
        while a < last:
            b = min(last, a + self.batch - (self.first_index + a) % self.batch)
            chunk = self.starts[a:b]
            a = b
            windows = [source.slice(s, s + w) for s in chunk]  # each [K, C, N, w]
            k = windows[0].shape[0]
            batch = torch.cat(windows, dim=0).to(self.device)
            t_batch = torch.full((batch.shape[0],), t, dtype=batch.dtype, device=self.device)
            result = net(batch, t_batch).to("cpu")
            del batch
            for n, s in enumerate(chunk):
                self.sums[step].add(s, result[n * k : (n + 1) * k])
            self.windows_run += len(chunk)
        self.ran[step] = last

    def _finalise(self, step: int, first: int, stop: int) -> torch.Tensor | None:
        """Frames ``[first, stop)`` of ``step`` are final: X0_hat, then the next step's state
        (or, at the last step, the output)."""
        if stop <= first:
            return None
        x1 = self.x1.slice(first, stop)
        m = self.plan.mask(first, stop).to(x1.dtype).unsqueeze(0)  # [1, N, f]
        known = 1 - m
        x_t = self.states[step].slice(first, stop)
        eps = self.sums[step].take(stop)
        x0_hat = predict_x0_(eps, x_t, self.sigma2[step], m, x1 * known)
        if step == len(self.times) - 1:
            return x0_hat
        x_next = x_t.clone()
        posterior_(x_next, x0_hat, self.sigma2[step], self.sigma2[step + 1],
                   self.noise.frames(posterior_draw(step), first, stop))  # fmt: skip
        z = self.noise.frames(known_draw(step), first, stop)
        reset_known_(x_next, self.std[step + 1], z, m, known, x1)
        self.states[step + 1].append(x_next)
        return None

    def _forget(self) -> None:
        """Drop what no window or step will read again."""
        for i in range(1, len(self.times)):
            ran = self.ran[i]
            self.states[i].drop_before(self.starts[ran] if ran < len(self.starts) else self.stop)
        self.x1.drop_before(self.front[-1])
