"""Baselines behind one small interface (:mod:`baselines.interface`).

- ``baselines.classical``: reference methods that need no training (spectral band replication,
  Burg AR inpainting, the degraded input itself).
- The paper's learned baselines, one subpackage each (:mod:`baselines.learned` finds them by
  name): ``cqtdiff`` (CQTDiff, retrained), ``maid`` (MAID, retrained), ``ibar`` (IBAR, retrained),
  ``audiosr`` (AudioSR, pretrained, run in its own environment), and ``vocoder``, the mel vocoder
  MAID and IBAR share.
- ``python -m baselines restore|train``: the command-line interface (:mod:`baselines.cli`).
"""
