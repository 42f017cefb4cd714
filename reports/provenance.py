"""Provenance of a pipeline run as one JSON that every table and figure caption cites.

``python -m reports.provenance --config resolved.json --manifests M... --checkpoints C... --out P``
records: git commit and dirty flag (tracked files only), sha256 of the resolved config, of each
data manifest and of each checkpoint (a partition bundle lists its partitions' files), the seeds
found in the config, Python and package versions, and the platform.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from a2sb.io.atomic import write_json
from a2sb.io.provenance import config_hash, file_sha256, git_state, package_versions

PACKAGES = ("a2sb-repro", "torch", "numpy", "scipy", "soundfile", "soxr", "safetensors",
            "snakemake", "pandas", "matplotlib", "visqol-python", "mir_eval", "basic-pitch")  # fmt: skip


def checkpoint_hashes(paths: Sequence[str | Path], partitions: bool = True) -> dict[str, str]:
    """sha256 per checkpoint file; a bundle ``.json`` also lists its partitions' files."""
    out: dict[str, str] = {}
    for path in map(Path, paths):
        out[str(path)] = file_sha256(path)
        if partitions and path.suffix == ".json":
            bundle = json.loads(path.read_text(encoding="utf-8"))
            for part in bundle.get("partitions", []):
                file = Path(part.get("checkpoint", ""))
                file = file if file.is_absolute() else path.parent / file
                if file.is_file():
                    out[str(file)] = part.get("sha256") or file_sha256(file)
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
    return {"python": platform.python_version(), **package_versions(PACKAGES)}


def build(
    config: Path,
    manifests: Sequence[Path],
    checkpoints: Sequence[Path],
    data_registry: Path | None = None,
) -> dict[str, Any]:
    cfg = json.loads(config.read_text(encoding="utf-8"))
    registry = {str(data_registry): file_sha256(data_registry)} if data_registry else {}
    return {
        "data_registry": registry,
        "profile": cfg.get("profile"),
        "git": git_state(Path.cwd())._asdict(),
        "config_sha256": config_hash(cfg),
        "config_file": str(config),
        "manifests": {str(m): file_sha256(m) for m in manifests},
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
    p.add_argument("--data-registry", type=Path, help="the dataset registry YAML downloaded from")
    p.add_argument("--checkpoints", type=Path, nargs="*", default=[])
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    try:
        write_json(
            args.out,
            build(args.config, args.manifests, args.checkpoints, args.data_registry),
            sort_keys=True,
        )
    except (OSError, ValueError) as exc:
        print(f"provenance: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
