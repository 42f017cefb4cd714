"""The AudioSR restorer: the published model run in its own environment (:mod:`.runner`).

Input handling, per channel (AudioSR is mono):

1. resample the degraded input to 48 kHz (soxr "HQ"; AudioSR's own torchaudio resampling is then
   the identity) and cut files longer than ``chunk_s`` (default 10.24 s, the length AudioSR was
   trained on; its authors advise against longer inputs) into chunks that overlap by
   ``overlap_s`` with raised-cosine cross-fades (:func:`baselines.common.overlap_add`);
2. AudioSR removes the mean, normalises the peak to 0.5, generates, and returns audio with peak
   0.5 (so its output level carries no information about the input's);
3. each chunk's output is level-matched at 48 kHz to the input chunk's low band, the whole
   channel is resampled to the input's rate (44.1 kHz in the evaluation) with soxr and
   level-matched again to the degraded input (:func:`level_match`: the gain is the ratio of the
   RMS of the rfft bins below the cutoff, input over output).

No band replacement is done here: AudioSR itself replaces the output's band below its estimate
of the cutoff by the input's.
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from a2sb.io.audio import fit_length, resample
from a2sb.tasks import Task

from ..common import overlap_add
from ..interface import BaselineError, Degradation, per_channel

RATE = 48000
RUNNER = Path(__file__).with_name("runner.py")
REPO = Path(__file__).resolve().parents[2]
WEIGHTS_URL = "https://huggingface.co/haoheliu/audiosr_basic/resolve/main/pytorch_model.bin"
WEIGHTS_HELP = (
    f"download {WEIGHTS_URL} (e.g. `curl -L -o resources/audiosr/pytorch_model.bin {WEIGHTS_URL}`) "
    "and pass --weights resources/audiosr (or set A2SB_AUDIOSR_WEIGHTS)"
)
ENV_HELP = (
    "create it with `python -m baselines.audiosr setup-env --prefix .venv-audiosr` and pass "
    "its python (option python, or A2SB_AUDIOSR_PYTHON=.venv-audiosr/bin/python)"
)


def band_rms(x: np.ndarray, rate: int, cutoff_hz: float) -> float:
    """RMS of the part of ``x [L]`` below ``cutoff_hz`` (Parseval over the rfft bins)."""
    spec = np.fft.rfft(np.asarray(x, dtype=np.float64))
    below = np.fft.rfftfreq(len(x), 1.0 / rate) < cutoff_hz
    weight = np.where(np.arange(len(spec)) == 0, 1.0, 2.0)
    if len(x) % 2 == 0:
        weight[-1] = 1.0
    energy = np.sum(weight[below] * np.abs(spec[below]) ** 2) / len(x)
    return float(np.sqrt(energy / len(x)))


def level_match(
    output: np.ndarray, reference: np.ndarray, rate: int, cutoff_hz: float
) -> np.ndarray:
    """``output`` scaled so its band below ``cutoff_hz`` has the RMS of ``reference``'s.

    ``gain = band_rms(reference) / band_rms(output)``; 1 when the output's band is silent.
    Both ``[L]`` (the shorter length is used for the gain).
    """
    n = min(len(output), len(reference))
    ref, out = band_rms(reference[:n], rate, cutoff_hz), band_rms(output[:n], rate, cutoff_hz)
    gain = ref / out if out > 1e-12 else 1.0
    return (np.asarray(output, dtype=np.float64) * gain).astype(np.float32)


def find_weights(value: str | os.PathLike[str] | None) -> Path:
    """The weights file of ``value`` (a file, or a folder holding ``pytorch_model.bin``)."""
    value = value or os.environ.get("A2SB_AUDIOSR_WEIGHTS")
    if not value:
        raise BaselineError(f"AudioSR weights not provided: {WEIGHTS_HELP}")
    path = Path(value)
    if path.is_dir():
        for name in ("pytorch_model.bin", "basic.pth"):
            if (path / name).is_file():
                return path / name
        raise BaselineError(
            f"AudioSR weights not provided: no pytorch_model.bin in {path}; {WEIGHTS_HELP}"
        )
    if not path.is_file():
        raise BaselineError(f"AudioSR weights not provided: {path} not found; {WEIGHTS_HELP}")
    return path


def find_python(value: str | os.PathLike[str] | None) -> list[str]:
    """The AudioSR environment's python as an argv prefix (a command line may hold arguments)."""
    value = value or os.environ.get("A2SB_AUDIOSR_PYTHON")
    if not value:
        default = REPO / ".venv-audiosr" / "bin" / "python"
        if not default.is_file():
            raise BaselineError(f"AudioSR environment not found: {ENV_HELP}")
        value = str(default)
    argv = shlex.split(str(value))
    if not argv or not Path(argv[0]).is_file():
        raise BaselineError(
            f"AudioSR environment not found: {argv[0] if argv else value!r}; {ENV_HELP}"
        )
    return argv


class _Runner:
    """The long-lived runner process (the model loads once per restorer)."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        atexit.register(self.close)
        reply = self._read()
        if not reply.get("ready"):
            self.close()
            raise BaselineError(f"AudioSR did not start: {reply.get('error', 'no reply')}")

    def _read(self) -> dict[str, Any]:
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            code = self.proc.wait()
            raise BaselineError(f"AudioSR runner exited (status {code}); see its messages above")
        try:
            return json.loads(line)
        except ValueError:
            raise BaselineError(
                f"AudioSR runner: unreadable reply {line.strip()[:200]!r}"
            ) from None

    def request(self, **fields: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(fields) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise BaselineError("AudioSR runner is gone") from None
        reply = self._read()
        if not reply.get("ok"):
            raise BaselineError(f"AudioSR failed: {reply.get('error', 'no reason given')}")
        return reply

    def close(self) -> None:
        if self.proc.poll() is None:
            if self.proc.stdin:
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class AudioSRRestorer:
    """Bandwidth extension with the pretrained AudioSR ``basic`` model (see module docstring)."""

    name = "audiosr"

    def __init__(
        self,
        weights: Path,
        python: list[str],
        ddim_steps: int = 50,
        guidance_scale: float = 3.5,
        seed: int = 42,
        device: str = "auto",
        model_name: str = "basic",
        chunk_s: float = 10.24,
        overlap_s: float = 0.5,
        threads: int = 0,
    ) -> None:
        self.weights, self.python = weights, python
        self.ddim_steps, self.guidance_scale, self.seed = (
            int(ddim_steps),
            float(guidance_scale),
            int(seed),
        )
        self.device, self.model_name, self.threads = device, model_name, int(threads)
        self.chunk = round(chunk_s * RATE)
        self.overlap = min(round(overlap_s * RATE), self.chunk // 2)
        self._runner: _Runner | None = None

    def runner(self) -> _Runner:
        if self._runner is None:
            argv = [
                *self.python, str(RUNNER), "--weights", str(self.weights),
                "--model-name", self.model_name, "--device", self.device,
                "--ddim-steps", str(self.ddim_steps), "--guidance-scale", str(self.guidance_scale),
                "--seed", str(self.seed), "--threads", str(self.threads),
            ]  # fmt: skip
            self._runner = _Runner(argv)
        return self._runner

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def super_resolve(self, x48: np.ndarray, seed: int) -> np.ndarray:
        """One mono 48 kHz chunk through AudioSR -> same length, AudioSR's level."""
        with tempfile.TemporaryDirectory(prefix="a2sb-audiosr-") as tmp:
            src, dst = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
            sf.write(src, np.asarray(x48, dtype=np.float32), RATE, subtype="FLOAT")
            self.runner().request(input=str(src), output=str(dst), seed=seed)
            out, rate = sf.read(dst, dtype="float32")
        if rate != RATE:
            raise BaselineError(f"AudioSR runner wrote {rate} Hz, expected {RATE}")
        return fit_length(np.asarray(out).reshape(-1), len(x48))

    def restore(self, audio: np.ndarray, sample_rate: int, degradation: Degradation) -> np.ndarray:
        degradation.check(audio, sample_rate)
        if degradation.task is not Task.BANDWIDTH_EXTENSION:
            raise BaselineError("AudioSR does bandwidth extension only")
        cutoff = float(degradation.cutoff_hz)  # type: ignore[arg-type]
        dtype = audio.dtype if np.issubdtype(audio.dtype, np.floating) else np.float32

        def channel(x: np.ndarray) -> np.ndarray:
            x48 = resample(x, sample_rate, RATE)

            def chunk_fn(chunk: np.ndarray, start: int) -> np.ndarray:
                if not np.any(chunk):
                    return chunk
                return level_match(
                    self.super_resolve(chunk, self.seed + start), chunk, RATE, cutoff
                )

            segment = min(self.chunk, len(x48))  # a short file is one call of its own length
            out48 = overlap_add(x48, segment, min(self.overlap, segment // 2), chunk_fn)
            out = fit_length(resample(out48, RATE, sample_rate), len(x))
            return level_match(out, x, sample_rate, cutoff)

        return per_channel(np.asarray(audio, dtype=np.float32), channel).astype(dtype)
