"""``python -m reports.listen``: the trial list, one-line errors, and ``export`` feeding
``reports.human_eval`` (which refuses MUSHRA scores and ratings of another stimuli list)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from reports import human_eval
from reports.listen import cli, trials
from reports.listen.answers import AnswerLog
from reports.listen.server import Study
from tests.reports.listen_synth import METHODS, make_stimuli


def one_line_error(capsys, argv: list[str], *needles: str) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m reports.listen: error: ") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err


def test_trials_command_and_errors(tmp_path: Path, capsys) -> None:
    answers = tmp_path.parent / f"{tmp_path.name}_answers.jsonl"
    one_line_error(capsys, ["trials", str(tmp_path)], "stimuli.csv: cannot read")
    make_stimuli(tmp_path, seconds=0.2)
    one_line_error(capsys, ["serve", str(tmp_path), "--answers", str(answers)],
                   "trials.json: no trial list; write it with")  # fmt: skip
    assert not answers.exists()  # a failed start leaves no empty log behind
    assert cli.main(["trials", str(tmp_path), "--seed", "4"]) == 0
    data = json.loads((tmp_path / "trials.json").read_text())
    assert data["seed"] == 4 and len(data["trials"]) == 2
    (tmp_path / "audio" / "s00003.wav").unlink()
    one_line_error(capsys, ["serve", str(tmp_path), "--answers", str(answers)],
                   "s00003.wav: stimulus file missing")  # fmt: skip
    one_line_error(capsys, ["serve", str(tmp_path), "--answers", str(tmp_path / "trials.json")],
                   "would overwrite the input")  # fmt: skip
    one_line_error(capsys, ["serve", str(tmp_path), "--answers", str(tmp_path / "x" / "a.jsonl")],
                   "which the pipeline replaces")  # fmt: skip
    one_line_error(capsys, ["export", str(tmp_path), "--answers", str(tmp_path / "none.jsonl"),
                            "--out", str(tmp_path / "r.csv")], "none.jsonl: no answer log")  # fmt: skip


def answer_all(folder: Path, log_path: Path, scale: str, rater: str, score: int) -> None:
    """Answer every trial of ``rater`` through :class:`Study` (the HTTP layer has its tests)."""
    log = AnswerLog(log_path)
    study = Study(folder, scale, log)
    for k in range(1, study.session_info(rater)["n"] + 1):
        trial = study.trial(rater, k)
        ids = [s["id"] for s in trial["samples"]]
        study.answer({"rater": rater, "k": k, "seconds": 3.0, "scores": dict.fromkeys(ids, score),
                      "plays": dict.fromkeys(ids, 1),
                      "reference_plays": 1 if trial["ref"] else None})  # fmt: skip
    log.close()


def test_export_feeds_human_eval(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "listening_test"
    make_stimuli(folder, seconds=0.2)
    trials.write(folder / "stimuli.csv", 0, folder / "trials.json")
    log = tmp_path / "answers.jsonl"
    answer_all(folder, log, "mos", "r01", 4)
    answer_all(folder, log, "mushra", "r01", 100)
    out = tmp_path / "ratings.csv"
    assert cli.main(["export", str(folder), "--answers", str(log), "--out", str(out)]) == 0
    ratings = pd.read_csv(out)
    assert len(ratings) == 2 * len(METHODS) and set(ratings["score"]) == {4}
    assert set(ratings["scale"]) == {"mos"}  # the MUSHRA answers stay out of the MOS file
    report = (tmp_path / "ratings.screening.md").read_text()
    assert (
        "Kept: 1 raters, 10 ratings" in report
        and "answers of another stimuli.csv or scale" in report
    )
    checked = human_eval.check_ratings(ratings, out, folder / "stimuli.csv")
    ours = human_eval.mos(checked, pd.read_csv(folder / "stimuli.csv"))
    assert set(ours["mos"]) == {4.0} and len(ours) == 2 * len(METHODS)

    mushra = tmp_path / "mushra.csv"
    assert cli.main(["export", str(folder), "--answers", str(log), "--out", str(mushra),
                     "--scale", "mushra"]) == 0  # fmt: skip
    with pytest.raises(ValueError, match="holds mushra ratings, not MOS"):
        human_eval.check_ratings(pd.read_csv(mushra), mushra, folder / "stimuli.csv")
    with open(folder / "stimuli.csv", "a") as f:  # the stimuli drawn again: names mean others
        f.write("s09999.wav,inpainting,AAM,,reference,x.wav,9,0,1\n")
    with pytest.raises(ValueError, match="rated with another stimuli.csv"):
        human_eval.check_ratings(ratings, out, folder / "stimuli.csv")

    assert cli.main(["screen", str(folder), "--answers", str(log), "--scale", "mushra"]) == 0
    printed = capsys.readouterr().out
    assert "0 raters" in printed  # the stimuli.csv changed: no answer matches it any more
