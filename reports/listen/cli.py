"""``python -m reports.listen {trials,serve,export,screen}``: see the package docstring."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

from a2sb.errors import A2SBError, InputError, report_error
from a2sb.io.atomic import check_not_inputs, check_output_path, write_text
from metrics.evaluate import rows_to_csv

from . import screen, server, trials
from .answers import AnswerLog, read

PROG = "python -m reports.listen"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("trials", help="write DIR/trials.json from DIR/stimuli.csv (seeded)")
    t.add_argument("folder", type=Path, help="the listening_test folder (stimuli.csv, audio/)")
    t.add_argument("--seed", type=int, default=0, help="trial order seed (default 0)")
    t.add_argument("--out", type=Path, help="default DIR/trials.json")
    s = sub.add_parser("serve", help="serve the rating page")
    s.add_argument("folder", type=Path, help="the listening_test folder (with trials.json)")
    s.add_argument("--answers", type=Path, required=True,
                   help="the answer log to append to (JSON lines; resumes from it); keep it "
                        "outside results/, which the pipeline rebuilds")  # fmt: skip
    s.add_argument("--mode", choices=trials.SCALES, default="mos",
                   help="mos: 1-5 per stimulus (the paper); mushra: 0-100 with hidden "
                        "reference and 3.5 kHz anchor")  # fmt: skip
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    s.add_argument("--per-rater", type=int, help="trials per rater (default: all)")
    s.add_argument("--raters", help="comma-separated rater ids; others are refused")
    for name, what in (("export", "write ratings.csv and the screening report"),
                       ("screen", "print the screening report only")):  # fmt: skip
        e = sub.add_parser(name, help=what)
        e.add_argument("folder", type=Path, help="the listening_test folder (stimuli.csv)")
        e.add_argument("--answers", type=Path, required=True, help="the answer log")
        e.add_argument("--scale", choices=trials.SCALES, default="mos")
        e.add_argument("--keep-incomplete", action="store_true",
                       help="keep raters who did not finish (screened on what they did)")  # fmt: skip
        if name == "export":
            e.add_argument("--out", type=Path, required=True,
                           help="ratings CSV (MOS: what reports.human_eval reads)")  # fmt: skip
            e.add_argument("--report", type=Path, help="default: OUT with .screening.md")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"trials": _trials, "serve": _serve, "export": _export, "screen": _export}[
            args.command
        ](args)
    except A2SBError as exc:
        return report_error(PROG, exc)


def _trials(args: argparse.Namespace) -> int:
    out = check_output_path(args.out or args.folder / "trials.json")
    data = trials.write(args.folder / "stimuli.csv", args.seed, out)
    print(f"{out}: {len(data['trials'])} trials, seed {args.seed}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    check_not_inputs([args.answers], [args.folder / "stimuli.csv", args.folder / "trials.json"])
    if args.answers.resolve().is_relative_to(args.folder.resolve()):
        raise InputError(f"{args.answers}: inside {args.folder}, which the pipeline replaces "
                         "when it draws the stimuli again; keep the answers elsewhere")  # fmt: skip
    raters = [r for r in args.raters.split(",") if r] if args.raters else None
    log = AnswerLog(args.answers)
    try:
        study = server.Study(args.folder, args.mode, log, args.per_rater, raters)
        n = len(study.plan("-"))
        notes = [f"{len(log.records) - study.others} answers of this session"]
        if study.others:
            notes.append(f"{study.others} of other sessions (left as they are)")
        if log.cut:
            notes.append(f"a torn last line cut off ({log.cut} bytes)")

        def announce(url: str) -> None:
            print(f"listening test ({args.mode}, {n} trials per rater) at {url}\n"
                  f"answers: {args.answers} ({'; '.join(notes)}); Ctrl-C stops", flush=True)  # fmt: skip

        server.serve(study, args.host, args.port, announce)
    finally:
        log.close()
    return 0


def _fmt(x: float) -> str:
    return "-" if math.isnan(x) else f"± {x:.2f}"


def _export(args: argparse.Namespace) -> int:
    stimuli_csv = args.folder / "stimuli.csv"
    stimuli = {r["stimulus"]: r for r in trials.read_stimuli(stimuli_csv)}
    records, torn = read(args.answers)
    mine, others = screen.select(records, trials.file_sha(stimuli_csv), args.scale)
    result = screen.screen(mine, keep_incomplete=args.keep_incomplete)
    rows = screen.rows(mine, result.kept)
    notes = list(result.notes)
    if others:
        notes.append(f"{others} answers of another stimuli.csv or scale left out")
    if torn:
        notes.append("a torn last line (a trial cut by a crash) left out")
    raters = sorted({r for r, _ in result.kept})
    lines = [f"# Listening test screening ({args.scale})", "",
             f"Answers: {args.answers}; stimuli: {stimuli_csv}.",
             f"Kept: {len(raters)} raters, {len(rows)} ratings.", "",
             *[f"- {line}" for line in result.lines or ["no answers of this test"]],
             *[f"- note: {n}" for n in notes], "",
             "| task | test set | method | mean | 95 % CI | n | raters |",
             "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for s in screen.summary(rows, stimuli):
        lines.append(f"| {s['task']} | {s['dataset']} | {s['method']} | {s['mean']:.2f} | "
                     f"{_fmt(s['ci95'])} | {s['n']} | {s['raters']} |")  # fmt: skip
    report = "\n".join(lines) + "\n"
    if args.command == "screen":
        print(report, end="")
        return 0
    out = check_output_path(args.out)
    report_path = check_output_path(args.report or out.with_suffix(".screening.md"))
    check_not_inputs([out, report_path], [args.answers, stimuli_csv])
    write_text(out, rows_to_csv(rows, screen.COLUMNS))
    write_text(report_path, report)
    print(f"{out}: {len(rows)} ratings of {len(raters)} raters kept; report: {report_path}")
    return 0
