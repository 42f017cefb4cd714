"""The one interface every baseline implements (STYLE: ``restore(audio, sample_rate, degradation)``).

Audio is float ``[L]`` (mono) or ``[C, L]`` (channels first, as in ``a2sb``); a restorer returns
an array of the same shape and sample rate. The :class:`Degradation` names what is missing: the
band above ``cutoff_hz`` (bandwidth extension) or the sample ranges ``gaps_s`` (inpainting).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from a2sb.errors import InputError
from a2sb.tasks import Task


class BaselineError(InputError, ValueError):
    """A one-line, user-fixable problem with a baseline's input (an :class:`InputError`)."""


@dataclass(frozen=True)
class Degradation:
    """What is missing from the input: ``task`` plus ``cutoff_hz`` or ``gaps_s`` (seconds)."""

    task: Task
    cutoff_hz: float | None = None
    gaps_s: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "task", Task.parse(self.task))
        except InputError as exc:
            raise BaselineError(str(exc)) from None
        if self.task is Task.BANDWIDTH_EXTENSION:
            if self.cutoff_hz is None or not self.cutoff_hz > 0:  # NaN fails too
                raise BaselineError(
                    f"bandwidth extension needs a positive cutoff_hz, got {self.cutoff_hz}"
                )
        else:
            gaps = tuple((float(a), float(b)) for a, b in self.gaps_s)
            for a, b in gaps:
                if not 0 <= a < b:
                    raise BaselineError(f"gap {a}-{b} s: need 0 <= start < end")
            object.__setattr__(self, "gaps_s", tuple(sorted(gaps)))

    def check(self, audio: np.ndarray, sample_rate: int) -> None:
        """Raise :class:`BaselineError` if the degradation does not fit this signal."""
        if audio.ndim not in (1, 2) or audio.shape[-1] == 0:
            raise BaselineError(
                f"expected non-empty audio of shape [L] or [C, L], got {audio.shape}"
            )
        if not np.all(np.isfinite(audio)):
            raise BaselineError("audio holds NaN or Inf samples")
        if self.task is Task.BANDWIDTH_EXTENSION:
            if self.cutoff_hz >= sample_rate / 2:  # type: ignore[operator]
                raise BaselineError(
                    f"cutoff {self.cutoff_hz:g} Hz is at or above Nyquist ({sample_rate / 2:g} Hz)"
                )
        else:
            duration = audio.shape[-1] / sample_rate
            for a, b in self.gaps_s:
                if b > duration + 1e-9:
                    raise BaselineError(f"gap {a:g}-{b:g} s ends after the file ({duration:.3f} s)")

    def gap_samples(self, sample_rate: int) -> list[tuple[int, int]]:
        """Gaps as sample ranges ``[start, end)``, rounded as ``metrics`` zeroes them."""
        return [(round(a * sample_rate), round(b * sample_rate)) for a, b in self.gaps_s]

    @classmethod
    def for_file(
        cls,
        task: Task | str,
        source: str | Path,
        cutoff_hz: float | None = None,
        gaps_s: tuple[tuple[float, float], ...] = (),
    ) -> Degradation:
        """The degradation of input ``source``: bandwidth extension above ``cutoff_hz``;
        inpainting of ``gaps_s``, or else of the gaps in the ``X.gaps.json`` beside it."""
        task = Task.parse(task)
        if task is Task.BANDWIDTH_EXTENSION:
            if cutoff_hz is None:
                raise BaselineError("--task bandwidth-extension needs --cutoff-hz")
            return cls(task, cutoff_hz=cutoff_hz)
        if gaps_s:
            return cls(task, gaps_s=tuple(gaps_s))
        sidecar = Path(source).with_suffix(".gaps.json")
        if not sidecar.is_file():
            raise BaselineError(f"{source}: no gaps given and no {sidecar.name} beside it")
        return cls.from_gaps_json(sidecar)

    @classmethod
    def from_gaps_json(cls, path: str | Path) -> Degradation:
        """Read the ``X.gaps.json`` that ``python -m metrics degrade`` writes beside ``X``."""
        try:
            info = json.loads(Path(path).read_text(encoding="utf-8"))
            gaps = tuple((float(a), float(b)) for a, b in info["gaps_s"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BaselineError(f"{path}: cannot read the gap list ({exc})") from None
        return cls(Task.INPAINTING, gaps_s=gaps)


@runtime_checkable
class BaselineRestorer(Protocol):
    """A baseline: ``restore(audio [L] or [C, L], sample_rate, degradation) -> same shape``."""

    name: str

    def restore(
        self, audio: np.ndarray, sample_rate: int, degradation: Degradation
    ) -> np.ndarray: ...


def per_channel(audio: np.ndarray, fn) -> np.ndarray:  # noqa: ANN001
    """Apply ``fn([L]) -> [L]`` to each channel of ``[L]`` or ``[C, L]`` audio."""
    if audio.ndim == 1:
        return fn(audio)
    return np.stack([fn(channel) for channel in audio])
