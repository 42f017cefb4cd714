"""Training data: random crops from manifest files, with the degradation draws of SPEC 3.

Sample ``g`` (a global index: ``g = step * global_batch + j``) is a pure function of
``(seed, g)``: the file, the crop position, the mask, the fill noise, the bridge noise and t all
come from ``numpy.random.default_rng([seed, g])``. So the data stream does not depend on the
number of processes (a rank reads the indices :class:`RankSampler` gives it), and the data
position of a run is just its step: a resumed run continues the same stream.

Crops read only the slice they need (``SoundFile.seek`` + ``read``), are downmixed to mono,
resampled to the model rate by :func:`a2sb.io.audio.resample` (soxr "HQ"; with a margin of
source samples on both sides, trimmed after resampling), zero-padded at the end when the file
is shorter than a segment, and divided by their peak when it exceeds 1 (the crop's peak: a
whole file is never decoded for one crop).
A file that is missing, unreadable, truncated, empty or holds NaN/Inf is skipped: the item draws
another file from its own generator and reports ``(path, reason)``; it is never silently
replaced by anything else. Files whose true rate is below ``masks.min_true_sr`` are dropped when
the dataset is built (reason ``true_sr_below_floor``).
"""

from __future__ import annotations

import bisect
import csv
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import Dataset, Sampler

from ..errors import InputError
from ..io.audio import resample
from ..masks import MaskConfig, quality_mask, sample_training_mask
from ..representation import STFTConfig, num_channels

REQUIRED_COLUMNS = ("path",)
# Reasons a file is skipped (summary keys).
MISSING, UNREADABLE, TRUNCATED, EMPTY, NONFINITE = (
    "missing",
    "unreadable",
    "truncated",
    "empty",
    "nan_or_inf",
)
LOW_BANDWIDTH = "true_sr_below_floor"
MAX_CONSECUTIVE_FAILURES = 1000


@dataclass(frozen=True)
class AudioEntry:
    """One manifest row: the file and what the manifest knows about it."""

    path: str
    duration: float | None = None
    sample_rate: float | None = None
    true_sr: float | None = None  # estimated_true_sr
    dataset: str = ""

    def effective_true_sr(self) -> float | None:
        """The true rate bound: the estimate, capped by the file's sample rate when both are known."""
        known = [v for v in (self.true_sr, self.sample_rate) if v is not None]
        return min(known) if known else None


class BadAudio(Exception):
    """A file that cannot give a crop; ``reason`` is one of the module's reason strings."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _number(value: str | None) -> float | None:
    if value is None or not str(value).strip():
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number > 0 else None


def read_entries(
    manifests: Sequence[str | os.PathLike[str]], split: str | None
) -> list[AudioEntry]:
    """Rows of the CSV manifests whose ``split`` column equals ``split`` (all rows when ``split`` is
    None or the manifest has no split column). Paths are relative to the manifest's folder unless
    absolute; the optional columns ``duration, sample_rate, estimated_true_sr, dataset`` may be
    missing or empty. A manifest that is missing or lacks a ``path`` column is an ``InputError``."""
    entries: list[AudioEntry] = []
    for manifest in manifests:
        manifest = Path(manifest)
        try:
            with open(manifest, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f, skipinitialspace=True)
                fields = [name.strip() for name in reader.fieldnames or []]
                missing = [c for c in REQUIRED_COLUMNS if c not in fields]
                if missing:
                    raise InputError(f"{manifest}: manifest lacks the column(s) {missing}")
                for row in reader:
                    row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
                    if split is not None and "split" in row and row["split"] != split:
                        continue
                    if not row["path"]:
                        continue
                    path = Path(row["path"])
                    if not path.is_absolute():
                        path = manifest.parent / path
                    entries.append(
                        AudioEntry(
                            path=str(path),
                            duration=_number(row.get("duration")),
                            sample_rate=_number(row.get("sample_rate")),
                            true_sr=_number(row.get("estimated_true_sr")),
                            dataset=row.get("dataset", ""),
                        )
                    )
        except FileNotFoundError:
            raise InputError(f"{manifest}: manifest not found") from None
        except (OSError, UnicodeDecodeError, csv.Error) as err:
            raise InputError(f"{manifest}: unreadable manifest ({err})") from None
    return entries


def filter_bandwidth(
    entries: Sequence[AudioEntry], min_true_sr: float
) -> tuple[list[AudioEntry], list[tuple[str, str]]]:
    """Split off files whose true rate is below the floor (SPEC 3 footnote): ``(kept, skipped)``."""
    kept, skipped = [], []
    for entry in entries:
        rate = entry.effective_true_sr()
        if rate is not None and rate < min_true_sr:
            skipped.append((entry.path, LOW_BANDWIDTH))
        else:
            kept.append(entry)
    return kept, skipped


def resample_margin(rate: int) -> int:
    """Source samples read on each side of a crop so that soxr's edge transients are trimmed off."""
    return rate // 100 + 64


def read_crop(path: str, target_sr: int, n_samples: int, position: float) -> tuple[np.ndarray, int]:
    """A crop of ``n_samples`` at ``target_sr`` (mono float32 [n_samples]) and the file's rate.

    ``position`` in [0, 1) places the crop among the possible start frames. Reads only the needed
    slice. Raises :class:`BadAudio` for a file that cannot give a crop.
    """
    if not os.path.isfile(path):
        raise BadAudio(MISSING, path)
    try:
        with sf.SoundFile(path) as f:
            rate, frames = int(f.samplerate), int(f.frames)
            if frames <= 0:
                raise BadAudio(EMPTY, path)
            same = rate == target_sr
            need = n_samples if same else math.ceil(n_samples * rate / target_sr)
            margin = 0 if same else resample_margin(rate)
            start = min(int(position * (max(frames - need, 0) + 1)), max(frames - need, 0))
            lo, hi = max(0, start - margin), min(frames, start + need + margin)
            f.seek(lo)
            data = f.read(hi - lo, dtype="float32", always_2d=True)
    except BadAudio:
        raise
    except Exception as err:  # libsndfile raises LibsndfileError, RuntimeError, TypeError, ...
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise BadAudio(UNREADABLE, first) from None
    if data.shape[0] < hi - lo:
        raise BadAudio(TRUNCATED, f"read {data.shape[0]} of {hi - lo} frames at {lo}")
    mono = data.mean(axis=1, dtype=np.float64).astype(np.float32)
    if not np.all(np.isfinite(mono)):
        raise BadAudio(NONFINITE, path)
    if not same:
        resampled = resample(mono, rate, target_sr)
        offset = round((start - lo) * target_sr / rate)
        mono = resampled[offset : offset + n_samples].astype(np.float32)
    if mono.shape[0] < n_samples:  # a file shorter than a segment: zero-pad at the end
        mono = np.pad(mono, (0, n_samples - mono.shape[0]))
    peak = float(np.abs(mono).max())
    if peak > 1.0:
        mono = mono / peak
    return np.ascontiguousarray(mono, dtype=np.float32), rate


def random_rolloff(wave: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """``wave`` [L] darkened above a random corner: gain ``(f / f0) ** -a`` for ``f > f0``.

    ``f0 ~ U(1, 16) kHz`` (log-uniform) and ``a ~ U(0.5, 5)`` (3-30 dB per octave), applied
    through a real FFT of the crop. Training data augmentation of the default CPU profile (not
    in the paper): the offline corpus is brighter than its orchestral and piano test sets, and
    a crop with a random roll-off makes the model read the high-band level off the known band
    instead of generating the corpus's average level.
    """
    f0 = float(np.exp(rng.uniform(np.log(1000.0), np.log(16000.0))))
    a = float(rng.uniform(0.5, 5.0))
    spec = np.fft.rfft(wave.astype(np.float64))
    freqs = np.fft.rfftfreq(wave.shape[-1], 1.0 / sample_rate)
    gain = np.where(freqs > f0, (np.maximum(freqs, f0) / f0) ** -a, 1.0)
    return np.fft.irfft(spec * gain, n=wave.shape[-1]).astype(np.float32)


def sample_seed(seed: int, index: int, stream: int = 0) -> list[int]:
    """Entropy of the generator of sample ``index`` (stream 0: training, 1: validation)."""
    return [int(seed), int(stream), int(index)]


class CropDataset(Dataset):
    """Map-style dataset over global sample indices ``g``; item ``g`` is a dict::

    wave  [L] float32        the crop at the model rate, L = stft.segment_samples
    mask  [N, W] float32     degradation mask M (1 = missing), SPEC 3
    keep  [N, W] float32     quality mask (1 = inside the file's true bandwidth)
    t     [] float32         bridge time, U[lo, hi] clamped to >= t_eps
    fill  [C, N, W] float32  N(0, 1) noise of the masked region (eq. 8)
    z     [C, N, W] float32  N(0, 1) noise of the bridge marginal (eq. 9)
    skipped list[(path, reason)] files that failed while drawing this item
    """

    def __init__(
        self,
        entries: Sequence[AudioEntry],
        stft: STFTConfig,
        masks: MaskConfig,
        kind: str,
        t_range: tuple[float, float],
        t_eps: float = 1e-4,
        seed: int = 0,
        stream: int = 0,
        augment_rolloff: float = 0.0,
    ) -> None:
        if not entries:
            raise InputError("no usable audio files in the training manifests")
        self.entries = list(entries)
        self.stft, self.masks, self.kind = stft, masks, kind
        self.t_range, self.t_eps, self.seed, self.stream = t_range, t_eps, seed, stream
        self.augment_rolloff = augment_rolloff
        weights = [e.duration for e in self.entries]
        if all(w is not None for w in weights):  # every second of audio equally likely
            self.cumulative: list[float] | None = np.cumsum(
                np.asarray(weights, dtype=np.float64)
            ).tolist()
        else:
            self.cumulative = None
        self.bad: dict[int, str] = {}  # per process: files known to fail (they always fail again)

    def __len__(self) -> int:  # the stream is unbounded; samplers say which indices to read
        return 2**62

    def _pick(self, rng: np.random.Generator) -> int:
        u = float(rng.random())
        if self.cumulative is None:
            return min(int(u * len(self.entries)), len(self.entries) - 1)
        u *= self.cumulative[-1]
        return min(bisect.bisect_right(self.cumulative, u), len(self.entries) - 1)

    def crop(
        self, rng: np.random.Generator
    ) -> tuple[np.ndarray, AudioEntry, int, list[tuple[str, str]]]:
        """Draw files until one gives a crop: ``(wave [L], entry, file rate, skipped)``."""
        skipped: list[tuple[str, str]] = []
        last = ""
        for _ in range(MAX_CONSECUTIVE_FAILURES):
            # Two draws per attempt whatever its outcome, so the stream does not depend on which
            # files a process already knows to be bad.
            i = self._pick(rng)
            position = float(rng.random())
            entry = self.entries[i]
            if i in self.bad:  # same outcome as reading it again, without the I/O
                skipped.append((entry.path, self.bad[i]))
                if len(self.bad) == len(self.entries):
                    break
                continue
            try:
                wave, rate = read_crop(
                    entry.path, self.stft.sample_rate, self.stft.segment_samples, position
                )
            except BadAudio as err:
                self.bad[i] = err.reason
                skipped.append((entry.path, err.reason))
                last = f"{entry.path} ({err})"
                continue
            return wave, entry, rate, skipped
        raise InputError(
            f"no readable audio file in the manifests: {len(skipped)} draws failed"
            + (f"; last: {last}" if last else "")
        )

    def __getitem__(self, index: int) -> dict[str, Any]:
        rng = np.random.default_rng(sample_seed(self.seed, index, self.stream))
        wave, entry, rate, skipped = self.crop(rng)
        if self.augment_rolloff > 0:  # its own generator: the other draws stay as without it
            aug = np.random.default_rng([*sample_seed(self.seed, index, self.stream), 7])
            if aug.random() < self.augment_rolloff:
                wave = random_rolloff(wave, self.stft.sample_rate, aug)
        cfg, n_frames = self.stft, self.stft.segment_frames
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
        mask, _ = sample_training_mask(cfg, self.masks, n_frames, gen)
        if self.masks.apply_quality_mask:
            true_sr = entry.effective_true_sr()
            true_sr = min(true_sr, rate) if true_sr is not None else rate
            keep = quality_mask(cfg, n_frames, true_sr)
        else:
            keep = torch.ones(cfg.n_rows, n_frames)
        lo, hi = self.t_range
        t = max(
            lo + (hi - lo) * float(torch.rand((), generator=gen, dtype=torch.float64)), self.t_eps
        )
        shape = (num_channels(self.kind), cfg.n_rows, n_frames)
        return {
            "wave": torch.from_numpy(wave),
            "mask": mask,
            "keep": keep,
            "t": torch.tensor(t, dtype=torch.float32),
            "fill": torch.randn(shape, generator=gen),
            "z": torch.randn(shape, generator=gen),
            "skipped": skipped,
        }


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack the tensors of a micro-batch; concatenate the skip reports."""
    batch = {k: torch.stack([it[k] for it in items]) for k in items[0] if k != "skipped"}
    batch["skipped"] = [s for it in items for s in it["skipped"]]
    return batch


class RankSampler(Sampler[int]):
    """Global sample indices of one rank, in the order the training loop consumes them.

    Step ``s``, micro-step ``k`` (of ``accum``), item ``b`` (of ``micro``) of rank ``r`` reads
    ``g = s * G + (k * world + r) * micro + b`` with ``G = world * accum * micro``: every step
    consumes exactly the indices ``[s G, (s + 1) G)``, whatever the world size.
    """

    def __init__(
        self, start_step: int, end_step: int, micro: int, accum: int, rank: int, world: int
    ):
        self.start, self.end = start_step, end_step
        self.micro, self.accum, self.rank, self.world = micro, accum, rank, world

    def __len__(self) -> int:
        return max(0, self.end - self.start) * self.accum * self.micro

    def __iter__(self) -> Iterator[int]:
        g_batch = self.world * self.accum * self.micro
        for step in range(self.start, self.end):
            for k in range(self.accum):
                base = step * g_batch + (k * self.world + self.rank) * self.micro
                yield from range(base, base + self.micro)


def fixed_segments(
    entries: Sequence[AudioEntry], stft: STFTConfig, count: int, seed: int = 1234
) -> tuple[list[np.ndarray], list[tuple[str, str]]]:
    """``count`` held-out crops [L] drawn with a fixed seed (validation), and the skip reports."""
    if not entries or count == 0:
        return [], []
    ds = CropDataset(entries, stft, MaskConfig(), "factorized", (0.0, 1.0), seed=seed, stream=1)
    waves, skipped = [], []
    for i in range(count):
        rng = np.random.default_rng(sample_seed(seed, i, stream=1))
        wave, _, _, bad = ds.crop(rng)
        waves.append(wave)
        skipped.extend(bad)
    return waves, skipped
