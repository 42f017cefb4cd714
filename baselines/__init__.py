"""Baselines behind one small interface (:mod:`baselines.interface`).

- ``baselines.classical``: reference methods that need no training (spectral band replication,
  Burg AR inpainting, the degraded input itself).
- The paper's learned baselines, one subpackage each (:mod:`baselines.registry` lists every
  method of the benchmark with its tasks, table label and implementing package): ``cqtdiff`` (CQTDiff, retrained), ``maid`` (MAID, retrained), ``ibar`` (IBAR, retrained),
  ``audiosr`` (AudioSR, pretrained, run in its own environment), and ``vocoder``, the mel vocoder
  MAID and IBAR share.
- ``python -m baselines restore|train``: the command-line interface (:mod:`baselines.cli`).
"""
