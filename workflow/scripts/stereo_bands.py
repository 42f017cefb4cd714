"""Per-band inter-channel coherence and level difference of the stereo set, reference against
each method, in one bandwidth-extension setting (the data of fig_stereo_coherence).

::

    stereo_bands.py --reference testsets/Stereo/audio --setting 4kHz \
        --estimate sbr=restored/sbr/Stereo/bandwidth_extension ... --out stereo_bands.csv

For every item and method, :func:`metrics.stereo.stereo_measures` above the setting's cutoff
(third-octave bands, :mod:`metrics.stereo`); the estimate is conformed to the reference's rate and
length as :func:`metrics.evaluate.conform_pair` does for the per-item metrics. One CSV row per
(method, item, band), written atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--reference", type=Path, required=True, help="folder of stereo references")
    p.add_argument("--setting", required=True, help="bandwidth-extension setting, e.g. 4kHz")
    p.add_argument("--estimate", action="append", default=[], metavar="METHOD=TASK_DIR",
                   help="a method's restored task folder (holds SETTING/X.wav); repeatable")  # fmt: skip
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()

    from a2sb.io.atomic import write_text
    from a2sb.tasks import Setting
    from metrics.audio import load_audio
    from metrics.evaluate import conform_pair, rows_to_csv
    from metrics.stereo import check_stereo, stereo_measures

    cutoff = Setting.parse(args.setting).cutoff_hz
    references = sorted(args.reference.glob("*.wav"))
    if not references or not args.estimate:
        print("stereo_bands: error: no references or no --estimate", file=sys.stderr)
        return 2
    fields = ["method", "item", "low_hz", "high_hz", "active",
              "icc_ref", "icc_est", "ild_ref", "ild_est"]  # fmt: skip
    rows = []
    try:
        for spec in args.estimate:
            method, folder = spec.split("=", 1)
            for ref_path in references:
                ref, ref_rate = load_audio(ref_path)
                est, est_rate = load_audio(Path(folder) / args.setting / ref_path.name)
                ref2, est2, _ = conform_pair(check_stereo(ref, "reference"), ref_rate,
                                             check_stereo(est, "estimate"), est_rate, ref_rate)  # fmt: skip
                m = stereo_measures(ref2, est2, ref_rate, cutoff_hz=cutoff)
                for b in range(len(m.band_bins)):
                    rows.append({"method": method, "item": ref_path.stem,
                                 "low_hz": float(m.band_edges_hz[b]),
                                 "high_hz": float(m.band_edges_hz[b + 1]),
                                 "active": bool(m.active[b]),
                                 "icc_ref": float(m.icc_ref[b]), "icc_est": float(m.icc_est[b]),
                                 "ild_ref": float(m.ild_ref[b]), "ild_est": float(m.ild_est[b])})  # fmt: skip
    except Exception as exc:  # one line naming the problem
        print(f"stereo_bands: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    write_text(args.out, rows_to_csv(rows, fields))
    print(f"wrote {len(rows)} rows to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
