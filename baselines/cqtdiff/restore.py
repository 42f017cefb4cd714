"""The CQTDiff restorer: guided EDM sampling of segments at the model's rate.

Per channel (:func:`baselines.interface.per_channel`): resample to the model rate
(:func:`a2sb.io.audio.resample`, soxr "HQ"), restore, resample back, then keep what is known
exactly:

- bandwidth extension: the file is cut into segments of at most ``sampler.segment_s`` (a file up
  to that long is one segment; longer ones overlap by ``sampler.overlap_s`` with raised-cosine
  cross-fades, :func:`baselines.common.overlap_add`), each sampled with guidance by the FFT
  brick-wall low-pass (:func:`.guidance.lowpass`). Finally the output's band below the cutoff is
  replaced by the input's (one FFT over the whole file, at the input's rate), with
  :func:`baselines.common.keep_band_below`: every method keeps the known band alike.
- inpainting: each gap plus ``sampler.context_s`` of known audio on both sides (regions merged
  when they touch) is restored as above with the gap mask (guidance and data consistency); the
  output equals the input exactly outside the gaps (gap samples pasted at the input's rate).

Sampling noise is seeded by ``(sampler.seed, channel, region start, segment start)``.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from a2sb.io.audio import fit_length, resample
from a2sb.tasks import Task

from ..common import LearnedRestorer, keep_band_below, overlap_add
from ..interface import BaselineError, Degradation, per_channel
from .edm import EDM, Churn, heun_sample, seeded_generator
from .guidance import GuidedDenoiser, Operator, lowpass, masking


def gap_regions(gaps: list[tuple[int, int]], length: int, context: int) -> list[tuple[int, int]]:
    """Gaps widened by ``context`` samples each side, clipped to the file, merged when touching."""
    regions: list[list[int]] = []
    for a, b in sorted(gaps):
        lo, hi = max(0, a - context), min(length, b + context)
        if lo >= hi:
            continue
        if regions and lo <= regions[-1][1]:
            regions[-1][1] = max(regions[-1][1], hi)
        else:
            regions.append([lo, hi])
    return [(lo, hi) for lo, hi in regions]


class CQTDiffRestorer(LearnedRestorer):
    """``restore(audio [L] or [C, L], rate, degradation)`` with a trained CQTDiff model
    (``steps``/``seed`` default to the config's ``sampler`` section)."""

    name = "cqtdiff"
    sampler_section = "sampler"

    def configure(self) -> None:
        for p in self.net.parameters():  # guidance needs gradients w.r.t. the input only
            p.requires_grad_(False)
        s = self.config["sampler"]
        self.rate = int(self.config["sample_rate"])
        self.edm = EDM.from_config(self.config)
        self.churn = Churn(
            float(s["s_churn"]), float(s["s_noise"]), float(s["s_tmin"]), float(s["s_tmax"])
        )
        self.xi = float(s["xi"])
        self.max_segment = self.net.layout.fit_length(round(float(s["segment_s"]) * self.rate))
        self.overlap = round(float(s["overlap_s"]) * self.rate)
        self.context = round(float(s["context_s"]) * self.rate)

    # -- sampling -----------------------------------------------------------------------------
    def denoise(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return self.edm.denoise(self.net, x, sigma)

    def sample(
        self, y: np.ndarray, operator: Operator, consistency: bool, seed: tuple[int, ...]
    ) -> np.ndarray:
        """One segment ``y [n]`` (n a multiple of the CQT quantum) -> restored ``[n]``."""
        yt = torch.from_numpy(np.asarray(y, dtype=np.float32))[None].to(self.device)
        guided = GuidedDenoiser(self.denoise, operator, yt, self.xi, consistency)
        gen = seeded_generator(self.seed, *seed)
        sigmas = self.edm.schedule(self.steps)
        x = heun_sample(guided, tuple(yt.shape), sigmas, self.churn, gen, device=self.device)
        return x[0].cpu().numpy()

    def _segment_for(self, length: int) -> tuple[int, int]:
        segment = min(self.max_segment, self.net.layout.fit_length(length))
        return segment, min(self.overlap, segment // 2)

    # -- tasks at the model rate ----------------------------------------------------------------
    def _bwe(self, y: np.ndarray, cutoff_hz: float, channel: int) -> np.ndarray:
        segment, overlap = self._segment_for(len(y))
        consistency = bool(self.config["sampler"]["consistency_bwe"])
        op = lowpass(self.rate, cutoff_hz)
        return overlap_add(
            y,
            segment,
            overlap,
            lambda chunk, start: self.sample(chunk, op, consistency, (channel, 0, start)),
        )

    def _inpaint(self, y: np.ndarray, gaps: list[tuple[int, int]], channel: int) -> np.ndarray:
        out = np.array(y, dtype=np.float32, copy=True)
        known = np.ones(len(y), dtype=np.float32)
        for a, b in gaps:
            known[max(a, 0) : max(b, 0)] = 0.0
            out[max(a, 0) : max(b, 0)] = 0.0
        for lo, hi in gap_regions(gaps, len(y), self.context):
            sub, sub_known = out[lo:hi], known[lo:hi]
            restored = self._inpaint_region(sub, sub_known, (channel, lo))
            out[lo:hi] = np.where(sub_known > 0, sub, restored)
        return out

    def _inpaint_region(
        self, sub: np.ndarray, known: np.ndarray, seed: tuple[int, int]
    ) -> np.ndarray:
        """Restore one region ``sub [n]`` (zeros where ``known [n]`` is 0) segment by segment."""
        segment, overlap = self._segment_for(len(sub))
        consistency = bool(self.config["sampler"]["consistency_inpainting"])

        def fn(chunk: np.ndarray, start: int) -> np.ndarray:
            m = known[start : start + segment]
            m = np.pad(m, (0, segment - len(m)), constant_values=1.0)  # padding counts as known
            if m.min() > 0:
                return chunk
            op = masking(torch.from_numpy(m))
            return self.sample(chunk * m, op, consistency, (*seed, start))

        return overlap_add(sub, segment, overlap, fn)

    # -- the interface -------------------------------------------------------------------------
    def restore(self, audio: np.ndarray, sample_rate: int, degradation: Degradation) -> np.ndarray:
        degradation.check(audio, sample_rate)
        if degradation.task is Task.BANDWIDTH_EXTENSION and degradation.cutoff_hz >= self.rate / 2:  # type: ignore[operator]
            raise BaselineError(
                f"cutoff {degradation.cutoff_hz:g} Hz is at or above the model's Nyquist ({self.rate / 2:g} Hz)"
            )
        dtype = audio.dtype if np.issubdtype(audio.dtype, np.floating) else np.float32
        channels = itertools.count()
        with torch.no_grad():
            out = per_channel(
                np.asarray(audio, dtype=np.float32),
                lambda ch: self._channel(ch, sample_rate, degradation, next(channels)),
            )
        return out.astype(dtype)

    def _channel(
        self, x: np.ndarray, rate: int, degradation: Degradation, channel: int
    ) -> np.ndarray:
        """One channel ``x [L]`` (float32) at ``rate`` -> restored ``[L]`` float32."""
        y = resample(x, rate, self.rate)
        if degradation.task is Task.BANDWIDTH_EXTENSION:
            cutoff = float(degradation.cutoff_hz)  # type: ignore[arg-type]
            restored = fit_length(resample(self._bwe(y, cutoff, channel), self.rate, rate), len(x))
            return keep_band_below(restored, x, rate, cutoff).astype(np.float32)
        gaps = degradation.gap_samples(self.rate)
        restored = fit_length(resample(self._inpaint(y, gaps, channel), self.rate, rate), len(x))
        out = np.array(x, dtype=np.float32, copy=True)
        for a, b in degradation.gap_samples(rate):
            out[max(a, 0) : max(b, 0)] = restored[max(a, 0) : max(b, 0)]
        return out
