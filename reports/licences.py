"""Licence table of the data step from manifest CSVs (columns dataset, split, license,
license_class, duration): items and hours per dataset, split, licence and class.

``python -m reports.licences MANIFEST... --out-prefix PREFIX`` -> PREFIX.csv, .md, .tex.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .tables import write_table


def licence_table(manifests: Sequence[Path]) -> pd.DataFrame:
    frames = [pd.read_csv(m) for m in manifests]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["dataset", "split", "license", "license_class", "duration"])  # fmt: skip
    g = df.groupby(["dataset", "split", "license", "license_class"], dropna=False)
    out = g.agg(items=("duration", "size"), hours=("duration", "sum")).reset_index()
    out["hours"] = (out["hours"] / 3600).round(3)
    return out.set_index("dataset")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reports.licences", description=__doc__)
    p.add_argument("manifests", type=Path, nargs="+")
    p.add_argument("--out-prefix", type=Path, required=True)
    args = p.parse_args(argv)
    try:
        table = licence_table(args.manifests)
    except (OSError, KeyError, ValueError) as exc:
        print(f"licences: error: {exc}", file=sys.stderr)
        return 1
    write_table(args.out_prefix, table.astype(str), "Licences of the data (from the manifests)",
                ["Only permissive items enter the permissive training runs (SPEC 6, 10)."])  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
