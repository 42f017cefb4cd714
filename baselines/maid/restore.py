"""MAID inpainting of a file: one segment centred on each gap, mel diffusion, vocoder, paste.

For each channel and each gap ``[a, b)`` (samples at the input rate), in time order:

1. take ``segment`` samples' worth of input centred on the gap (shifted to stay inside the file,
   zero-padded when the file is shorter), with the gaps already filled in by earlier steps;
2. resample it (as float32) to ``sample_rate`` (44032 Hz) when the rates differ
   (:func:`a2sb.io.audio.resample`, the project's one soxr quality);
3. compute its normalised log-mel and the frame mask of every still-unfilled gap inside the
   segment; sample the mel with DDIM, conditioned on the masked mel and the mask; keep the input's
   frames outside the mask;
4. vocode the masked frames plus ``margin_frames`` on each side (the vocoder's output sequence is
   read at 44032 Hz, see :mod:`baselines.maid`), resample back to the input rate;
5. write it into ``[a, b)`` only, cross-faded over ``crossfade_ms`` at both ends of the gap with
   the mirror image of the known audio next to the gap (continuous at the gap edges).

Samples outside the gaps are returned bit for bit.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from a2sb.io.audio import fit_length, resample
from a2sb.tasks import Task

from ..common import LearnedRestorer
from ..interface import BaselineError, Degradation
from ..mel import MelConfig, log_mel
from ..vocoder import Vocoder, vocode
from .model import MAIDNet, denormalize, diffusion_of, frame_mask, normalize


class MAIDRestorer(LearnedRestorer):
    """MAID: ``restore(audio [L] or [C, L], rate, inpainting degradation) -> same shape``;
    ``steps``/``seed`` default to the config's ``sample`` section, ``vocoder`` is the shared mel
    vocoder (it must invert MAID's mel)."""

    name = "maid"

    def __init__(
        self, net: MAIDNet, config: dict[str, Any], vocoder: Vocoder, **sampling: int | None
    ) -> None:
        self.vocoder = vocoder.eval()
        super().__init__(net, config, **sampling)

    def configure(self) -> None:
        self.mel = MelConfig.from_dict(self.config["mel"])
        if self.vocoder.mel != self.mel:
            raise BaselineError(
                f"the vocoder inverts a different mel ({self.vocoder.mel}) than MAID was trained "
                f"on ({self.mel})"
            )
        self.diffusion = diffusion_of(self.config)
        self.rate = int(self.config["sample_rate"])
        self.segment = int(self.config["segment"])

    def _segment_for(self, gap: int) -> int:
        """Model-rate samples of the segment for a gap of ``gap`` samples: the configured segment,
        or, for a gap longer than half of it, the gap plus a quarter segment of context each side
        (rounded up to what the UNet can take; it is fully convolutional)."""
        if 2 * gap <= self.segment:
            return self.segment
        unit = self.mel.hop_length * self.net.unet.factor
        return math.ceil((gap + self.segment // 2) / unit) * unit

    # ---------------------------------------------------------------- one segment
    @torch.no_grad()
    def _generate(
        self, chunk: np.ndarray, gaps: list[tuple[int, int]], seed: list[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(logmel [n_mels, F] with the gaps generated, frame mask [F])`` of a model-rate chunk."""
        mel, norm = self.mel, self.config["norm"]
        spec = log_mel(torch.from_numpy(chunk), mel)  # [M, F]
        x_known = normalize(spec, norm)[None, None]  # [1, 1, M, F]
        frames = x_known.shape[-1]
        mask_np = frame_mask(gaps, frames, mel)
        mask = torch.from_numpy(mask_np).view(1, 1, 1, frames).expand_as(x_known)
        cond = x_known * (1 - mask)
        generator = torch.Generator().manual_seed(
            int(np.random.SeedSequence(seed).generate_state(1)[0])
        )
        noise = torch.randn(x_known.shape, generator=generator)
        s = self.config["sample"]
        x0 = self.diffusion.ddim(
            lambda x, t: self.net(x, cond, mask, t),
            noise,
            self.steps,
            eta=float(s["eta"]),
            clip=float(s["clip"]),
            generator=generator,
        )
        x = mask * x0 + (1 - mask) * x_known
        return denormalize(x, norm)[0, 0], mask_np

    def _channel(
        self, x: np.ndarray, rate: int, gaps: list[tuple[int, int]], channel: int
    ) -> np.ndarray:
        y = np.array(x, copy=True)
        if not np.issubdtype(y.dtype, np.floating):
            y = y.astype(np.float32)
        n = y.shape[0]
        hop, margin = self.mel.hop_length, int(self.config["sample"]["margin_frames"])
        for index, (a, b) in enumerate(gaps):
            if b <= a:
                continue
            segment = self._segment_for(math.ceil((b - a) * self.rate / rate))
            seg_in = math.ceil(segment * rate / self.rate)
            s0 = min(max(0, (a + b) // 2 - seg_in // 2), max(0, n - seg_in))
            chunk_in = fit_length(y[s0 : s0 + seg_in], seg_in).astype(np.float32)
            chunk = fit_length(resample(chunk_in, rate, self.rate), segment)  # float32
            scale = self.rate / rate
            inside = [
                (math.floor((ga - s0) * scale), math.ceil((gb - s0) * scale))
                for ga, gb in gaps[index:]
                if gb > s0 and ga < s0 + seg_in
            ]
            inside = [(max(0, p), min(segment, q)) for p, q in inside]
            spec, _ = self._generate(chunk, inside, [self.seed, channel, index])
            # frames of this gap (+ margin) to vocode
            frames = spec.shape[-1]
            own = frame_mask(inside[:1], frames, self.mel)
            hit = np.flatnonzero(own)
            lo, hi = max(0, int(hit[0]) - margin), min(frames, int(hit[-1]) + 1 + margin)
            wave_model = vocode(self.vocoder, spec[:, lo:hi])  # model rate, from sample lo * hop
            wave = resample(wave_model, self.rate, rate)  # float32
            start_in = s0 + lo * hop / scale  # input-rate position of wave[0]
            offset = round(start_in)
            idx = np.arange(a, b) - offset
            if idx[0] < 0 or idx[-1] >= wave.shape[0]:
                wave = np.pad(wave, (max(0, -idx[0]), max(0, idx[-1] + 1 - wave.shape[0])))
                idx = idx + max(0, -idx[0])
            fill = wave[idx].astype(np.float64)
            y[a:b] = self._crossfade(y, a, b, fill, rate)
        return y

    def _crossfade(self, y: np.ndarray, a: int, b: int, fill: np.ndarray, rate: int) -> np.ndarray:
        """``fill`` faded in from the mirror of ``y[:a]`` and out into the mirror of ``y[b:]``."""
        length = b - a
        fade = min(int(round(self.config["sample"]["crossfade_ms"] * rate / 1000)), length // 2)
        out = fill.copy()
        if fade <= 0:
            return out
        w = 0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)  # 0 -> 1
        left = y[max(0, a - fade) : a][::-1].astype(np.float64)
        if left.shape[0]:
            left = np.pad(left, (0, fade - left.shape[0]))
            out[:fade] = (1 - w) * left + w * fill[:fade]
        right = y[b : b + fade][::-1].astype(np.float64)
        if right.shape[0]:
            right = np.pad(right, (fade - right.shape[0], 0))
            out[length - fade :] = w[::-1] * fill[length - fade :] + (1 - w[::-1]) * right
        return out

    # ---------------------------------------------------------------- protocol
    def restore(self, audio: np.ndarray, sample_rate: int, degradation: Degradation) -> np.ndarray:
        """Inpaint the gaps of ``audio`` (``[L]`` or ``[C, L]``); same shape, rate and dtype."""
        if degradation.task is not Task.INPAINTING:
            raise BaselineError("MAID does inpainting only")
        degradation.check(audio, sample_rate)
        gaps = [(a, b) for a, b in degradation.gap_samples(sample_rate) if b > a]
        dtype = audio.dtype if np.issubdtype(audio.dtype, np.floating) else np.float32
        if audio.ndim == 1:
            return self._channel(audio, sample_rate, gaps, 0).astype(dtype)
        return np.stack(
            [self._channel(ch, sample_rate, gaps, c) for c, ch in enumerate(audio)]
        ).astype(dtype)
