"""Provenance of a pipeline run as one JSON that every table and figure caption cites.

``python -m reports.provenance --config resolved.json --manifests M... --checkpoints C... --out P``
records: git commit and dirty flag (tracked files only), sha256 of the resolved config, of each
data manifest and of each checkpoint (a partition bundle lists its partitions' files), the seeds
found in the config, Python and package versions, and the platform.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from ._io import write_json

PACKAGES = ("a2sb-repro", "torch", "numpy", "scipy", "soundfile", "soxr", "safetensors",
            "snakemake", "pandas", "matplotlib", "visqol-python", "mir_eval", "basic-pitch")  # fmt: skip


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def git_state(cwd: str | Path = ".") -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` (untracked files do not count)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                                text=True, check=True).stdout.strip()  # fmt: skip
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                                capture_output=True, text=True, check=True).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def checkpoint_hashes(paths: Sequence[str | Path], partitions: bool = True) -> dict[str, str]:
    """sha256 per checkpoint file; a bundle ``.json`` also lists its partitions' files."""
    out: dict[str, str] = {}
    for path in map(Path, paths):
        out[str(path)] = sha256_file(path)
        if partitions and path.suffix == ".json":
            bundle = json.loads(path.read_text(encoding="utf-8"))
            for part in bundle.get("partitions", []):
                file = Path(part.get("checkpoint", ""))
                file = file if file.is_absolute() else path.parent / file
                if file.is_file():
                    out[str(file)] = part.get("sha256") or sha256_file(file)
    return out


def find_seeds(cfg: Any, prefix: str = "") -> dict[str, int]:
    """Every key named ``seed`` in the config, by dotted path."""
    seeds: dict[str, int] = {}
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            name = f"{prefix}.{key}" if prefix else key
            if key == "seed" and isinstance(value, int):
                seeds[name] = value
            else:
                seeds.update(find_seeds(value, name))
    return seeds


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def build(config: Path, manifests: Sequence[Path], checkpoints: Sequence[Path]) -> dict[str, Any]:
    cfg = json.loads(config.read_text(encoding="utf-8"))
    canonical = json.dumps(cfg, sort_keys=True, separators=(",", ":"))
    return {
        "profile": cfg.get("profile"),
        "git": git_state(),
        "config_sha256": hashlib.sha256(canonical.encode()).hexdigest(),
        "config_file": str(config),
        "manifests": {str(m): sha256_file(m) for m in manifests},
        "checkpoints": checkpoint_hashes(checkpoints, partitions=False),
        "partitions": checkpoint_hashes(checkpoints),
        "seeds": find_seeds(cfg),
        "versions": versions(),
        "platform": {
            "system": platform.platform(),
            "machine": platform.machine(),
            "processor": platform.processor(),
        },  # fmt: skip
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reports.provenance", description=__doc__)
    p.add_argument("--config", type=Path, required=True, help="resolved config JSON")
    p.add_argument("--manifests", type=Path, nargs="*", default=[])
    p.add_argument("--checkpoints", type=Path, nargs="*", default=[])
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    try:
        write_json(args.out, build(args.config, args.manifests, args.checkpoints))
    except (OSError, ValueError) as exc:
        print(f"provenance: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
