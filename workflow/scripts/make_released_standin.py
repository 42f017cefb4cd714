"""Stand-in checkpoints in the layout of NVIDIA's released A2SB checkpoints, from our own model.

::

    make_released_standin.py --bundle results/default/models/a2sb_p2.json \
        --out-dir results/default/released/standin/twosplit

Reads a partition bundle of this pipeline (1 or 2 t-range partitions, every file checked against
the sha256 of the bundle and of its sidecar) and writes, per partition, a Lightning-style
``.ckpt`` named as the release (``A2SB_onesplit_0.0_1.0_release.ckpt``,
``A2SB_twosplit_0.0_0.5_release.ckpt``, ``A2SB_twosplit_0.5_1.0_release.ckpt``): a
``torch.save``'d dict ``{"state_dict": {"vf_model.<name>": weight, "t_to_emb.multipliers": ...},
"epoch", "global_step", "pytorch-lightning_version", "hyper_parameters"}`` of plain containers
only, so ``torch.load(weights_only=True)`` reads it. Beside them: ``stft_config.json`` (the
source's STFT, for ``a2sb convert-checkpoint --stft-config``) and ``source.json`` (the bundle, its
partitions and every sha256). The folder is written atomically (:func:`a2sb.io.atomic.atomic_dir`).

These are NOT NVIDIA's weights: they let the audit of the released checkpoints (convert, bundle,
restore with the official protocol, evaluate, table) run end to end without them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from a2sb.checkpoint import BUNDLE_FORMAT, CHECKPOINT_FORMAT, read_sidecar
from a2sb.convert import OFFICIAL_PREFIX, t_range_from_name
from a2sb.errors import CheckpointError
from a2sb.io.atomic import atomic_dir, write_json
from a2sb.io.provenance import file_sha256

#: partitions -> the word of the release's file names
SPLITS = {1: "onesplit", 2: "twosplit"}
LIGHTNING_VERSION = "2.3.3"


def release_name(partitions: int, t_range: tuple[float, float]) -> str:
    """``(2, (0.5, 1.0)) -> A2SB_twosplit_0.5_1.0_release.ckpt``."""
    if partitions not in SPLITS:
        raise CheckpointError(f"the release has 1- and 2-partition models, not {partitions}")
    lo, hi = t_range
    name = f"A2SB_{SPLITS[partitions]}_{lo:.1f}_{hi:.1f}_release.ckpt"
    if t_range_from_name(name) != (lo, hi):
        raise CheckpointError(f"t-range {list(t_range)} cannot be written in a release name")
    return name


def bundle_partitions(path: Path) -> list[tuple[Path, tuple[float, float], str]]:
    """``(checkpoint, t_range, sha256)`` of a bundle or single checkpoint, sha256s verified."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: unreadable bundle ({err})") from None
    fmt = data.get("format") if isinstance(data, dict) else None
    if fmt == CHECKPOINT_FORMAT:
        entries = [{"checkpoint": data["weights"], "t_range": data["t_range"]}]
    elif fmt == BUNDLE_FORMAT:
        entries = data.get("partitions") or []
    else:
        raise CheckpointError(f"{path}: neither an {BUNDLE_FORMAT} bundle nor a checkpoint sidecar")
    out = []
    for entry in sorted(entries, key=lambda e: float(e["t_range"][0])):
        ckpt = Path(os.path.normpath(path.parent / entry["checkpoint"]))
        if not ckpt.is_file():
            raise CheckpointError(f"{path}: checkpoint {ckpt} not found")
        digest = file_sha256(ckpt)
        recorded = {entry.get("sha256", digest), read_sidecar(ckpt)["sha256"]}
        if recorded != {digest}:
            raise CheckpointError(f"{ckpt}: sha256 {digest[:12]}... differs from the recorded one")
        lo, hi = (float(v) for v in entry["t_range"])
        out.append((ckpt, (lo, hi), digest))
    return out


def lightning_checkpoint(
    weights: dict[str, torch.Tensor], t_range: tuple[float, float], sidecar: dict[str, Any]
) -> dict[str, Any]:
    """The released layout: weights under ``vf_model.``, Lightning bookkeeping beside them."""
    steps = int(((sidecar.get("extra") or {}).get("train") or {}).get("steps") or 0)
    state: dict[str, torch.Tensor] = {OFFICIAL_PREFIX + k: v for k, v in weights.items()}
    # the official Lightning module's own time-embedding buffer (not part of the network)
    state["t_to_emb.multipliers"] = torch.linspace(0.5, 16.0, 64)[None]
    return {
        "state_dict": state,
        "epoch": 0,
        "global_step": steps,
        "pytorch-lightning_version": LIGHTNING_VERSION,
        "hyper_parameters": {
            "stand_in": True,
            "note": "stand-in made from this pipeline's own model, not NVIDIA's weights",
            "t_range": list(t_range),
            "model_config": sidecar["model_config"],
            "stft_config": sidecar.get("stft_config"),
        },
    }


def write_standin(bundle: Path, out_dir: Path) -> dict[str, Any]:
    """Write the stand-in ``.ckpt`` files of ``bundle`` into ``out_dir``; return ``source.json``."""
    parts = bundle_partitions(bundle)
    sidecars = [read_sidecar(ckpt) for ckpt, _, _ in parts]
    stft = sidecars[0].get("stft_config")
    if any(s.get("stft_config") != stft for s in sidecars):
        raise CheckpointError(f"{bundle}: partitions disagree on the STFT")
    source: dict[str, Any] = {
        "stand_in": True,
        "note": "NOT NVIDIA's weights: this pipeline's own model in the released layout",
        "bundle": str(bundle),
        "bundle_sha256": file_sha256(bundle),
        "model_config": sidecars[0]["model_config"],
        "stft_config": stft,
        "files": [],
    }
    with atomic_dir(out_dir) as tmp:
        for (ckpt, t_range, digest), sidecar in zip(parts, sidecars):
            name = release_name(len(parts), t_range)
            weights = safetensors.torch.load_file(str(ckpt))
            torch.save(lightning_checkpoint(weights, t_range, sidecar), tmp / name)
            source["files"].append({
                "file": name, "sha256": file_sha256(tmp / name), "t_range": list(t_range),
                "source": str(ckpt), "source_sha256": digest,
            })  # fmt: skip
        write_json(tmp / "stft_config.json", stft, sort_keys=True)
        write_json(tmp / "source.json", source, sort_keys=True)
    return source


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--bundle", type=Path, required=True, help="a 1- or 2-partition bundle (.json)")
    p.add_argument("--out-dir", type=Path, required=True)
    args = p.parse_args(argv)
    try:
        source = write_standin(args.bundle, args.out_dir)
    except (CheckpointError, OSError, KeyError, ValueError) as exc:
        print(f"make_released_standin: error: {exc}", file=sys.stderr)
        return 2
    for f in source["files"]:
        print(f"wrote {args.out_dir / f['file']} (t in {f['t_range']}) from {f['source']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
