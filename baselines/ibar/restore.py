"""IBAR restoration: flow ODE in the mel domain per segment, shared vocoder, known audio kept.

For one channel at rate ``sr`` (stereo: each channel alike, :func:`baselines.interface.per_channel`):

1. resample to the model's rate (44.1 kHz by default; :func:`a2sb.io.audio.resample`, soxr
   "HQ", float64) and, for inpainting, zero the gaps there again (resampling smears their edges);
2. take the log-mel of the whole (zero-padded) file and cut it into segments of
   ``model.segment_frames`` frames overlapping by ``sample.overlap_frames``; per segment an
   Euler/midpoint ODE from noise (``sample.steps``; noise a function of ``(seed, first frame)``)
   conditioned on the degraded mel and the task's canonical instruction gives a mel; the
   segments are averaged with raised-cosine weights over their overlaps (the scheme of
   :func:`baselines.common.overlap_add`, done on mel frames), and the whole mel is vocoded once
   with the shared vocoder (:mod:`baselines.vocoder`): no waveform cross-fade of independently
   vocoded segments (whose phases differ) and no vocoding of overlaps twice. Inpainting runs
   the segments in order and gives each one, as its condition, the gap frames the previous
   segments already generated, so a gap cut by a segment border is filled once, consistently;
3. back to ``sr`` (the same resampler), then the known audio is put back: **inpainting**
   output equals the input exactly outside the gaps, the generation fading in and out over
   ``sample.crossfade_ms`` just inside each gap's edges; **bandwidth extension** keeps every FFT
   bin of the input below the cutoff and takes the generation's bins at and above it (a
   whole-signal float64 FFT, :func:`baselines.common.keep_band_below`).

The paper's IBAR vocodes with a 48 kHz BigVGAN-v2; we use the project's shared 44.1 kHz mel
vocoder (the IBAR mel must equal the vocoder's, checked at load).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from a2sb.checkpoint import sidecar_path
from a2sb.io.audio import fit_length, resample
from a2sb.splice import splice_gaps
from a2sb.tasks import Task

from ..common import LearnedRestorer, keep_band_below, load_state, load_weights
from ..interface import BaselineError, Degradation, per_channel
from ..mel import MelConfig, log_mel
from .config import device_of, full_config, mel_config
from .flow import sample_ode
from .model import IBAR
from .templates import ALL_TEMPLATES, canonical

METHOD = "ibar"


class IBARRestorer(LearnedRestorer):
    """Restorer of a trained IBAR model with a mel vocoder (see the module docstring)."""

    name = METHOD

    def __init__(
        self, model: IBAR, config: dict[str, Any], vocoder: torch.nn.Module, *, solver: str,
        **sampling: int | None,
    ) -> None:  # fmt: skip
        self.vocoder, self.solver = vocoder, solver
        super().__init__(model, config, **sampling)

    def configure(self) -> None:
        self.mel: MelConfig = mel_config(self.config)
        self.segment = int(self.config["model"]["segment_frames"])
        self.overlap = int(self.config["sample"]["overlap_frames"])
        self.crossfade_ms = float(self.config["sample"]["crossfade_ms"])

    def restore(self, audio: np.ndarray, sample_rate: int, degradation: Degradation) -> np.ndarray:
        """``[L]`` or ``[C, L]`` degraded audio -> restored, same shape and rate (float32)."""
        degradation.check(audio, sample_rate)
        x = np.asarray(audio, dtype=np.float64)
        return per_channel(x, lambda ch: self._channel(ch, int(sample_rate), degradation)).astype(
            np.float32
        )

    def _channel(self, x: np.ndarray, sr: int, degradation: Degradation) -> np.ndarray:
        """One channel ``[L]`` float64 -> ``[L]`` float64 (steps 1 to 3 of the module docstring)."""
        rate = self.mel.sample_rate
        if degradation.task is Task.BANDWIDTH_EXTENSION:
            cutoff = float(degradation.cutoff_hz)  # type: ignore[arg-type]
            if cutoff >= rate / 2:  # nothing the model could add
                return x.copy()
            gen = self.generate(resample(x, sr, rate), Task.BANDWIDTH_EXTENSION, [])
            return keep_band_below(fit_length(resample(gen, rate, sr), len(x)), x, sr, cutoff)
        y = np.array(resample(x, sr, rate), dtype=np.float64)  # a copy: the caller's x stays
        gaps_model = degradation.gap_samples(rate)
        for a, b in gaps_model:
            y[max(0, a) : max(0, b)] = 0.0
        gen = self.generate(y, Task.INPAINTING, gaps_model)
        fade = round(self.crossfade_ms * sr / 1000.0)
        return splice_gaps(
            x,
            fit_length(resample(gen, rate, sr), len(x)),
            degradation.gap_samples(sr),
            fade,
            side="inside",
            law="equal-gain",
        )

    @torch.no_grad()
    def generate(self, y: np.ndarray, task: Task, gaps: list[tuple[int, int]]) -> np.ndarray:
        """``[N]`` degraded audio at the model rate -> ``[N]`` model output (vocoded)."""
        mel = self.generate_mel(y, task, gaps)
        return fit_length(vocode_mel(self.vocoder, mel), len(y)).astype(np.float64)

    @torch.no_grad()
    def generate_mel(self, y: np.ndarray, task: Task, gaps: list[tuple[int, int]]) -> torch.Tensor:
        """``[N]`` degraded audio at the model rate -> ``[n_mels, ceil(N / hop)]`` log-mel.

        Segments of ``S`` frames start every ``S - O`` frames; the last one reaches past the end
        (the waveform is zero-padded before the mel is taken). Their outputs are averaged with
        raised-cosine weights over the ``O`` overlapping frames. Inpainting: before a segment
        is sampled, the condition frames that touch a gap and were already generated by the
        previous segments are replaced by that generation.
        """
        hop, size, overlap = self.mel.hop_length, self.segment, self.overlap
        frames = max(1, math.ceil(len(y) / hop))
        starts = segment_starts(frames, size, overlap)
        total = starts[-1] + size
        wave = np.zeros(total * hop, dtype=np.float32)
        wave[: len(y)] = y
        cond = self.net.normalise(log_mel(torch.from_numpy(wave), self.mel))  # [M, total]
        cond = cond.to(self.device)
        touched = gap_frames(gaps, total, hop, self.mel.n_fft) if gaps else None
        text = self.net.embed([canonical(task)])
        out = torch.zeros_like(cond)
        weight = torch.zeros(total, device=self.device)
        done = 0  # frames [0, done) hold a (partial) generation
        for k, start in enumerate(starts):
            c = cond[:, start : start + size].clone()
            if touched is not None and done > start:
                known = torch.from_numpy(touched[start:done]).to(self.device)
                prev = out[:, start:done] / weight[start:done].clamp(min=1e-12)
                c[:, : done - start][:, known] = prev[:, known]
            rng = np.random.default_rng([self.seed, start])
            x0 = rng.standard_normal((1, 1, *c.shape), dtype=np.float32)
            x1 = sample_ode(
                lambda x, t, c=c: self.net(x, t, c[None, None], text),
                torch.from_numpy(x0).to(self.device),
                self.steps,
                self.solver,
            )
            w = torch.from_numpy(fade_weights(size, overlap, k > 0, k < len(starts) - 1)).to(
                self.device
            )
            out[:, start : start + size] += w * x1[0, 0].float()
            weight[start : start + size] += w
            done = start + size
        mel = self.net.denormalise(out / weight.clamp(min=1e-12))
        return mel[:, :frames].float().cpu()


def segment_starts(frames: int, size: int, overlap: int) -> list[int]:
    """First frames of the segments covering ``frames`` (as :func:`baselines.common.overlap_add`)."""
    if frames <= size:
        return [0]
    return list(range(0, frames - overlap, size - overlap))


def fade_weights(size: int, overlap: int, fade_in: bool, fade_out: bool) -> np.ndarray:
    """``[size]`` float32 weights: raised-cosine ramps over the first/last ``overlap`` frames."""
    w = np.ones(size, dtype=np.float32)
    if overlap:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap) + 0.5) / overlap)
        if fade_in:
            w[:overlap] = ramp
        if fade_out:
            w[-overlap:] *= ramp[::-1]
    return w


def gap_frames(gaps: list[tuple[int, int]], frames: int, hop: int, n_fft: int) -> np.ndarray:
    """``[frames]`` bool: mel frames whose analysis window (:mod:`baselines.mel`) meets a gap."""
    n = frames * hop
    in_gap = np.zeros(n + 1, dtype=np.int64)
    for a, b in gaps:
        a, b = max(0, min(a, n)), max(0, min(b, n))
        in_gap[a] += 1
        in_gap[b] -= 1
    count = np.concatenate([[0], np.cumsum(np.cumsum(in_gap)[:n] > 0)])  # gap samples before i
    pad = (n_fft - hop) // 2
    lo = np.clip(np.arange(frames) * hop - pad, 0, n)
    hi = np.clip(np.arange(frames) * hop - pad + n_fft, 0, n)
    return count[hi] - count[lo] > 0


def vocode_mel(vocoder: torch.nn.Module, mel: torch.Tensor) -> np.ndarray:
    """``[n_mels, F]`` natural-log mel -> ``[F * hop]`` waveform with the shared vocoder."""
    from ..vocoder import vocode

    return np.asarray(vocode(vocoder, mel), dtype=np.float32).reshape(-1)


def _vocoder_from(spec: Any, mel: MelConfig, device: torch.device) -> torch.nn.Module:
    if isinstance(spec, torch.nn.Module):
        vocoder = spec
    else:
        if not spec:
            raise BaselineError(
                "IBAR needs a mel vocoder: pass --vocoder PATH (a baselines.vocoder checkpoint)"
            )
        path = Path(spec)
        if not path.is_file():
            raise BaselineError(f"{path}: vocoder checkpoint not found")
        from ..vocoder import load_vocoder

        vocoder = load_vocoder(path, device=str(device))
    vmel = getattr(vocoder, "mel", None)
    if vmel != mel:
        raise BaselineError(f"the vocoder's mel ({vmel}) differs from IBAR's ({mel})")
    return vocoder.eval()


def load(checkpoint: str | Path, options: dict[str, Any] | None = None) -> IBARRestorer:
    """A restorer from ``checkpoint`` (``final.safetensors`` of :func:`train`).

    ``options``: ``steps``, ``seed``, ``solver`` (``euler``/``midpoint``), ``device`` and
    ``vocoder`` (a vocoder checkpoint path, or a loaded ``Vocoder``) override ``sample.*`` of
    the checkpoint's config; other keys (``weights``) do not concern IBAR and are ignored.
    """
    options = dict(options or {})
    if checkpoint is None:
        raise BaselineError("IBAR needs --checkpoint")
    state, sidecar = load_weights(checkpoint, METHOD)
    cfg = full_config(sidecar.get("config"), str(sidecar_path(checkpoint)))
    templates = sidecar.get("extra", {}).get("templates")
    if templates is not None and list(templates) != list(ALL_TEMPLATES):
        raise BaselineError(f"{checkpoint}: trained with other instruction templates")
    table = state.get("text.table") if cfg["text"]["encoder"] == "byt5" else None
    if cfg["text"]["encoder"] == "byt5" and table is None:
        raise BaselineError(f"{checkpoint}: byT5 checkpoint without its text.table")
    model = IBAR(cfg, table)
    load_state(model, state, checkpoint)
    s = cfg["sample"]
    solver = options.get("solver", s["solver"])
    if solver not in ("euler", "midpoint"):
        raise BaselineError(f"unknown solver {solver!r} (euler, midpoint)")
    device = device_of(options.get("device", s["device"]))
    vocoder = _vocoder_from(options.get("vocoder") or s["vocoder"], mel_config(cfg), device)
    return IBARRestorer(model.to(device), cfg, vocoder, solver=solver, steps=options.get("steps"),
                        seed=options.get("seed"))  # fmt: skip
