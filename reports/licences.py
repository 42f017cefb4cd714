"""Licence table of the data step from manifest CSVs (columns dataset, split, license,
license_class, duration): items and hours per dataset, split, licence and class; with
``--filter-reports``, a second table of the licence filter's kept and dropped items per dataset.

``python -m reports.licences MANIFEST... --out-prefix PREFIX`` -> PREFIX.csv, .md, .tex.
"""

from __future__ import annotations

import argparse
import json
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
    p.add_argument("--filter-reports", type=Path, nargs="*", default=[],
                   help="licence_report.json of the licence filter, one per dataset")  # fmt: skip
    p.add_argument("--filter-out-prefix", type=Path, help="where the filter table goes")
    args = p.parse_args(argv)
    try:
        table = licence_table(args.manifests)
        filtered = filter_table(args.filter_reports) if args.filter_reports else None
    except (OSError, KeyError, ValueError) as exc:
        print(f"licences: error: {exc}", file=sys.stderr)
        return 1
    write_table(args.out_prefix, table.astype(str), "Licences of the data (from the manifests)",
                ["Only permissive items enter the permissive training runs (SPEC 6, 10)."])  # fmt: skip
    if filtered is not None:
        if args.filter_out_prefix is None:
            print("licences: error: --filter-reports needs --filter-out-prefix", file=sys.stderr)
            return 1
        write_table(args.filter_out_prefix, filtered.astype(str),
                    "Licence filter: items kept and dropped per dataset",
                    ["Dropped items by licence class (non-commercial, no-derivatives, unknown, "
                     "...): unknown licence means excluded (SPEC 6). Research-use datasets are "
                     "filtered for their separate run only."])  # fmt: skip
    return 0


def filter_table(reports: Sequence[Path]) -> pd.DataFrame:
    """One row per dataset from the licence filter's ``licence_report.json`` files."""
    from a2sb.data.filtering import report_table

    loaded = [json.loads(Path(r).read_text(encoding="utf-8")) for r in reports]
    return pd.DataFrame(report_table(loaded)).set_index("dataset")


if __name__ == "__main__":
    sys.exit(main())
