"""What every learned baseline shares: config resolution, checkpoints with provenance, the
adapter to the shared training loop, training crops, long files and band replacement.

- :func:`resolve_config`: a method's config over its defaults (:func:`a2sb.config_merge.merge_config`),
  errors as :class:`BaselineError` naming the config file.
- :func:`save_weights` / :func:`load_weights`: safetensors plus a JSON sidecar (``X.json`` beside
  ``X.safetensors``) holding the method, its config and config hash, the manifests' sha256, the
  seed, the git commit and the package versions; both written atomically. Loading never unpickles.
- :class:`BaselineTraining` and :func:`train_baseline`: a learned baseline's side of
  :func:`a2sb.training.loop.train_loop` (threads, seeding, clipping, the non-finite policy, EMA,
  ``log.csv``, step checkpoints, resume and the final weights all live there). Every method's
  ``train`` section holds the loop's keys (:data:`LOOP_DEFAULTS`) next to its own.
- :class:`WaveCrops`: random mono crops at a fixed rate from CSV manifests (the same reader as
  A2SB's training, :mod:`a2sb.training.dataset`), crop ``g`` a pure function of ``(seed, g)``.
- :func:`overlap_add`: run a segment-wise restorer over a file of any length with overlapping
  segments and raised-cosine cross-fades.
- :func:`keep_band_below`: the known band of the input put back under a generated signal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.torch
import torch

from a2sb.checkpoint import sidecar_path
from a2sb.config_merge import merge_config
from a2sb.io.atomic import atomic_write, write_json
from a2sb.io.provenance import config_hash, file_sha256, git_state, package_versions
from a2sb.training.dataset import BadAudio, read_crop, read_entries
from a2sb.training.loop import LoopConfig, LoopRun, TrainingMethod, train_loop

from .interface import BaselineError

FORMAT = "a2sb-repro-baseline/1"

#: The training-loop keys of every learned baseline's ``train`` section, with their defaults
#: (:class:`a2sb.training.loop.LoopConfig`); each method overrides the values it needs.
LOOP_DEFAULTS: dict[str, Any] = {
    "steps": 100,
    "batch_size": 4,
    "grad_clip": 1.0,  # gradient-norm clipping (0: none)
    "ema": None,  # EMA decay of the weights written as final (None: no EMA)
    "log_every": 25,
    "checkpoint_every": 50,  # resumable step checkpoints (and one at the end)
    "keep_checkpoints": 2,
    "max_wall_s": None,  # stop early (resumably) after this many seconds
}

#: ``train`` keys that may change when a run is resumed: they do not alter the weights.
RESUMABLE_KEYS = frozenset(
    {"steps", "log_every", "checkpoint_every", "keep_checkpoints", "max_wall_s"}
)


def resolve_config(
    defaults: Mapping[str, Any],
    config: Mapping[str, Any] | None,
    source: str,
    *,
    choices: Mapping[str, Collection[Any]] | None = None,
    opaque: Collection[str] = (),
) -> dict[str, Any]:
    """``config`` over ``defaults`` (unknown keys and wrong types are a :class:`BaselineError`
    naming ``source``), with the loop keys of its ``train`` section checked; the method checks
    its own values afterwards."""
    cfg = merge_config(defaults, config, source, choices=choices, opaque=opaque,
                       nullable=("train.ema", "train.max_wall_s"), error=BaselineError)  # fmt: skip
    t = cfg.get("train", {})
    if LOOP_DEFAULTS.keys() <= t.keys():
        for ok, message in (
            (t["steps"] >= 0 and t["batch_size"] >= 1, "train.steps >= 0 and train.batch_size >= 1"),
            (t["grad_clip"] >= 0, "train.grad_clip must be >= 0 (0: no clipping)"),
            (t["ema"] is None or 0 <= t["ema"] < 1, "train.ema must lie in [0, 1) or be null"),
            (t["log_every"] >= 1, "train.log_every must be >= 1"),
            (t["checkpoint_every"] >= 0 and t["keep_checkpoints"] >= 0,
             "train.checkpoint_every and train.keep_checkpoints must be >= 0"),
            (t["max_wall_s"] is None or (isinstance(t["max_wall_s"], int | float)
                                         and not isinstance(t["max_wall_s"], bool)
                                         and t["max_wall_s"] > 0),
             "train.max_wall_s must be a positive number or null"),
        ):  # fmt: skip
            if not ok:
                raise BaselineError(f"{source}: {message}")
    return cfg


def save_weights(
    path: str | Path,
    state: Mapping[str, torch.Tensor],
    method: str,
    config: Mapping[str, Any],
    manifests: Sequence[str] | Mapping[str, str] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``path`` (.safetensors) and its sidecar atomically; return the sidecar.
    ``manifests``: the training manifests (hashed here), or their sha256 by path already."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise BaselineError(f"{path}: a checkpoint name must end in .safetensors")
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    git = git_state()
    sidecar: dict[str, Any] = {
        "format": FORMAT,
        "method": method,
        "weights": path.name,
        "sha256": None,
        "config": dict(config),
        "config_hash": config_hash(config),
        "manifests": dict(manifests)
        if isinstance(manifests, Mapping)
        else {str(m): file_sha256(m) for m in manifests},
        "seed": config.get("seed"),
        "git_commit": git.commit,
        "git_dirty": git.dirty,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": package_versions(),
        "extra": dict(extra or {}),
    }
    json.dumps(sidecar)  # fail before writing anything
    atomic_write(path, lambda tmp: safetensors.torch.save_file(tensors, str(tmp)))
    sidecar["sha256"] = file_sha256(path)
    write_json(sidecar_path(path), sidecar)
    return sidecar


def load_weights(path: str | Path, method: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(state_dict, sidecar)`` of a checkpoint written by :func:`save_weights` for ``method``."""
    path = Path(path)
    side = sidecar_path(path)
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


def training_hash(cfg: Mapping[str, Any]) -> str:
    """The hash a run resumes under: the resolved config without :data:`RESUMABLE_KEYS`."""
    train = {k: v for k, v in cfg["train"].items() if k not in RESUMABLE_KEYS}
    return config_hash({**cfg, "train": train})


def load_state(net: torch.nn.Module, state: Mapping[str, torch.Tensor], path: str | Path) -> None:
    """Load ``state`` into ``net`` strictly; a :class:`BaselineError` naming the checkpoint when
    the weights do not fit the network its config builds."""
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise BaselineError(f"{path}: weights do not match the config ({first})") from None


class BaselineTraining(TrainingMethod):
    """A learned baseline as the training loop sees it.

    Subclasses build ``model`` and ``optimizer`` (and ``scheduler``) from ``cfg`` and implement
    ``backward(step)``; weights are written with :func:`save_weights` (sidecar ``extra``: the
    step, the run id, ``weights`` "ema" or "raw", and :meth:`weights_extra`). A run resumes from
    checkpoints whose config differs only in the loop's bookkeeping (:data:`RESUMABLE_KEYS`).
    """

    def __init__(self, method: str, cfg: dict[str, Any], manifests: Sequence[str]) -> None:
        self.method, self.cfg = method, cfg
        self.manifest_sha256 = {str(m): file_sha256(m) for m in manifests}  # once per run
        self.batch_size = int(cfg["train"]["batch_size"])
        # of the config as resolved, before derived values (e.g. CQTDiff's sigma_data) fill in
        self.config_hash = training_hash(cfg)

    @property
    def run_config(self) -> dict[str, Any]:  # type: ignore[override]
        return self.cfg

    def weights_extra(self) -> dict[str, Any]:
        """Sidecar ``extra`` entries of the method (e.g. what restoration needs)."""
        return {}

    def save_weights(
        self, path: Path, weights: Mapping[str, torch.Tensor], run: LoopRun, final: bool = False
    ) -> Mapping[str, Any]:
        ema = final and self.cfg["train"]["ema"] is not None
        extra = {"step": run.step, "run_id": run.run_id, "weights": "ema" if ema else "raw",
                 **self.weights_extra()}  # fmt: skip
        return save_weights(path, weights, self.method, self.cfg, self.manifest_sha256, extra)


def train_baseline(
    make: Callable[[], BaselineTraining],
    cfg: Mapping[str, Any],
    out_dir: str | Path,
    *,
    name: str,
    threads: int | None = None,
    resume: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Train method ``name`` with :func:`a2sb.training.loop.train_loop`, the loop's settings read from
    ``cfg["train"]`` (:data:`LOOP_DEFAULTS`) and ``cfg["seed"]``; returns the run's summary."""
    t = cfg["train"]
    loop = LoopConfig(
        max_steps=int(t["steps"]),
        seed=int(cfg["seed"]),
        grad_clip=float(t["grad_clip"]),
        ema=None if t["ema"] is None else float(t["ema"]),
        checkpoint_every=int(t["checkpoint_every"]),
        keep_checkpoints=int(t["keep_checkpoints"]),
        log_every=int(t["log_every"]),
        max_wall_s=None if t["max_wall_s"] is None else float(t["max_wall_s"]),
        threads=threads,
        progress=progress,
        name=f"{name} train",
    )
    return train_loop(make, loop, out_dir, resume=resume)


class LearnedRestorer:
    """Base of the learned baselines' restorers (:class:`~baselines.interface.BaselineRestorer`):
    the trained network in eval mode on its device, the run's config, and the sampler's
    ``steps`` and ``seed``: the overrides given, else the config's ``sampler_section``.
    Subclasses read their own settings in :meth:`configure`."""

    name: str
    sampler_section = "sample"

    def __init__(
        self,
        net: torch.nn.Module,
        config: dict[str, Any],
        steps: int | None = None,
        seed: int | None = None,
    ) -> None:
        self.net, self.config = net.eval(), config
        self.device = next(net.parameters()).device
        section = config[self.sampler_section]
        self.steps = int(section["steps"] if steps is None else steps)
        self.seed = int(section["seed"] if seed is None else seed)
        if self.steps < 1:
            raise BaselineError(f"steps must be >= 1, got {self.steps}")
        self.configure()

    def configure(self) -> None:
        """The method's own restoration settings from ``self.config`` (end of ``__init__``)."""


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
        self.entries = read_entries(manifests, split)  # an InputError naming a bad manifest
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


def keep_band_below(
    generated: np.ndarray, known: np.ndarray, sample_rate: int, cutoff_hz: float
) -> np.ndarray:
    """``[L]`` float64: the rfft bins of ``known`` below ``cutoff_hz``, those of ``generated``
    at and above it (both ``[L]``, computed in float64)."""
    n = len(known)
    spec = np.fft.rfft(np.asarray(generated, dtype=np.float64)[:n], n=n)
    below = np.fft.rfftfreq(n, 1.0 / sample_rate) < cutoff_hz
    spec[below] = np.fft.rfft(np.asarray(known, dtype=np.float64))[below]
    return np.fft.irfft(spec, n=n)
