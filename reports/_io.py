"""Figures saved atomically and the provenance caption shared by every table and figure builder
(text and JSON go through :mod:`a2sb.io.atomic`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from a2sb.io.atomic import atomic_write


def save_figure(fig: Any, stem: str | Path, formats: tuple[str, ...] = ("png", "pdf")) -> None:
    """Save a matplotlib figure as ``stem.png`` and ``stem.pdf``, each atomically."""
    stem = Path(stem)
    for ext in formats:
        atomic_write(
            stem.with_name(f"{stem.name}.{ext}"),
            lambda tmp, ext=ext: fig.savefig(tmp, format=ext, dpi=150, bbox_inches="tight"),
        )


def provenance_caption(path: str | Path | None) -> str:
    """One line naming commit, dirty flag, config hash, manifests, checkpoints and seeds."""
    if not path:
        return "provenance: not recorded"
    p = json.loads(Path(path).read_text(encoding="utf-8"))
    git = p.get("git", {})
    commit = (git.get("commit") or "unknown")[:10] + (" (dirty)" if git.get("dirty") else "")
    ckpts = ", ".join(
        f"{'/'.join(Path(k).parts[-2:])}={v[:10]}"  # e.g. pretrain/final.safetensors
        for k, v in sorted(p.get("checkpoints", {}).items())
    )
    seeds = ", ".join(f"{k}={v}" for k, v in sorted(p.get("seeds", {}).items()))
    registry = "".join(
        f"data registry {Path(k).name} sha256 {v[:12]}; "
        for k, v in p.get("data_registry", {}).items()
    )
    return (
        f"commit {commit}; config sha256 {p.get('config_sha256', '?')[:12]}; {registry}"
        f"{len(p.get('manifests', {}))} manifests (sha256 in {Path(path).name}); "
        f"checkpoints {ckpts or 'none'}; seeds {seeds or 'none'}"
    )
