"""The answer log (reports/listen/answers.py): one line and one fsync per answer, a torn last
line cut off, one server per log, malformed lines named."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from a2sb.errors import InputError
from reports.listen import answers
from reports.listen.answers import AnswerLog


def record(k: int, rater: str = "r01") -> dict:
    return {"rater": rater, "scale": "mos", "session": "abc", "stimuli_sha": "0" * 64, "k": k,
            "n": 3, "excerpt": "x000", "repeat": False,
            "ratings": [{"stimulus": "s00000.wav", "role": "test", "score": 4, "plays": 1}]}  # fmt: skip


def test_each_answer_is_one_synced_line(tmp_path: Path, monkeypatch) -> None:
    synced = []
    real = os.fsync
    monkeypatch.setattr(answers.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    log = AnswerLog(tmp_path / "new" / "answers.jsonl")
    before = len(synced)
    log.append(record(1))
    log.append(record(2))
    assert len(synced) - before == 2  # one fsync per answer
    log.close()
    lines = (tmp_path / "new" / "answers.jsonl").read_text().splitlines()
    assert [json.loads(x)["k"] for x in lines] == [1, 2]
    assert json.loads(lines[0])["v"] == answers.VERSION


def test_torn_last_line_is_cut_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    log = AnswerLog(path)
    log.append(record(1))
    log.close()
    whole = path.read_bytes()
    with open(path, "ab") as f:
        f.write(json.dumps({"v": 1, **record(2)}).encode()[:40])  # killed mid-write
    got, torn = answers.read(path)
    assert torn and [r["k"] for r in got] == [1]
    log = AnswerLog(path)
    assert log.cut == 40 and path.read_bytes() == whole and [r["k"] for r in log.records] == [1]
    log.append(record(2))
    log.close()
    assert [r["k"] for r in answers.read(path)[0]] == [1, 2]


def test_one_server_per_log(tmp_path: Path) -> None:
    log = AnswerLog(tmp_path / "answers.jsonl")
    with pytest.raises(InputError, match="in use by another listening-test server"):
        AnswerLog(tmp_path / "answers.jsonl")
    log.close()
    AnswerLog(tmp_path / "answers.jsonl").close()  # free again


def test_malformed_lines_are_named(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    with pytest.raises(InputError, match="no answer log"):
        answers.read(path)
    path.write_text(json.dumps({"v": 1, **record(1)}) + "\nnot json\n")
    with pytest.raises(InputError, match=r"answers.jsonl, line 2: not JSON"):
        answers.read(path)
    path.write_text(json.dumps({"v": 1, "rater": "r01"}) + "\n")
    with pytest.raises(InputError, match=r"line 1: answer without scale"):
        AnswerLog(path)
    path.write_text(json.dumps({"v": 1, **record(1), "k": "1"}) + "\n")
    with pytest.raises(InputError, match=r"line 1: answer with a malformed k"):
        answers.read(path)
    with pytest.raises(InputError, match="is a directory"):
        AnswerLog(tmp_path)
