"""Data side of the A2SB reproduction: registry, downloads, licences, manifests, offline corpus.

Modules (import what you need; nothing heavy is imported here):

- :mod:`a2sb.data.registry`: the dataset registry (``registry.yaml``) and its loader.
- :mod:`a2sb.data.download`: verified, resumable HTTP(S) downloads; ``fetch_dataset``.
- :mod:`a2sb.data.extract`: safe zip/tar extraction (no traversal, link escapes, devices, bombs).
- :mod:`a2sb.data.licences`: licence-string classifier (``classify``).
- :mod:`a2sb.data.filtering`: per-dataset licence filtering and the licence report.
- :mod:`a2sb.data.manifest`: manifest CSVs (``read_manifest``, ``write_manifest``).
- :mod:`a2sb.data.bandwidth`: ``estimate_true_sr`` from the long-term average spectrum.
- :mod:`a2sb.data.corpus`: the offline corpus (music21 scores rendered by our synthesizer).
- :mod:`a2sb.data.replica`: miniature replicas of every registry dataset (``build_replicas``).
- :mod:`a2sb.data.mirror`: a local HTTP mirror with Range support (tests, replicas, mirrors).
- :mod:`a2sb.data.cli`: ``a2sb data ...`` sub-commands (``register_cli``).
"""

from __future__ import annotations

__all__ = [
    "bandwidth",
    "cli",
    "corpus",
    "download",
    "extract",
    "filtering",
    "licences",
    "manifest",
    "mirror",
    "registry",
    "replica",
]
