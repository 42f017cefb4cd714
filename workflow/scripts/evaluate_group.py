"""Per-item metrics of every setting of one (method, test set, task), in one process.

::

    evaluate_group.py --reference testsets/AAM/audio --estimate restored/a2sb_p1/AAM/inpainting \
        --settings 300ms,500ms,1000ms --metrics lsd,sispec,visqol \
        --tag method=a2sb_p1 --tag dataset=AAM --tag task=inpainting --out per_item.csv

Scores ``<estimate>/<setting>/X.wav`` against ``<reference>/X.wav`` with
:func:`metrics.evaluate.evaluate_dirs` (one row per item and metric, a ``setting`` column added)
and writes one CSV atomically. Loading ViSQOL's model and numba's compiled loops once per job
instead of once per setting is why this is one process.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--reference", type=Path, required=True)
    p.add_argument("--estimate", type=Path, required=True, help="folder of setting folders")
    p.add_argument("--settings", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--midi", type=Path)
    p.add_argument("--tag", action="append", default=[], help="NAME=VALUE (repeatable)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()

    from a2sb.io.atomic import write_text
    from metrics.errors import MetricsError
    from metrics.evaluate import COLUMNS, evaluate_dirs, parse_metrics, rows_to_csv

    tags = dict(t.split("=", 1) for t in args.tag)
    rows = []
    try:
        for setting in (s for s in args.settings.split(",") if s):
            rows += evaluate_dirs(
                args.reference,
                args.estimate / setting,
                metrics=parse_metrics(args.metrics),
                midi_dir=args.midi,
                tags={**tags, "setting": setting},
            )
    except MetricsError as exc:
        print(f"evaluate_group: error: {exc}", file=sys.stderr)
        return 2
    columns = list(tags) + ["setting"] + list(COLUMNS)
    write_text(args.out, rows_to_csv(rows, columns))
    bad = sum(r["status"] != "ok" for r in rows)
    print(f"wrote {len(rows)} rows to {args.out} ({bad} not ok)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
