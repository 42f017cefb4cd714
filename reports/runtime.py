"""Runtime and compute table from Snakemake ``benchmark:`` files.

``python -m reports.runtime BENCH_DIR --out-prefix PREFIX`` reads every ``*.tsv`` below BENCH_DIR
(columns ``s, h:m:s, max_rss, max_vms, max_uss, max_pss, io_in, io_out, mean_load, cpu_time``)
and writes ``PREFIX.csv`` (one row per job: stage, job, wall s, CPU s, peak RSS MB) and
``PREFIX.md`` (per-stage totals, then every job).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from a2sb.io.atomic import write_text


def read_benchmarks(root: Path) -> pd.DataFrame:
    rows = []
    for f in sorted(root.rglob("*.tsv")):
        try:
            b = pd.read_csv(f, sep="\t")
        except (OSError, ValueError, pd.errors.EmptyDataError):
            continue
        if b.empty or "s" not in b:
            continue
        rel = f.relative_to(root).with_suffix("")
        rows.append({
            "stage": rel.parts[0] if len(rel.parts) > 1 else "other",
            "job": rel.as_posix(),
            "wall_s": float(b["s"].iloc[-1]),
            "cpu_s": float(pd.to_numeric(b.get("cpu_time", pd.Series([float("nan")])), errors="coerce").iloc[-1]),
            "peak_rss_mb": float(pd.to_numeric(b.get("max_rss", pd.Series([float("nan")])), errors="coerce").iloc[-1]),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["stage", "job", "wall_s", "cpu_s", "peak_rss_mb"])


def to_markdown(df: pd.DataFrame) -> str:
    stages = df.groupby("stage").agg(jobs=("job", "count"), wall_s=("wall_s", "sum"),
                                     cpu_s=("cpu_s", "sum"), peak_rss_mb=("peak_rss_mb", "max"))  # fmt: skip
    lines = ["**Compute per stage (sum of job wall and CPU times; peak = largest job)**", "",
             "| stage | jobs | wall s | CPU s | peak RSS MB |", "|---|---|---|---|---|"]  # fmt: skip
    for stage, r in stages.iterrows():
        lines.append(
            f"| {stage} | {int(r.jobs)} | {r.wall_s:.1f} | {r.cpu_s:.1f} | {r.peak_rss_mb:.0f} |"
        )
    lines.append(f"| total | {len(df)} | {df['wall_s'].sum():.1f} | {df['cpu_s'].sum():.1f} | "
                 f"{df['peak_rss_mb'].max() if len(df) else 0:.0f} |")  # fmt: skip
    lines += ["", "| job | wall s | CPU s | peak RSS MB |", "|---|---|---|---|"]
    for r in df.itertuples(index=False):
        lines.append(f"| {r.job} | {r.wall_s:.1f} | {r.cpu_s:.1f} | {r.peak_rss_mb:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reports.runtime", description=__doc__)
    p.add_argument("root", type=Path)
    p.add_argument("--out-prefix", type=Path, required=True)
    args = p.parse_args(argv)
    if not args.root.is_dir():
        print(f"runtime: error: {args.root}: no such folder", file=sys.stderr)
        return 1
    df = read_benchmarks(args.root)
    write_text(args.out_prefix.with_name(args.out_prefix.name + ".csv"), df.to_csv(index=False))
    write_text(args.out_prefix.with_name(args.out_prefix.name + ".md"), to_markdown(df))
    return 0


if __name__ == "__main__":
    sys.exit(main())
