"""Baselines behind one small interface (:mod:`baselines.interface`).

``baselines.classical`` holds the reference methods that need no training (spectral band
replication, Burg AR inpainting, the degraded input itself). The paper's learned baselines
(CQTDiff, MAID, IBAR, AudioSR) are not built yet; each will be a subpackage of its own.
"""
