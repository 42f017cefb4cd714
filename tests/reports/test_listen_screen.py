"""Post-screening and the ratings rows (reports/listen/screen.py): MUSHRA's hidden-reference rule
(below 90 in more than 15 % of trials), MOS's repeated trial, unfinished raters, repeats never
counted, means with Student-t intervals."""

from __future__ import annotations

import pytest

from reports.listen import screen


def mushra(rater: str, ref_scores: list[int]) -> list[dict]:
    n = len(ref_scores)
    return [{"rater": rater, "scale": "mushra", "session": "s1", "stimuli_sha": "a", "k": k + 1,
             "n": n, "excerpt": f"x{k:03d}", "repeat": False,
             "ratings": [{"stimulus": f"s{k}r.wav", "role": "hidden_reference", "score": ref,
                          "plays": 1},
                         {"stimulus": f"anchor3500:s{k}r.wav", "role": "anchor", "score": 10,
                          "plays": 1},
                         {"stimulus": f"s{k}t.wav", "role": "test", "score": 50, "plays": 2}]}
            for k, ref in enumerate(ref_scores)]  # fmt: skip


def mos(rater: str, first: list[int], again: list[int] | None, n_trials: int = 2) -> list[dict]:
    """``n_trials`` trials of two stimuli, the first scored ``first``; the repeat ``again``."""
    out = []
    for k in range(1, n_trials + 1):
        scores = first if k == 1 else [3, 3]
        out.append({"rater": rater, "scale": "mos", "session": "s1", "stimuli_sha": "a", "k": k,
                    "n": n_trials + 1, "excerpt": f"x{k:03d}", "repeat": False, "seconds": 9.5,
                    "ratings": [{"stimulus": f"s{k}{j}.wav", "role": "test", "score": s,
                                 "plays": 1} for j, s in enumerate(scores)]})  # fmt: skip
    if again is not None:
        out.append({**out[0], "k": n_trials + 1, "repeat": True,
                    "ratings": [{"stimulus": f"s1{j}.wav", "role": "test", "score": s, "plays": 1}
                                for j, s in reversed(list(enumerate(again)))]})  # fmt: skip
    return out


def test_mushra_hidden_reference_rule() -> None:
    # 20 trials: 3 below 90 is 15 % (kept), 4 is 20 % (excluded)
    kept = mushra("good", [100] * 17 + [80] * 3)
    dropped = mushra("bad", [100] * 16 + [80] * 4)
    result = screen.screen(kept + dropped)
    assert result.kept == {("good", "s1")}
    line = next(x for x in result.lines if "bad" in x)
    assert "in 4 of 20 trials (20%" in line and line.endswith("excluded")
    rows = screen.rows(kept + dropped, result.kept)
    assert {r["rater"] for r in rows} == {"good"} and len(rows) == 20 * 3
    assert {r["role"] for r in rows} == {"hidden_reference", "anchor", "test"}


def test_mos_repeat_consistency() -> None:
    steady = mos("steady", [5, 1], [4, 2])  # differs by 1.0 on average: kept
    erratic = mos("erratic", [5, 1], [2, 4])  # by 3.0: excluded
    result = screen.screen(steady + erratic)
    assert result.kept == {("steady", "s1")}
    assert any("erratic" in x and "differs by 3.00" in x and "excluded" in x for x in result.lines)
    rows = screen.rows(steady + erratic, result.kept)
    assert len(rows) == 4 and all(r["k"] != 3 for r in rows)  # the repeat is never a rating
    assert {r["trial_seconds"] for r in rows} == {9.5}


def test_unfinished_raters() -> None:
    quit_early = mos("quitter", [5, 1], None)  # 2 of 3 trials
    result = screen.screen(quit_early)
    assert not result.kept and "unfinished (2 of 3 trials)" in result.lines[0]
    result = screen.screen(quit_early, keep_incomplete=True)
    assert result.kept == {("quitter", "s1")} and "not checked" in result.lines[0]


def test_duplicates_and_selection() -> None:
    records = mos("r", [5, 1], [5, 1])
    result = screen.screen(records + records[:1])
    assert "1 answers given twice" in result.notes[0]
    other = [{**r, "stimuli_sha": "b"} for r in records]
    mine, others = screen.select(records + other, "a", "mos")
    assert mine == records and others == len(other)


def test_summary_mean_and_interval() -> None:
    rows = [{"stimulus": "s1.wav", "rater": r, "score": s, "scale": "mos", "role": "test"}
            for r, s in (("a", 4), ("b", 5), ("c", 3))]  # fmt: skip
    stimuli = {"s1.wav": {"task": "inpainting", "dataset": "AAM", "method": "a2sb_p2"}}
    (row,) = screen.summary(rows, stimuli)
    assert (row["method"], row["mean"], row["n"], row["raters"]) == ("a2sb_p2", 4.0, 3, 3)
    assert row["ci95"] == pytest.approx(4.303 * 1.0 / 3**0.5, rel=1e-3)  # t(0.975, 2) sd/sqrt(n)
