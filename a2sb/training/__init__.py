"""Training of A2SB models (SPEC 3, 4, 6): pre-training, t-partition fine-tuning, data parallel.

Modules: :mod:`.config` (``TrainConfig``, YAML/JSON), :mod:`.dataset` (manifest crops and the
degradation draws), :mod:`.trainer` (the loop, ``train``), :mod:`.distributed` (torchrun
environment), :mod:`.state` (resumable checkpoints), :mod:`.validation` (LSD on held-out
segments), :mod:`.cli` (``a2sb train``, ``a2sb bundle``). Nothing heavy is imported here.
"""

from __future__ import annotations

__all__ = ["cli", "config", "dataset", "distributed", "state", "trainer", "validation"]
