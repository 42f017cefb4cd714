"""Tables 10-12 (human evaluation) from a ratings CSV, when one exists.

``python -m reports.human_eval --stimuli stimuli.csv [--ratings ratings.csv] --summary summary.csv
--paper-mos paper_mos.csv --paper-correlation paper_correlation.csv --out-dir DIR`` writes
``table10`` (bandwidth extension MOS), ``table11`` (inpainting MOS) and ``table12`` (Pearson
correlation of per-method MOS with -LSD, SiSpec and ViSQOL means) as CSV, Markdown and LaTeX.
MOS: mean of 1-5 scores per method and test set, 95 % CI = Student-t half-width over ratings.
Ratings CSV columns: ``stimulus, rater, score`` (stimulus names from ``stimuli.csv``), as the
listening page's ``python -m reports.listen export`` writes it (refused when it holds another
scale or was rated with another ``stimuli.csv``). With no ratings, each table says so and shows
the paper's values only.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ._io import provenance_caption
from .tables import METHODS, write_table

LABEL = {m.name: m.label for m in METHODS} | {"reference": "Ground Truth"}
PAPER_NAME = {m.name: m.paper for m in METHODS if m.paper} | {"reference": "Ground Truth"}
TASK_OF = {10: "bandwidth_extension", 11: "inpainting"}
SETTING_OF = {"bandwidth_extension": "4kHz", "inpainting": "1000ms"}


def check_ratings(ratings: pd.DataFrame, path: Path, stimuli_path: Path) -> pd.DataFrame:
    """Refuse ratings that are not MOS of these stimuli. The listening page's export
    (``python -m reports.listen export``) names each row's scale and the sha256 of the
    ``stimuli.csv`` it was rated with; stimulus names are positional (``s00000.wav`` ...), so
    ratings of another stimuli list would land on other methods. A plain ``stimulus, rater,
    score`` CSV passes unchecked."""
    if "scale" in ratings:
        other = sorted(set(ratings["scale"].dropna().astype(str)) - {"mos"})
        if other:
            raise ValueError(f"{path}: holds {', '.join(other)} ratings, not MOS")
    if "stimuli_sha" in ratings:
        sha = hashlib.sha256(Path(stimuli_path).read_bytes()).hexdigest()
        if set(ratings["stimuli_sha"].dropna().astype(str)) - {sha}:
            raise ValueError(f"{path}: rated with another stimuli.csv than {stimuli_path}")
    return ratings


def mos(ratings: pd.DataFrame, stimuli: pd.DataFrame) -> pd.DataFrame:
    """Per task, dataset and method: mos, ci95 (half-width), n."""
    df = ratings.merge(stimuli, on="stimulus", how="inner")
    df = df[pd.to_numeric(df["score"], errors="coerce").between(1, 5)]
    df["score"] = df["score"].astype(float)
    rows = []
    for (task, dataset, method), g in df.groupby(["task", "dataset", "method"]):
        n = len(g)
        half = (
            stats.t.ppf(0.975, n - 1) * g["score"].std(ddof=1) / math.sqrt(n)
            if n > 1
            else float("nan")
        )
        rows.append({"task": task, "dataset": dataset, "method": method, "mos": g["score"].mean(),
                     "ci95": half, "n": n})  # fmt: skip
    return pd.DataFrame(rows, columns=["task", "dataset", "method", "mos", "ci95", "n"])


def mos_table(number: int, ours: pd.DataFrame | None, paper: pd.DataFrame) -> pd.DataFrame:
    task = TASK_OF[number]
    pap = paper[paper["table"] == number]
    datasets = list(dict.fromkeys(pap["dataset"]))
    methods = ["reference"] + [m.name for m in METHODS]
    table = {}
    for key in methods:
        name = PAPER_NAME.get(key)
        line, has = [], False
        for d in datasets:
            p = pap[(pap["dataset"] == d) & (pap["method"] == name)]
            ptext = f"{p['mos'].iloc[0]:.2f} ± {p['ci95'].iloc[0]:.2f}" if len(p) else "-"
            has |= bool(len(p))
            if ours is None:
                line.append(f"no ratings ({ptext})")
                continue
            o = ours[(ours["task"] == task) & (ours["dataset"] == d) & (ours["method"] == key)]
            has |= bool(len(o))
            otext = f"{o['mos'].iloc[0]:.2f} ± {o['ci95'].iloc[0]:.2f}" if len(o) else "not rated"
            line.append(f"{otext} ({ptext})")
        if has:
            table[LABEL.get(key, key)] = line
    out = pd.DataFrame.from_dict(table, orient="index", columns=datasets)
    out.index.name = "method"
    return out


def correlation_table(
    ours: pd.DataFrame | None, summary: pd.DataFrame, paper: pd.DataFrame
) -> pd.DataFrame:
    rows = {}
    for task, setting in SETTING_OF.items():
        label = f"{task} ({setting})"
        pap = paper[paper["task"].str.startswith(task)]
        for metric, sign, pair in (("lsd", -1, "MOS vs -LSD"), ("sispec", 1, "MOS vs SiSpec"),
                                   ("visqol", 1, "MOS vs ViSQOL")):  # fmt: skip
            p = pap[pap["pair"] == pair]
            ptext = f"{p['pearson'].iloc[0]:.3f}" if len(p) else "-"
            if ours is None:
                rows[(label, pair)] = [f"no ratings ({ptext})"]
                continue
            m = summary[
                (summary["task"] == task)
                & (summary["setting"] == setting)
                & (summary["metric"] == metric)
            ]
            o = ours[ours["task"] == task].merge(m, on=["dataset", "method"])
            if len(o) >= 3:
                r = float(np.corrcoef(o["mos"], sign * o["mean"])[0, 1])
                rows[(label, pair)] = [f"{r:.3f} ({ptext})"]
            else:
                rows[(label, pair)] = [f"too few rated methods ({ptext})"]
    out = pd.DataFrame.from_dict({f"{a}: {b}": v for (a, b), v in rows.items()}, orient="index",
                                 columns=["Pearson r, ours (paper)"])  # fmt: skip
    out.index.name = "task: pair"
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reports.human_eval", description=__doc__)
    p.add_argument("--stimuli", type=Path, required=True)
    p.add_argument("--ratings", type=Path)
    p.add_argument("--summary", type=Path, required=True)
    p.add_argument("--paper-mos", type=Path, required=True)
    p.add_argument("--paper-correlation", type=Path, required=True)
    p.add_argument("--provenance", type=Path)
    p.add_argument("--out-dir", type=Path, required=True)
    args = p.parse_args(argv)
    try:
        stimuli = pd.read_csv(args.stimuli)
        ours = (mos(check_ratings(pd.read_csv(args.ratings), args.ratings, args.stimuli), stimuli)
                if args.ratings else None)  # fmt: skip
        summary = pd.read_csv(args.summary, dtype={"setting": str})
        paper_mos, paper_corr = pd.read_csv(args.paper_mos), pd.read_csv(args.paper_correlation)
    except (OSError, KeyError, ValueError) as exc:
        print(f"human_eval: error: {exc}", file=sys.stderr)
        return 1
    status = (f"ratings: {args.ratings} ({0 if ours is None else int(ours['n'].sum())} scores)"
              if ours is not None else "no ratings CSV found: our MOS columns are empty; "
              f"stimuli to rate: {args.stimuli.parent} ({len(stimuli)} files)")  # fmt: skip
    notes = [status, f"Provenance: {provenance_caption(args.provenance)}"]
    for number, what in ((10, "Bandwidth extension (4 kHz)"), (11, "Inpainting (1000 ms)")):
        write_table(args.out_dir / f"table{number}", mos_table(number, ours, paper_mos),
                    f"Table {number}: MOS ± 95 % CI, {what}: ours (paper)", notes)  # fmt: skip
    write_table(args.out_dir / "table12", correlation_table(ours, summary, paper_corr),
                "Table 12: Pearson correlation of MOS with objective metrics: ours (paper)", notes)  # fmt: skip
    print(f"wrote tables 10-12 to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
