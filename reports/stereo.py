"""The stereo table and the coherence figure of the stereo test set (issue 20).

::

    python -m reports.stereo table --summary metrics/stereo_summary.csv --provenance P.json \
        --out-prefix tables/stereo [--not-run METHOD=WHY ...]
    python -m reports.stereo figure --bands metrics/stereo_bands.csv --setting 4kHz \
        --provenance P.json --out-stem figures/fig_stereo_coherence

The table has one row per (setting, method) and one column per metric: the means over the
stereo items of ``python -m metrics aggregate`` (their 95 % CIs stay in the summary CSV). The
figure shows, per third-octave band above the cutoff, the inter-channel coherence (ICC) of the
reference and of each method's estimate, averaged over the items where the reference is active
in the band (``workflow/scripts/stereo_bands.py``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from a2sb.stereo import DEFAULT_STEREO_MODE
from a2sb.tasks import Setting, Task
from baselines.registry import METHODS, stereo_candidates

from ._io import provenance_caption, save_figure
from .tables import write_table

#: Column headings of the metrics, with their better direction.
METRIC_LABELS = {
    "lsd": "LSD ↓",
    "sispec": "SiSpec ↑",
    "lsd_left": "LSD L ↓",
    "lsd_right": "LSD R ↓",
    "sispec_left": "SiSpec L ↑",
    "sispec_right": "SiSpec R ↑",
    "icc_err": "ICC err ↓",
    "ild_err": "ILD err (dB) ↓",
    "width_err": "Width err (dB) ↓",
    "width_ref": "Width ref (dB)",
    "width_est": "Width est (dB)",
}

HEADING = (
    "Stereo test set: bandwidth extension and inpainting, per-channel and stereo-image measures"
)


def label_of(name: str) -> str:
    """A method's row label (registry), else its name."""
    m = METHODS.get(name)
    return m.label if m is not None else name


def setting_key(label: str) -> tuple[int, float]:
    """Bandwidth extension before inpainting, then by cutoff or gap."""
    s = Setting.parse(label)
    return (0 if s.task is Task.BANDWIDTH_EXTENSION else 1, s.value)


def build_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows ``"<setting> · <method label>"`` in setting then registry order, metric columns."""
    order = {name: i for i, name in enumerate(METHODS)}
    metrics = [m for m in METRIC_LABELS if m in set(summary["metric"])]
    rows = {}
    keys = summary[["setting", "method"]].drop_duplicates()
    keys = sorted(
        keys.itertuples(index=False),
        key=lambda k: (setting_key(k.setting), order.get(k.method, len(order)), k.method),
    )
    for k in keys:
        part = summary[(summary["setting"] == k.setting) & (summary["method"] == k.method)]
        means = dict(zip(part["metric"], part["mean"]))
        rows[f"{k.setting} · {label_of(k.method)}"] = [
            "n/a" if pd.isna(means.get(m, np.nan)) else f"{means[m]:.3f}" for m in metrics
        ]
    table = pd.DataFrame.from_dict(
        rows, orient="index", columns=[METRIC_LABELS[m] for m in metrics]
    )
    table.index.name = "Setting · method"
    return table


def notes_of(summary: pd.DataFrame, not_run: dict[str, str], caption: str) -> list[str]:
    n = sorted(set(summary["n"].astype(int)))
    return [
        f"Mean over {'/'.join(map(str, n))} stereo items (95 % CI in stereo_summary.csv); "
        "items: two instruments panned left/right (constant power), a centred source in a "
        "stereo room (decorrelated reverb), a centred mono source.",
        "LSD/SiSpec L and R: each channel scored alone; ICC/ILD/width errors: per third-octave "
        "band above the cutoff (bandwidth extension) or inside the gaps (inpainting), "
        "metrics.stereo.",
        *mode_notes(set(summary["method"])),
        *(f"{label_of(m)}: not in this table: {why}" for m, why in not_run.items()),
        f"Provenance: {caption}",
    ]


def mode_notes(methods: set[str]) -> list[str]:
    """Which stereo mode the A2SB rows restore in, when stereo-mode candidates are rows too."""
    candidates = [m for m in stereo_candidates() if m.name in methods]
    if not candidates:
        return []
    base = METHODS[candidates[0].model_of]
    return [
        f"{base.label} restores in a2sb.stereo's default mode ({DEFAULT_STEREO_MODE}); the rows "
        f"{', '.join(m.label for m in candidates)} restore with the same model in the mode "
        "they name (a2sb restore --stereo-mode)."
    ]


def build_figure(bands: pd.DataFrame, setting: str, caption: str, out_stem: Path) -> None:
    """ICC per band above the cutoff: the reference and each method, mean over active items."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    active = bands[bands["active"].astype(str).str.lower() == "true"]
    if active.empty:
        raise ValueError("no band where the reference is active")
    centre = np.sqrt(active["low_hz"] * active["high_hz"])
    active = active.assign(centre=centre)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    first = active[active["method"] == active["method"].iloc[0]]
    ref = first.groupby("centre")["icc_ref"].mean()
    ax.plot(ref.index, ref.values, "k-", lw=2.5, label="reference")
    for method, part in active.groupby("method", sort=False):
        est = part.groupby("centre")["icc_est"].mean()
        ax.plot(est.index, est.values, marker="o", ms=3, lw=1, label=label_of(str(method)))
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("band centre (Hz), third-octave bands above the cutoff")
    ax.set_ylabel("inter-channel coherence")
    ax.set_title(f"Stereo set, bandwidth extension {setting}: ICC per band", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    fig.text(0.01, -0.06, caption, fontsize=5, wrap=True, va="top")
    save_figure(fig, out_stem)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reports.stereo", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("table", help="tables/stereo.{csv,md,tex}")
    t.add_argument("--summary", type=Path, required=True)
    t.add_argument("--provenance", type=Path)
    t.add_argument("--out-prefix", type=Path, required=True)
    t.add_argument("--not-run", action="append", default=[], metavar="METHOD=WHY")
    f = sub.add_parser("figure", help="figures/fig_stereo_coherence.{png,pdf}")
    f.add_argument("--bands", type=Path, required=True)
    f.add_argument("--setting", required=True)
    f.add_argument("--provenance", type=Path)
    f.add_argument("--out-stem", type=Path, required=True)
    args = p.parse_args(argv)
    try:
        caption = provenance_caption(args.provenance)
        if args.command == "table":
            summary = pd.read_csv(args.summary, dtype={"setting": str})
            not_run = dict(item.split("=", 1) for item in args.not_run)
            write_table(
                args.out_prefix, build_table(summary), HEADING, notes_of(summary, not_run, caption)
            )
            print(f"wrote {args.out_prefix}.csv/.md/.tex")
        else:
            build_figure(pd.read_csv(args.bands), args.setting, caption, args.out_stem)
            print(f"wrote {args.out_stem}.png/.pdf")
    except (OSError, KeyError, ValueError) as exc:
        print(f"stereo: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
