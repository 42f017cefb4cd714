"""What every learned baseline shares: checkpoints with provenance, training crops, long files.

- :func:`save_weights` / :func:`load_weights`: safetensors plus a JSON sidecar (``X.json`` beside
  ``X.safetensors``) holding the method, its config and config hash, the manifests' sha256, the
  seed, the git commit and the package versions; both written atomically. Loading never unpickles.
- :class:`WaveCrops`: random mono crops at a fixed rate from CSV manifests (the same reader as
  A2SB's training, :mod:`a2sb.training.dataset`), crop ``g`` a pure function of ``(seed, g)``.
- :func:`overlap_add`: run a segment-wise restorer over a file of any length with overlapping
  segments and raised-cosine cross-fades.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.torch
import torch

from a2sb.checkpoint import atomic_write, file_sha256, git_state, write_json
from a2sb.errors import InputError
from a2sb.training.dataset import BadAudio, read_crop, read_entries

from .interface import BaselineError

FORMAT = "a2sb-repro-baseline/1"


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 of the config as canonical JSON."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def sidecar_of(path: str | Path) -> Path:
    return Path(path).with_suffix(".json")


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in ("torch", "numpy", "safetensors", "a2sb-repro"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def save_weights(
    path: str | Path,
    state: Mapping[str, torch.Tensor],
    method: str,
    config: Mapping[str, Any],
    manifests: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``path`` (.safetensors) and its sidecar atomically; return the sidecar."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise BaselineError(f"{path}: a checkpoint name must end in .safetensors")
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    commit, dirty = git_state()
    sidecar: dict[str, Any] = {
        "format": FORMAT,
        "method": method,
        "weights": path.name,
        "sha256": None,
        "config": dict(config),
        "config_hash": config_hash(config),
        "manifests": {str(m): file_sha256(m) for m in manifests},
        "seed": config.get("seed"),
        "git_commit": commit,
        "git_dirty": dirty,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": _versions(),
        "extra": dict(extra or {}),
    }
    json.dumps(sidecar)  # fail before writing anything
    atomic_write(path, lambda tmp: safetensors.torch.save_file(tensors, str(tmp)))
    sidecar["sha256"] = file_sha256(path)
    write_json(sidecar_of(path), sidecar)
    return sidecar


def load_weights(path: str | Path, method: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(state_dict, sidecar)`` of a checkpoint written by :func:`save_weights` for ``method``."""
    path = Path(path)
    side = sidecar_of(path)
    if not path.is_file():
        raise BaselineError(f"{path}: checkpoint not found")
    try:
        sidecar = json.loads(side.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{path}: no sidecar {side.name} beside it") from None
    except (OSError, ValueError) as exc:
        raise BaselineError(f"{side}: unreadable sidecar ({exc})") from None
    if not isinstance(sidecar, dict) or sidecar.get("format") != FORMAT:
        raise BaselineError(f"{side}: not a baseline checkpoint sidecar ({FORMAT})")
    if sidecar.get("method") != method:
        raise BaselineError(f"{path}: a {sidecar.get('method')!r} checkpoint, not {method!r}")
    try:
        state = safetensors.torch.load_file(str(path))
    except Exception as exc:  # safetensors raises several types for corrupt files
        raise BaselineError(f"{path}: unreadable safetensors file ({exc})") from None
    return state, sidecar


class WaveCrops:
    """Random mono crops of ``n_samples`` at ``sample_rate`` from the manifests' ``split`` rows."""

    def __init__(
        self,
        manifests: Sequence[str],
        sample_rate: int,
        n_samples: int,
        seed: int = 0,
        split: str | None = "train",
    ) -> None:
        try:
            self.entries = read_entries(manifests, split)
        except InputError as exc:  # one line naming the manifest, as every baseline error
            raise BaselineError(str(exc)) from None
        if not self.entries:
            raise BaselineError(f"no audio rows with split {split!r} in {', '.join(manifests)}")
        self.sample_rate, self.n_samples, self.seed = sample_rate, n_samples, seed

    def crop(self, index: int) -> np.ndarray:
        """Crop ``index`` (deterministic), float32 ``[n_samples]``; unreadable files are redrawn."""
        rng = np.random.default_rng([self.seed, index])
        for _ in range(100):
            entry = self.entries[int(rng.integers(len(self.entries)))]
            try:
                wave, _ = read_crop(
                    entry.path, self.sample_rate, self.n_samples, float(rng.random())
                )
            except BadAudio:
                continue
            return wave
        raise BaselineError("no readable audio file in the manifests after 100 draws")

    def batch(self, step: int, batch_size: int) -> torch.Tensor:
        """Batch ``step``: crops ``step * batch_size ...``, ``[batch_size, n_samples]``."""
        start = step * batch_size
        return torch.from_numpy(np.stack([self.crop(start + i) for i in range(batch_size)]))


def overlap_add(
    audio: np.ndarray,
    segment: int,
    overlap: int,
    fn: Callable[[np.ndarray, int], np.ndarray],
) -> np.ndarray:
    """Apply ``fn(chunk [segment], start) -> [segment]`` to overlapping chunks of ``[L]`` audio.

    Chunks start every ``segment - overlap`` samples (the last is zero-padded to ``segment``);
    outputs are summed with raised-cosine cross-fades over the overlaps (weights sum to one), so
    a file shorter than one segment is a single call. Returns ``[L]`` float32.
    """
    if not 0 <= overlap < segment:
        raise ValueError(f"need 0 <= overlap < segment, got {overlap} and {segment}")
    length = audio.shape[-1]
    hop = segment - overlap
    starts = [0] if length <= segment else list(range(0, length - overlap, hop))
    out = np.zeros(length, dtype=np.float64)
    weight = np.zeros(length, dtype=np.float64)
    fade = 0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap) + 0.5) / max(overlap, 1))
    for k, start in enumerate(starts):
        chunk = audio[start : start + segment]
        n = chunk.shape[-1]
        padded = np.pad(chunk, (0, segment - n)) if n < segment else chunk
        result = np.asarray(fn(padded.astype(np.float32), start), dtype=np.float64)[:n]
        w = np.ones(n)
        if k > 0 and overlap:
            w[: min(overlap, n)] = fade[: min(overlap, n)]
        if k < len(starts) - 1 and overlap:
            tail = min(overlap, n)
            w[n - tail :] *= fade[::-1][overlap - tail :]
        out[start : start + n] += w * result
        weight[start : start + n] += w
    return (out / np.maximum(weight, 1e-12)).astype(np.float32)
