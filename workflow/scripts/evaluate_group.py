"""Per-item metrics of every setting of one (method, test set, task), in one process.

::

    evaluate_group.py --reference testsets/AAM/audio --estimate restored/a2sb_p1/AAM/inpainting \
        --settings 300ms,500ms,1000ms --metrics lsd,sispec,visqol \
        --tag method=a2sb_p1 --tag dataset=AAM --tag task=inpainting --out per_item.csv

Scores ``<estimate>/<setting>/X.wav`` against ``<reference>/X.wav`` with
:func:`metrics.evaluate.evaluate_dirs` (one row per item and metric, a ``setting`` column added)
and writes one CSV atomically. Loading ViSQOL's model and numba's compiled loops once per job
instead of once per setting is why this is one process. ``--stereo-region DEGRADED`` (the
degraded task folder) sets the region of the stereo metrics per setting: above the cutoff of a
bandwidth-extension setting, inside the gaps of ``DEGRADED/<setting>/X.gaps.json`` for inpainting.
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
    p.add_argument("--stereo-region", type=Path, metavar="DEGRADED",
                   help="stereo metrics: the setting's cutoff, or the gaps under DEGRADED/<setting>")  # fmt: skip
    args = p.parse_args()

    from a2sb.io.atomic import write_text
    from a2sb.tasks import Setting, Task
    from metrics.errors import MetricsError
    from metrics.evaluate import COLUMNS, evaluate_dirs, parse_metrics, rows_to_csv

    def region(label: str) -> dict:
        if args.stereo_region is None:
            return {}
        setting = Setting.parse(label)
        if setting.task is Task.BANDWIDTH_EXTENSION:
            return {"cutoff_hz": setting.cutoff_hz}
        return {"gaps_dir": args.stereo_region / label}

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
                **region(setting),
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
