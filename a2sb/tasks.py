"""The two restoration tasks and their evaluation settings, spelled once.

:class:`Task` is what every command line, config and library call takes (``bandwidth-extension``,
``inpainting``; the snake_case spelling ``bandwidth_extension`` of folder names and CSV columns
is :attr:`Task.key`). :class:`Setting` is one column group of the paper's tables: a cutoff for
bandwidth extension (``4kHz``) or a gap length for inpainting (``300ms``), serialised by
:attr:`Setting.label` and read back by :meth:`Setting.parse` (SPEC 8).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .errors import InputError


class Task(StrEnum):
    """A restoration task; its value is the command-line spelling."""

    BANDWIDTH_EXTENSION = "bandwidth-extension"
    INPAINTING = "inpainting"

    @property
    def key(self) -> str:
        """The snake_case spelling of folder names, config keys and CSV columns."""
        return self.value.replace("-", "_")

    @classmethod
    def parse(cls, text: str) -> Task:
        """Either spelling (``bandwidth-extension`` or ``bandwidth_extension``) -> the task."""
        try:
            return cls(str(text).replace("_", "-"))
        except ValueError:
            known = ", ".join(t.value for t in cls)
            raise InputError(f"unknown task {text!r} (known: {known})") from None


_LABEL = re.compile(r"^(?P<value>[0-9]+(?:\.[0-9]+)?)(?P<unit>kHz|ms)$")


@dataclass(frozen=True)
class Setting:
    """One evaluation setting: ``cutoff_hz`` of a bandwidth extension or ``gap_ms`` of an
    inpainting (SPEC 8)."""

    task: Task
    value: float  # Hz for bandwidth extension, ms for inpainting

    @classmethod
    def cutoff(cls, hz: float) -> Setting:
        return cls(Task.BANDWIDTH_EXTENSION, float(hz))

    @classmethod
    def gap(cls, ms: float) -> Setting:
        return cls(Task.INPAINTING, float(ms))

    @property
    def cutoff_hz(self) -> float:
        if self.task is not Task.BANDWIDTH_EXTENSION:
            raise ValueError(f"{self.label} is not a bandwidth-extension setting")
        return self.value

    @property
    def label(self) -> str:
        """As the paper's tables write it: ``4kHz``, ``12kHz``, ``300ms``."""
        if self.task is Task.BANDWIDTH_EXTENSION:
            return f"{self.value / 1000:g}kHz"
        return f"{self.value:g}ms"

    @property
    def cli_args(self) -> list[str]:
        """The flags of ``python -m metrics degrade``: ``--cutoff-hz 4000`` / ``--gap-ms 300``."""
        if self.task is Task.BANDWIDTH_EXTENSION:
            return ["--cutoff-hz", f"{self.value:g}"]
        return ["--gap-ms", f"{self.value:g}"]

    @classmethod
    def parse(cls, label: str) -> Setting:
        """``"4kHz"`` -> cutoff 4000 Hz; ``"300ms"`` -> gap 300 ms."""
        found = _LABEL.match(label)
        if not found:
            raise InputError(f"setting {label!r}: expected a cutoff like 4kHz or a gap like 300ms")
        value = float(found["value"])
        return cls.cutoff(value * 1000) if found["unit"] == "kHz" else cls.gap(value)

    def __str__(self) -> str:
        return self.label


def parse_gaps(text: str) -> list[tuple[float, float]]:
    """``"2.0-2.3,7.5-8.0"`` -> ``[(2.0, 2.3), (7.5, 8.0)]`` (seconds; ``--gaps`` of the CLIs)."""
    gaps = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            start, end = (float(v) for v in part.split("-"))
        except ValueError:
            raise InputError(
                f"--gaps: cannot read {part!r}; expected START-END in seconds"
            ) from None
        gaps.append((start, end))
    return gaps
