"""Every method of the benchmark in one table: the reference rows, the baselines and A2SB.

The Snakefile (which methods run for which task), the command-line interfaces (``--method``
choices, which module restores or trains) and the table builders (row order, labels, the
paper's name of each row) all read :data:`METHODS`; nothing else spells a method's name, tasks
or label. Importing this module loads no torch: a method's implementation is imported only by
:meth:`Method.module_object` and :func:`load_restorer`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import ModuleType

from a2sb.tasks import Task

from .interface import BaselineError, BaselineRestorer


class Kind(StrEnum):
    REFERENCE = "reference"  # the degraded input itself
    CLASSICAL = "classical"  # signal processing, no training (ours)
    LEARNED = "learned"  # a baseline the pipeline trains
    PRETRAINED = "pretrained"  # a published model used as is (its weights given by the user)
    COMPONENT = "component"  # trained and shared by other methods, restores nothing itself
    A2SB = "a2sb"  # the model of the paper (a partition bundle, restored by a2sb.restore)
    # what the A2SB rows' sampler starts from (X1 of eq. 8: known region plus the fill prior),
    # decoded with no network (a2sb.restoration.starting_point); the network's share is the gap
    A2SB_START = "a2sb-start"


BOTH = (Task.BANDWIDTH_EXTENSION, Task.INPAINTING)
BWE, INPAINTING = (Task.BANDWIDTH_EXTENSION,), (Task.INPAINTING,)


@dataclass(frozen=True)
class Method:
    """One row of the benchmark (or a component of one)."""

    name: str  # the id in paths, CSVs and --method
    kind: Kind
    tasks: tuple[Task, ...]
    label: str  # the row label in our tables
    paper: str | None = None  # the paper's name of the row, when the paper reports it
    module: str | None = None  # the package that implements it
    needs_vocoder: bool = False  # restores through the shared mel vocoder
    partitions: int | None = None  # A2SB: t-range partitions of its bundle
    # A2SB stereo candidates (issue 20): the row whose model they use, and the stereo mode they
    # restore 2-channel input with (None: a2sb.stereo's default)
    model_of: str | None = None
    stereo_mode: str | None = None

    def does(self, task: Task | str) -> bool:
        return Task.parse(task) in self.tasks

    @property
    def from_a2sb_checkpoint(self) -> bool:
        """Restored from an A2SB checkpoint (by :mod:`a2sb.restoration`), not a baseline restorer."""
        return self.kind in (Kind.A2SB, Kind.A2SB_START)

    @property
    def trained(self) -> bool:
        """Trained by the pipeline (``python -m baselines train``)."""
        return self.kind in (Kind.LEARNED, Kind.COMPONENT)

    def module_object(self) -> ModuleType:
        """The implementing package (imported now)."""
        if self.module is None:
            raise BaselineError(f"method {self.name!r} has no baselines package")
        try:
            return importlib.import_module(self.module)
        except ModuleNotFoundError as exc:
            if exc.name and self.module.startswith(exc.name):
                raise BaselineError(f"method {self.name!r} is not built in this checkout") from None
            raise


#: Every method, in the tables' row order.
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("degraded", Kind.REFERENCE, BOTH, "Degraded input (ours)", module="baselines.classical"),
        Method("sbr", Kind.CLASSICAL, BWE, "SBR, classical (ours)", module="baselines.classical"),
        Method("burg", Kind.CLASSICAL, INPAINTING, "Burg AR, classical (ours)", module="baselines.classical"),
        Method("audiosr", Kind.PRETRAINED, BWE, "AudioSR", "AudioSR", module="baselines.audiosr"),
        Method("maid", Kind.LEARNED, INPAINTING, "MAID", "MAID", module="baselines.maid", needs_vocoder=True),
        Method("cqtdiff", Kind.LEARNED, BOTH, "CQTDiff", "CQTDiff", module="baselines.cqtdiff"),
        Method("ibar", Kind.LEARNED, BOTH, "IBAR", "IBAR", module="baselines.ibar", needs_vocoder=True),
        Method("a2sb_start", Kind.A2SB_START, BOTH, "A2SB starting point (no network)"),
        Method("a2sb_p1", Kind.A2SB, BOTH, "A2SB (no partitioning)", "A2SB (no partitioning)", partitions=1),
        Method("a2sb_p2", Kind.A2SB, BOTH, "A2SB (2-partitioning)", "A2SB (2-partitioning)", partitions=2),
        Method("a2sb_p4", Kind.A2SB, BOTH, "A2SB (4-partitioning)", "A2SB (4-partitioning)", partitions=4),
        Method("a2sb_maestro", Kind.A2SB, BOTH, "A2SB, Maestro fine-tune (research use)"),
        # the stereo modes the default (a2sb.stereo.DEFAULT_STEREO_MODE) is chosen against,
        # restored with the no-partition model on the stereo set only
        Method("a2sb_p1_independent", Kind.A2SB, BOTH, "A2SB (no partitioning), independent channels", model_of="a2sb_p1", stereo_mode="independent"),
        Method("a2sb_p1_shared_noise", Kind.A2SB, BOTH, "A2SB (no partitioning), shared noise", model_of="a2sb_p1", stereo_mode="shared-noise"),
        Method("a2sb_p1_mid_side", Kind.A2SB, BOTH, "A2SB (no partitioning), mid/side", model_of="a2sb_p1", stereo_mode="mid-side"),
        Method("a2sb_p1_mid_side_shared", Kind.A2SB, BOTH, "A2SB (no partitioning), mid/side, shared noise", model_of="a2sb_p1", stereo_mode="mid-side-shared"),
        Method("a2sb_p1_matched_coherence", Kind.A2SB, BOTH, "A2SB (no partitioning), noise matched to the band coherence", model_of="a2sb_p1", stereo_mode="matched-coherence"),
        # the representation ablation of Figures 4-5: pre-trained models, no partitioning
        Method("a2sb_pretrain", Kind.A2SB, BWE, "A2SB pre-trained, 3 channels [|S|^0.25, cos, sin]"),
        Method("a2sb_ablation_2ch", Kind.A2SB, BWE, "A2SB pre-trained, 2 channels [Re S, Im S]"),
        Method("vocoder", Kind.COMPONENT, (), "mel vocoder", module="baselines.vocoder"),
    )
}  # fmt: skip


def method(name: str) -> Method:
    """The method called ``name``; a :class:`BaselineError` listing the known ones otherwise."""
    try:
        return METHODS[name]
    except KeyError:
        raise BaselineError(f"unknown method {name!r} (known: {', '.join(METHODS)})") from None


def names(*kinds: Kind) -> list[str]:
    """Names of the methods of the given kinds (all when none given), in row order."""
    return [m.name for m in METHODS.values() if not kinds or m.kind in kinds]


def stereo_candidates() -> list[Method]:
    """The A2SB stereo-mode rows (issue 20), in row order."""
    return [m for m in METHODS.values() if m.stereo_mode is not None]


def a2sb_method(partitions: int) -> Method:
    """The A2SB row of a ``partitions``-way t-range partitioning (1, 2 or 4)."""
    for m in METHODS.values():
        if m.kind is Kind.A2SB and m.partitions == partitions:
            return m
    raise BaselineError(f"no A2SB row with {partitions} partitions")


def load_restorer(
    name: str,
    task: Task | str,
    checkpoint: str | Path | None = None,
    *,
    steps: int | None = None,
    seed: int | None = None,
    vocoder: str | Path | None = None,
    weights: str | Path | None = None,
) -> BaselineRestorer:
    """A ready restorer of baseline ``name`` for ``task``: a classical one, or a learned or
    pretrained one from ``checkpoint``. The sampling overrides of the command line (``steps``,
    ``seed``, the ``vocoder`` of the mel methods, AudioSR's ``weights``) replace the method's
    configured values when given."""
    m = method(name)
    if m.from_a2sb_checkpoint or m.kind is Kind.COMPONENT:
        raise BaselineError(f"method {name!r} is not a baseline restorer")
    if not m.does(task):
        raise BaselineError(f"method {name!r} does not do {Task.parse(task)}")
    module = m.module_object()
    if m.kind in (Kind.REFERENCE, Kind.CLASSICAL):
        return module.METHODS[name]()
    if checkpoint is None and m.kind is Kind.LEARNED:
        raise BaselineError(f"method {name!r} needs --checkpoint")
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and not path.is_file():
        raise BaselineError(f"{path}: checkpoint not found")
    given = {"steps": steps, "seed": seed, "vocoder": vocoder, "weights": weights}
    return module.load(path, {k: v for k, v in given.items() if v is not None})
