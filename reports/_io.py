"""Atomic writes and the provenance caption shared by every table and figure builder."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _readable(tmp: str) -> None:
    """Give a ``mkstemp`` file (0600) the permissions of an ordinary new file (0666 & ~umask)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        _readable(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def save_figure(fig: Any, stem: str | Path, formats: tuple[str, ...] = ("png", "pdf")) -> None:
    """Save a matplotlib figure as ``stem.png`` and ``stem.pdf``, each atomically."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    for ext in formats:
        final = stem.with_name(f"{stem.name}.{ext}")
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f".{ext}", dir=final.parent)
        os.close(fd)
        try:
            fig.savefig(tmp, format=ext, dpi=150, bbox_inches="tight")
            _readable(tmp)
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


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
    return (
        f"commit {commit}; config sha256 {p.get('config_sha256', '?')[:12]}; "
        f"{len(p.get('manifests', {}))} manifests (sha256 in {Path(path).name}); "
        f"checkpoints {ckpts or 'none'}; seeds {seeds or 'none'}"
    )
