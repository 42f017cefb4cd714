"""NVIDIA's released A2SB checkpoints against the paper's reported numbers (one table).

``python -m reports.released --paper paper_results.csv --provenance provenance.json
--out-prefix DIR/released [--summary summary.csv] [--model twosplit=bundle.json ...]
[--stand-in twosplit=source.json ...] [--datasets AAM,...] [--steps bandwidth_extension=100
--steps inpainting=200] [--profile NAME] [--note TEXT ...]`` writes ``released.{csv,md,tex}``.

Rows: released model x test set x task x setting, in the order of Tables 2-9. Columns, per
metric: ours (mean +- 95 % CI half-width over test items, from the aggregated per-item metrics of
``--summary``; its ``method`` column holds the released model's name), the paper's value for the
A2SB row with the same partitioning (:data:`baselines.registry.METHODS`' paper label of the 1- or
2-partition row), and ours - paper. A model given no ``--model`` reads "not run: released
checkpoints not provided" (with the commands to get them under the table); a test set outside
``--datasets`` reads "not run: test set not evaluated in this profile". With ``--stand-in`` the
title says plainly that the weights are this run's own model, not NVIDIA's.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from baselines.registry import a2sb_method

from ._io import provenance_caption
from .tables import LOWER_IS_BETTER, METRIC_OF, NOT_RUN, TABLES, fmt, write_table

HF_PAGE = "https://huggingface.co/nvidia/audio_to_audio_schrodinger_bridge"
TITLE = "Released checkpoints against the paper's reported numbers"
NOT_PROVIDED = f"{NOT_RUN}: released checkpoints not provided"
NOT_AUDITED = f"{NOT_RUN}: not in released.models"
NOT_EVALUATED = f"{NOT_RUN}: test set not evaluated in this profile"
NOT_COMPUTED = f"{NOT_RUN}: metric not computed in this profile"
NA = "n/a"  # the paper's table has no such column (ViSQOL on Maestro, F1 elsewhere)
PAPER_STEPS = {"bandwidth_extension": 100, "inpainting": 200}


@dataclass(frozen=True)
class Released:
    """One released model: its files (t-range partitions) and the paper row it is compared with."""

    name: str
    partitions: int
    files: tuple[str, ...]

    @property
    def paper(self) -> str:
        return a2sb_method(self.partitions).paper or ""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.partitions} partition{'s' if self.partitions > 1 else ''})"


#: The release (table order): the two-split pair first, the model the official configs sample with.
RELEASED = {
    m.name: m
    for m in (
        Released("twosplit", 2, ("A2SB_twosplit_0.0_0.5_release.ckpt",
                                 "A2SB_twosplit_0.5_1.0_release.ckpt")),
        Released("onesplit", 1, ("A2SB_onesplit_0.0_1.0_release.ckpt",)),
    )
}  # fmt: skip
METRICS = list(dict.fromkeys(m for *_, metrics in TABLES.values() for m in metrics))


def ours_values(summary: pd.DataFrame | None) -> dict[tuple[str, str, str, str, str], tuple]:
    """``(model, task, dataset, setting, Metric) -> (mean, ci95 half-width, n)``."""
    out: dict[tuple[str, str, str, str, str], tuple] = {}
    if summary is None:
        return out
    for r in summary.itertuples(index=False):
        metric = METRIC_OF.get(str(r.metric), str(r.metric))
        key = (str(r.method), str(r.task), str(r.dataset), str(r.setting), metric)
        out[key] = (_num(r.mean), _num(r.ci95_halfwidth), int(_num(r.n) or 0))
    return out


def _num(value: object) -> float | None:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def paper_values(paper: pd.DataFrame) -> dict[tuple[str, str, str, str, str], float]:
    """``(paper method, task, dataset, setting, Metric) -> value`` of Tables 2-9."""
    return {
        (str(r.method), str(r.task), str(r.dataset), str(r.setting), str(r.metric)): float(r.value)
        for r in paper.itertuples(index=False)
    }


def ours_cell(value: tuple | None, metric: str) -> str:
    mean, half, n = value if value else (None, None, 0)
    if mean is None:
        return "-"
    ci = f" ± {fmt(half, metric)}" if half is not None else ""
    return f"{fmt(mean, metric)}{ci} (n={n})"


def diff_cell(ours: float | None, paper: float | None, metric: str) -> str:
    if ours is None or paper is None:
        return "-"
    return f"{ours - paper:+.2f}" if metric == "SiSpec" else f"{ours - paper:+.3f}"


def build_table(
    summary: pd.DataFrame | None,
    paper: pd.DataFrame,
    audited: Sequence[str],
    datasets: Sequence[str],
) -> tuple[pd.DataFrame, dict[str, tuple[int, int]]]:
    """The table of strings, and per audited model ``(cells with both values, ours better)``."""
    ours, theirs = ours_values(summary), paper_values(paper)
    computed = {(k[0], k[1], k[2], k[4]) for k in ours}  # (model, task, dataset, Metric)
    rows, index, tally = [], [], {m: (0, 0) for m in audited}
    for model in RELEASED.values():
        for task, dataset, settings, table_metrics in TABLES.values():
            for setting in settings:
                row: dict[str, str] = {"test set": dataset, "task": task, "setting": setting}
                for metric in METRICS:
                    p = theirs.get((model.paper, task, dataset, setting, metric))
                    if metric not in table_metrics:
                        row |= _cells(metric, NA, NA, NA)
                        continue
                    o, text = None, None
                    if model.name not in audited:
                        text = NOT_AUDITED if audited else NOT_PROVIDED
                    elif dataset not in datasets:
                        text = NOT_EVALUATED
                    elif (model.name, task, dataset, metric) not in computed:
                        text = NOT_COMPUTED
                    else:
                        value = ours.get((model.name, task, dataset, setting, metric))
                        o, text = (value[0] if value else None), ours_cell(value, metric)
                    row |= _cells(metric, text, fmt(p, metric), diff_cell(o, p, metric))
                    if o is not None and p is not None:
                        both, better = tally[model.name]
                        wins = o < p if metric in LOWER_IS_BETTER else o > p
                        tally[model.name] = (both + 1, better + int(wins))
                rows.append(row)
                index.append(model.label)
    table = pd.DataFrame(rows, index=pd.Index(index, name="released model"))
    return table, tally


def _cells(metric: str, ours: str, paper: str, diff: str) -> dict[str, str]:
    return {f"{metric} ours": ours, f"{metric} paper": paper, f"{metric} ours - paper": diff}


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: unreadable JSON ({err})") from None


def sources(bundle: Path) -> list[str]:
    """``file (sha256 ..., t in [lo, hi])`` of the released files a converted bundle was made from."""
    out = []
    for part in _read_json(bundle).get("partitions", []):
        sidecar = bundle.parent / Path(part["checkpoint"]).with_suffix(".json")
        extra = _read_json(sidecar).get("extra", {})
        name, digest = extra.get("converted_from", "?"), str(extra.get("source_sha256", "?"))
        out.append(f"{name} (sha256 {digest[:16]}, t in {part['t_range']})")
    return out


def title(stand_in: Sequence[str], profile: str | None) -> str:
    where = f" ({profile} profile)" if profile else ""
    if not stand_in:
        return TITLE + where
    parts = sorted(RELEASED[m].partitions for m in stand_in)
    if len(parts) == 1:
        what = f"stand-in checkpoint made from this run's own {parts[0]}-partition model"
    else:
        joined = "- and ".join(map(str, parts))
        what = f"stand-in checkpoints made from this run's own {joined}-partition models"
    return f"{TITLE}{where}: {what}, not NVIDIA's weights: this exercises the audit path only"


def how_to_run(profile: str | None) -> str:
    profile = profile or "default"
    configfile = "config/config.yaml" if profile == "default" else f"config/{profile}.yaml"
    flag = "" if profile == "default" else f" --configfile {configfile}"
    files = ", ".join(f for m in RELEASED.values() for f in m.files)
    return (
        f"To audit NVIDIA's weights: download {files} by hand from {HF_PAGE} (folder ckpt/); "
        f"set `released.checkpoints` in {configfile} to the folder holding them (or a list of "
        f"the files); then run `snakemake --cores all{flag} results/{profile}/tables/released.md`"
    )


def build(
    paper_csv: Path,
    out_prefix: Path,
    provenance: Path | None = None,
    summary_csv: Path | None = None,
    models: Mapping[str, Path] | None = None,
    stand_in: Mapping[str, Path] | None = None,
    datasets: Sequence[str] = (),
    steps: Mapping[str, int] | None = None,
    profile: str | None = None,
    notes: Sequence[str] = (),
) -> Path:
    """Write ``out_prefix.{csv,md,tex}``; return ``out_prefix``."""
    models, stand_in = dict(models or {}), dict(stand_in or {})
    unknown = sorted(set(models) - set(RELEASED)) + sorted(set(stand_in) - set(models))
    if unknown:
        raise ValueError(f"unknown or unconverted released model(s): {', '.join(unknown)}")
    if models and summary_csv is None:
        raise ValueError("--model given without --summary")
    summary = pd.read_csv(summary_csv, dtype={"setting": str}) if summary_csv else None
    paper = pd.read_csv(paper_csv, dtype={"setting": str})
    table, tally = build_table(summary, paper, list(models), datasets)
    steps = {**PAPER_STEPS, **(steps or {})}
    cut = " (the paper: 100 / 200)" if steps != PAPER_STEPS else " (the paper's)"
    lines = [
        "Paper column: the A2SB row of Tables 2-9 with the released model's partitioning: "
        + "; ".join(f"{m.name} ({' + '.join(m.files)}) against \"{m.paper}\""
                    for m in RELEASED.values())
        + ". The two-split pair is the model the official sampling config uses (t split at 0.5) "
        "and the paper's recommended balanced configuration; NVIDIA does not state that the "
        "released weights are those behind the paper's tables. The paper's 4-partition model is "
        "not released; on Maestro the paper reports only that model (trained on Maestro), so the "
        "released models' Maestro paper cells read \"-\".",
        "Protocol: the official one (`a2sb restore --protocol official`): the clean test file is "
        "fed and its representation masked (rows above the cutoff; the frames of the degrade "
        f"rule's gaps); steps n = {steps['bandwidth_extension']} (bandwidth extension) / "
        f"{steps['inpainting']} (inpainting){cut} on the official grid linspace(1, 0.05, n), "
        "n - 1 network calls; mono output, length a multiple of the hop.",
        "Ours: mean ± Student-t 95 % CI half-width over test items (n items), the metrics of "
        "Tables 2-9; ours - paper: difference of the means (LSD lower is better, the others "
        "higher).",
    ]  # fmt: skip
    for name, bundle in models.items():
        both, better = tally.get(name, (0, 0))
        origin = ""
        if name in stand_in:
            src = _read_json(Path(stand_in[name]))
            origin = (
                f"; STAND-IN written from {src.get('bundle')} "
                f"(sha256 {str(src.get('bundle_sha256'))[:16]}), not NVIDIA's weights"
            )
        lines.append(
            f"{RELEASED[name].label}: converted from {'; '.join(sources(Path(bundle)))}{origin}; "
            f"{both} cells with both values, ours better than the paper in {better}."
        )
    if not models or stand_in:
        lines.append(how_to_run(profile))
    lines += list(notes)
    lines.append(f"Provenance: {provenance_caption(provenance)}")
    write_table(out_prefix, table, title(list(stand_in), profile), lines)
    return out_prefix


def _pairs(items: Sequence[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"{what} expects NAME=VALUE, got {item!r}")
        out[key] = value
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reports.released", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--paper", type=Path, required=True, help="paper_results.csv (Tables 2-9)")
    p.add_argument("--provenance", type=Path, help="provenance JSON of the audit")
    p.add_argument("--summary", type=Path, help="aggregated metrics of the released models")
    p.add_argument("--model", action="append", default=[], metavar="NAME=BUNDLE",
                   help="an audited released model (twosplit, onesplit) and its converted bundle")  # fmt: skip
    p.add_argument("--stand-in", action="append", default=[], metavar="NAME=SOURCE_JSON",
                   help="the model is a stand-in (make_released_standin.py's source.json)")  # fmt: skip
    p.add_argument("--datasets", default="", help="comma-separated test sets evaluated")
    p.add_argument("--steps", action="append", default=[], metavar="TASK=N",
                   help="steps used (bandwidth_extension=N, inpainting=N)")  # fmt: skip
    p.add_argument("--profile", help="the profile's name (for the commands under the table)")
    p.add_argument("--note", action="append", default=[], help="a line under the table")
    p.add_argument("--out-prefix", type=Path, required=True)
    args = p.parse_args(argv)
    try:
        steps = {k: int(v) for k, v in _pairs(args.steps, "--steps").items()}
        prefix = build(
            args.paper,
            args.out_prefix,
            provenance=args.provenance,
            summary_csv=args.summary,
            models={k: Path(v) for k, v in _pairs(args.model, "--model").items()},
            stand_in={k: Path(v) for k, v in _pairs(args.stand_in, "--stand-in").items()},
            datasets=[d for d in args.datasets.split(",") if d],
            steps=steps,
            profile=args.profile,
            notes=args.note,
        )
    except (OSError, KeyError, ValueError) as exc:
        print(f"released: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {prefix}.csv/.md/.tex")
    return 0


if __name__ == "__main__":
    sys.exit(main())
