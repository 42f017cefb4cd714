"""Tables 2-9 in the paper's layout from aggregated metrics, beside the paper's values.

``python -m reports.tables build --summary summary.csv --paper paper_results.csv
--provenance provenance.json --out-dir DIR`` writes ``tableN.{csv,md,tex}`` for N = 2..9: rows
are methods (the paper's and ours), columns are settings x metrics, each cell "ours (paper)".
A method without results reads "not run"; a missing paper value reads "-". Under each table:
Kendall's tau between our ranking of methods and the paper's, per column, over the methods that
have both values (ranking direction: lower is better for LSD, higher for the others); whether A2SB
beats the degraded input; and in how many LSD / SiSpec cells each A2SB row improves on the row
"A2SB starting point (no network)" (its sampler's ``X1``, eq. 8, decoded: what the fill prior
alone scores), or why that row did not run.
``metrics-json summary.csv --out summary.json`` writes the nested means for ``dvc metrics``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from scipy.stats import kendalltau

from a2sb.io.atomic import write_json, write_text
from baselines.registry import METHODS as REGISTRY
from baselines.registry import Kind

from ._io import provenance_caption

NOT_RUN = "not run"
# Table number -> (task, dataset, settings, metrics) as in the paper (4.1, Tables 2-9).
BWE, INP = ("4kHz", "8kHz", "12kHz"), ("300ms", "500ms", "1000ms")
TABLES: dict[int, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    2: ("bandwidth_extension", "AAM", BWE, ("LSD", "SiSpec", "ViSQOL")),
    3: ("bandwidth_extension", "CCMixter", BWE, ("LSD", "SiSpec", "ViSQOL")),
    4: ("bandwidth_extension", "MTD", BWE, ("LSD", "SiSpec", "ViSQOL")),
    5: ("bandwidth_extension", "Maestro", BWE, ("LSD", "SiSpec", "F1")),
    6: ("inpainting", "AAM", INP, ("LSD", "SiSpec", "ViSQOL")),
    7: ("inpainting", "CCMixter", INP, ("LSD", "SiSpec", "ViSQOL")),
    8: ("inpainting", "MTD", INP, ("LSD", "SiSpec", "ViSQOL")),
    9: ("inpainting", "Maestro", INP, ("LSD", "SiSpec", "F1")),
}
METRIC_OF = {"lsd": "LSD", "sispec": "SiSpec", "visqol": "ViSQOL", "midi_f1": "F1"}
LOWER_IS_BETTER = {"LSD"}


#: The rows, in the tables' order: every method of the registry that restores a task.
METHODS = [m for m in REGISTRY.values() if m.tasks]


def fmt(value: float | None, metric: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.3f}" if metric in ("ViSQOL", "F1", "LSD") else f"{value:.2f}"


def ours_table(summary: pd.DataFrame, task: str, dataset: str) -> dict[tuple[str, str, str], float]:
    """``(method, setting, Metric) -> mean`` for one task and dataset."""
    sub = summary[(summary["task"] == task) & (summary["dataset"] == dataset)]
    out = {}
    for row in sub.itertuples(index=False):
        metric = METRIC_OF.get(str(row.metric), str(row.metric))
        out[(str(row.method), str(row.setting), metric)] = float(row.mean)
    return out


def paper_table(paper: pd.DataFrame, number: int) -> dict[tuple[str, str, str], float]:
    sub = paper[paper["table"] == number]
    return {(r.method, r.setting, r.metric): float(r.value) for r in sub.itertuples(index=False)}


def kendall(
    ours: dict[str, float], theirs: dict[str, float], metric: str
) -> tuple[float | None, int]:
    """Kendall's tau between the two rankings over the methods both have (None if < 2)."""
    common = sorted(set(ours) & set(theirs))
    if len(common) < 2:
        return None, len(common)
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    tau = kendalltau([sign * ours[m] for m in common], [sign * theirs[m] for m in common]).statistic
    return (None if tau is None or math.isnan(tau) else float(tau)), len(common)


#: What the tables say about a method that ran, under the table.
RAN_NOTES = {
    "audiosr": "AudioSR: the published model run as is (48 kHz input, peak-normalised); its output "
    "is resampled to 44.1 kHz and level-matched to the degraded input's band below the cutoff "
    "before scoring.",
}


def build_table(
    number: int,
    summary: pd.DataFrame,
    paper: pd.DataFrame,
    not_run: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The table as a DataFrame of strings, and one agreement line per column.

    ``not_run`` maps a method key to why it did not run: its cells read ``not run: <why>``."""
    not_run = not_run or {}
    task, dataset, settings, metrics = TABLES[number]
    ours, theirs = ours_table(summary, task, dataset), paper_table(paper, number)
    ran = {m for (m, _, _) in ours}
    listed = {m for (m, _, _) in theirs}
    rows = [m for m in METHODS if m.name in ran or (m.paper and m.paper in listed)]
    columns = [f"{s} {metric}" for s in settings for metric in metrics]
    cells = []
    for m in rows:
        line = []
        for s in settings:
            for metric in metrics:
                p = theirs.get((m.paper, s, metric)) if m.paper else None
                if m.name in ran:
                    o = ours.get((m.name, s, metric))
                    line.append(f"{fmt(o, metric)} ({fmt(p, metric)})")
                else:
                    why = f": {not_run[m.name]}" if m.name in not_run else ""
                    line.append(f"{NOT_RUN}{why} ({fmt(p, metric)})")
            # (a method we ran that the paper lacks shows "(-)")
        cells.append(line)
    table = pd.DataFrame(cells, index=[m.label for m in rows], columns=columns)
    table.index.name = "method"
    agreement = []
    for s in settings:
        for metric in metrics:
            o = {m.paper: ours[(m.name, s, metric)] for m in rows
                 if m.paper and (m.name, s, metric) in ours}  # fmt: skip
            t = {m.paper: theirs[(m.paper, s, metric)] for m in rows
                 if m.paper and (m.paper, s, metric) in theirs}  # fmt: skip
            tau, n = kendall(o, t, metric)
            text = f"tau = {tau:+.2f}" if tau is not None else "tau undefined"
            agreement.append(f"{s} {metric}: {text} over {n} methods in both")
    return table, agreement


def versus_degraded(number: int, summary: pd.DataFrame) -> str:
    """One line: does every A2SB row beat the degraded input on LSD and SiSpec in every setting?"""
    task, dataset, settings, _ = TABLES[number]
    ours = ours_table(summary, task, dataset)
    rows = [m for m in METHODS if m.kind is Kind.A2SB and any(k[0] == m.name for k in ours)]
    checked, losses = 0, []
    for m in rows:
        for s in settings:
            for metric in ("LSD", "SiSpec"):
                a2sb, base = ours.get((m.name, s, metric)), ours.get(("degraded", s, metric))
                if a2sb is None or base is None or math.isnan(a2sb) or math.isnan(base):
                    continue
                checked += 1
                better = a2sb < base if metric in LOWER_IS_BETTER else a2sb > base
                if not better:
                    losses.append(f"{m.label} {s} {metric}")
    if not checked:
        return "A2SB vs the degraded input: nothing to compare"
    if not losses:
        return f"A2SB beats the degraded input on LSD and SiSpec in all {checked} comparisons"
    return f"A2SB does NOT beat the degraded input in {len(losses)} of {checked}: " + ", ".join(
        losses
    )


def versus_start(
    number: int, summary: pd.DataFrame, not_run: dict[str, str] | None = None
) -> str | None:
    """One line: in how many LSD / SiSpec cells each A2SB row improves on its own starting point.

    The starting-point row (kind ``a2sb-start``) is ``X1`` of eq. 8 decoded with no network; the
    A2SB rows share it (same masks, STFT and seed), so a cell where an A2SB row is not better than
    it is one where the network adds nothing to the prior. A cell counts where both values are
    finite; improving is strictly lower LSD or strictly higher SiSpec. None when the row neither
    ran nor has a reason in ``not_run``.
    """
    task, dataset, settings, _ = TABLES[number]
    ours, not_run = ours_table(summary, task, dataset), not_run or {}
    start = next(m for m in METHODS if m.kind is Kind.A2SB_START)
    if not any(k[0] == start.name for k in ours):
        return f"{start.label}: not run: {not_run[start.name]}" if start.name in not_run else None
    rows = [m for m in METHODS if m.kind is Kind.A2SB and any(k[0] == m.name for k in ours)]
    counts, losses = [], []
    for m in rows:
        checked = better = 0
        for s in settings:
            for metric in ("LSD", "SiSpec"):
                a2sb, base = ours.get((m.name, s, metric)), ours.get((start.name, s, metric))
                if a2sb is None or base is None or math.isnan(a2sb) or math.isnan(base):
                    continue
                checked += 1
                if a2sb < base if metric in LOWER_IS_BETTER else a2sb > base:
                    better += 1
                else:
                    losses.append(f"{m.label} {s} {metric}")
        counts.append(f"{m.label} improves on its own starting point in {better} of {checked} "
                      "LSD/SiSpec cells")  # fmt: skip
    if not counts:
        return f"{start.label}: no A2SB row to compare with"
    text = f"A2SB vs the row {start.label}, the prior it starts from: " + "; ".join(counts)
    return text + (f"; not improved: {', '.join(losses)}" if losses else "")


def title(number: int) -> str:
    task, dataset, _, _ = TABLES[number]
    what = "Bandwidth extension" if task == "bandwidth_extension" else "Inpainting"
    return f"Table {number}: {what} on {dataset}: ours (paper)"


def to_markdown(table: pd.DataFrame, heading: str, notes: Sequence[str]) -> str:
    cols = [table.index.name or ""] + list(table.columns)
    lines = [f"**{heading}**", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for label, row in table.iterrows():
        lines.append("| " + " | ".join([str(label), *map(str, row.tolist())]) + " |")
    lines.append("")
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def tex_escape(text: str) -> str:
    for a, b in (
        ("\\", r"\textbackslash{}"),
        ("&", r"\&"),
        ("%", r"\%"),
        ("_", r"\_"),
        ("#", r"\#"),
    ):
        text = text.replace(a, b)
    return text


def to_latex(table: pd.DataFrame, heading: str, notes: Sequence[str]) -> str:
    cols = len(table.columns)
    lines = [r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{tex_escape(heading)}}}",
             rf"\begin{{tabular}}{{l{'c' * cols}}}", r"\toprule",
             " & ".join([tex_escape(table.index.name or "")] + [tex_escape(c) for c in table.columns])
             + r" \\", r"\midrule"]  # fmt: skip
    for label, row in table.iterrows():
        lines.append(
            " & ".join([tex_escape(str(label)), *(tex_escape(str(v)) for v in row)]) + r" \\"
        )
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [rf"\par\footnotesize {tex_escape(n)}" for n in notes]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def write_table(out_prefix: Path, table: pd.DataFrame, heading: str, notes: Sequence[str]) -> None:
    """``prefix.csv`` (cells plus a ``# note`` trailer), ``prefix.md`` and ``prefix.tex``."""
    csv_text = table.to_csv() + "".join(f"# {n}\n" for n in [heading, *notes])
    write_text(out_prefix.with_suffix(".csv"), csv_text)
    write_text(out_prefix.with_suffix(".md"), to_markdown(table, heading, notes))
    write_text(out_prefix.with_suffix(".tex"), to_latex(table, heading, notes))


def build_all(
    summary_csv: Path,
    paper_csv: Path,
    out_dir: Path,
    provenance: Path | None,
    not_run: dict[str, str] | None = None,
    how_to_run: dict[str, str] | None = None,
) -> list[Path]:
    summary = pd.read_csv(summary_csv, dtype={"setting": str})
    paper = pd.read_csv(paper_csv)
    caption = provenance_caption(provenance)
    written = []
    for number in TABLES:
        table, agreement = build_table(number, summary, paper, not_run)
        ran = set(summary[(summary["task"] == TABLES[number][0])]["method"].astype(str))
        extra = [RAN_NOTES[k] for k in RAN_NOTES if k in ran]
        shown = {m.label for m in METHODS if m.name in (not_run or {})} & set(table.index)
        extra += [
            f"{label}: not run: {(not_run or {})[m.name]}"
            + (f"; to run it: {(how_to_run or {})[m.name]}" if m.name in (how_to_run or {}) else "")
            for m in METHODS
            for label in [m.label]
            if label in shown
        ]
        extra.append(versus_degraded(number, summary))
        start = versus_start(number, summary, not_run)
        extra += [start] if start else []
        notes = extra + ["Kendall tau of our ranking vs the paper's: " + "; ".join(agreement),
                 "Our values: mean over test items (95 % CI in summary.csv); paper values in brackets.",
                 f"Provenance: {caption}"]  # fmt: skip
        if TABLES[number][1] == "Maestro":
            notes.insert(
                1,
                "Maestro (CC BY-NC-SA): the paper trains on it; a Maestro fine-tune is research use only.",
            )
        prefix = out_dir / f"table{number}"
        write_table(prefix, table, title(number), notes)
        written.append(prefix)
    return written


def metrics_json(summary_csv: Path) -> dict:
    """Nested ``task -> dataset -> setting -> method -> metric -> mean`` for ``dvc metrics``."""
    summary = pd.read_csv(summary_csv, dtype={"setting": str})
    out: dict = {}
    for r in summary.itertuples(index=False):
        node = out.setdefault(r.task, {}).setdefault(r.dataset, {}).setdefault(r.setting, {})
        value = float(r.mean)
        node.setdefault(r.method, {})[str(r.metric)] = (
            None if math.isnan(value) else round(value, 6)
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reports.tables", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="Tables 2-9 as CSV, Markdown and LaTeX")
    b.add_argument("--summary", type=Path, required=True)
    b.add_argument("--paper", type=Path, required=True)
    b.add_argument("--provenance", type=Path)
    b.add_argument("--out-dir", type=Path, required=True)
    b.add_argument(
        "--not-run",
        action="append",
        default=[],
        metavar="METHOD=WHY",
        help="a method that did not run and why (its cells say so)",
    )
    b.add_argument(
        "--how-to-run",
        action="append",
        default=[],
        metavar="METHOD=COMMAND",
        help="the command that makes a not-run method run (a note under the table)",
    )
    j = sub.add_parser("metrics-json", help="nested means for dvc metrics")
    j.add_argument("summary", type=Path)
    j.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    try:
        if args.command == "build":
            not_run = dict(item.split("=", 1) for item in args.not_run)
            how = dict(item.split("=", 1) for item in args.how_to_run)
            for prefix in build_all(
                args.summary, args.paper, args.out_dir, args.provenance, not_run, how
            ):
                print(f"wrote {prefix}.csv/.md/.tex")
        else:
            write_json(args.out, metrics_json(args.summary), sort_keys=True)
    except (OSError, KeyError, ValueError) as exc:
        print(f"tables: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
