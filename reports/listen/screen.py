"""Post-screening of the raters, the ``ratings.csv`` rows of those kept, and per-method means.

A participation is one rater's answers in one session (stimuli list, trial list, scale and
trials per rater, :class:`.server.Study`). It counts when the rater finished it (every trial
answered; ``keep_incomplete`` keeps unfinished ones) and passes the scale's screening:

- MUSHRA (ITU-R BS.1534-3, post-screening): a rater who scores the hidden reference below 90 in
  more than 15 % of their trials is excluded.
- MOS: the consistency check on the repeated trial (the rater's first trial, played again last
  with its stimuli reshuffled): a rater whose repeat scores differ from their first scores by
  more than ``max_repeat_diff`` points on average (absolute difference per stimulus) is excluded.

Repeat answers never reach ``ratings.csv`` (the excerpt would count twice), nor does MUSHRA's
anchor of another scale than the one exported. Means: Student-t 95 % half-width over ratings,
as :func:`reports.human_eval.mos`.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from scipy import stats

from .trials import ANCHOR_PREFIX

REF_BELOW = 90.0
MAX_SHARE = 0.15
MAX_REPEAT_DIFF = 1.0
COLUMNS = ["stimulus", "rater", "score", "scale", "excerpt", "k", "role", "plays",
           "reference_plays", "trial_seconds", "answered_at", "stimuli_sha"]  # fmt: skip
ROLE_LABEL = {"hidden_reference": "hidden reference", "anchor": "anchor (3.5 kHz low-pass)"}


@dataclass
class Screening:
    """The participations kept (rater, session), one report line per participation, and notes
    on what was left out of the log (other sessions, duplicate answers)."""

    kept: set[tuple[str, str]] = field(default_factory=set)
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _participations(records: list[dict]) -> tuple[dict[tuple[str, str], list[dict]], int]:
    """Answers grouped by (rater, session), the first answer of each trial only; duplicates."""
    out: dict[tuple[str, str], dict[int, dict]] = defaultdict(dict)
    dup = 0
    for r in records:
        trials = out[(r["rater"], r["session"])]
        if r["k"] in trials:
            dup += 1
        else:
            trials[r["k"]] = r
    return {key: [t[k] for k in sorted(t)] for key, t in out.items()}, dup


def _score(rating: dict) -> float:
    return float(rating["score"])


def screen(
    records: list[dict],
    *,
    keep_incomplete: bool = False,
    ref_below: float = REF_BELOW,
    max_share: float = MAX_SHARE,
    max_repeat_diff: float = MAX_REPEAT_DIFF,
) -> Screening:
    """Screen the answers of one scale and one stimuli list (:func:`select` them first)."""
    out = Screening()
    groups, dup = _participations(records)
    if dup:
        out.notes.append(f"{dup} answers given twice for one trial: the first kept")
    raters = defaultdict(list)
    for rater, session in groups:
        raters[rater].append(session)
    for rater, sessions in sorted(raters.items()):
        if len(sessions) > 1:
            out.notes.append(f"rater {rater} took {len(sessions)} sessions (other trial lists or "
                             "trials per rater): each screened on its own")  # fmt: skip
    for (rater, session), answers in sorted(groups.items()):
        n = int(answers[0]["n"])
        done = len(answers)
        complete = {a["k"] for a in answers} == set(range(1, n + 1))
        verdict, why = _verdict(answers, ref_below, max_share, max_repeat_diff)
        if not complete and not keep_incomplete:
            verdict = False
            why = f"unfinished ({done} of {n} trials); {why}"
        elif not complete:
            why = f"unfinished ({done} of {n} trials, kept); {why}"
        out.lines.append(f"rater {rater} (session {session}): {why}: "
                         f"{'kept' if verdict else 'excluded'}")  # fmt: skip
        if verdict:
            out.kept.add((rater, session))
    return out


def _verdict(
    answers: list[dict], ref_below: float, max_share: float, max_repeat_diff: float
) -> tuple[bool, str]:
    scale = answers[0]["scale"]
    first = [a for a in answers if not a["repeat"]]
    if scale == "mushra":
        refs = [min(_score(x) for x in a["ratings"] if x["role"] == "hidden_reference")
                for a in first]  # fmt: skip
        low = sum(s < ref_below for s in refs)
        share = low / len(refs) if refs else 0.0
        return share <= max_share, (f"hidden reference below {ref_below:g} in {low} of "
                                    f"{len(refs)} trials ({share:.0%}, limit {max_share:.0%})")  # fmt: skip
    again = [a for a in answers if a["repeat"]]
    if not again:
        return True, "repeated trial not reached: consistency not checked"
    once = next((a for a in first if a["excerpt"] == again[0]["excerpt"]), None)
    if once is None:
        return True, "first answer of the repeated excerpt missing: consistency not checked"
    before = {x["stimulus"]: _score(x) for x in once["ratings"]}
    diffs = [abs(_score(x) - before[x["stimulus"]]) for x in again[0]["ratings"]
             if x["stimulus"] in before]  # fmt: skip
    diff = statistics.fmean(diffs) if diffs else float("nan")
    return diff <= max_repeat_diff, (f"repeated trial differs by {diff:.2f} points on average "
                                     f"(limit {max_repeat_diff:g} point)")  # fmt: skip


def select(records: list[dict], stimuli_sha: str, scale: str) -> tuple[list[dict], int]:
    """The answers given to this ``stimuli.csv`` (sha256) on ``scale``, and how many others."""
    mine = [r for r in records if r["stimuli_sha"] == stimuli_sha and r["scale"] == scale]
    return mine, len(records) - len(mine)


def rows(records: list[dict], kept: set[tuple[str, str]]) -> list[dict]:
    """``ratings.csv`` rows (:data:`COLUMNS`) of the kept participations, repeats left out."""
    groups, _ = _participations(records)
    out = []
    for key, answers in sorted(groups.items()):
        if key not in kept:
            continue
        for a in answers:
            if a["repeat"]:
                continue
            for x in a["ratings"]:
                out.append({"stimulus": x["stimulus"], "rater": a["rater"], "score": x["score"],
                            "scale": a["scale"], "excerpt": a["excerpt"], "k": a["k"],
                            "role": x["role"], "plays": x["plays"],
                            "reference_plays": "" if a.get("reference_plays") is None
                            else a["reference_plays"],
                            "trial_seconds": a.get("seconds", ""),
                            "answered_at": a.get("answered_at", ""),
                            "stimuli_sha": a["stimuli_sha"]})  # fmt: skip
    return out


def summary(ratings: list[dict], stimuli: dict[str, dict[str, str]]) -> list[dict]:
    """Mean score and Student-t 95 % half-width per scale, task, test set and method (MUSHRA's
    hidden reference and anchor as rows of their own); ``stimuli`` maps name -> stimuli.csv row."""
    groups: dict[tuple[str, str, str, str], list[dict]] = defaultdict(list)
    for r in ratings:
        row = stimuli.get(str(r["stimulus"]).removeprefix(ANCHOR_PREFIX), {})
        method = ROLE_LABEL.get(r["role"], row.get("method", "?"))
        groups[(r["scale"], row.get("task", "?"), row.get("dataset", "?"), method)].append(r)
    out = []
    for (scale, task, dataset, method), g in sorted(groups.items()):
        scores = [float(r["score"]) for r in g]
        n = len(scores)
        half = (stats.t.ppf(0.975, n - 1) * statistics.stdev(scores) / math.sqrt(n)
                if n > 1 else float("nan"))  # fmt: skip
        out.append({"scale": scale, "task": task, "dataset": dataset, "method": method,
                    "mean": statistics.fmean(scores), "ci95": half, "n": n,
                    "raters": len({r["rater"] for r in g})})  # fmt: skip
    return out
