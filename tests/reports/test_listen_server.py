"""The listening page's server (reports/listen/server.py) over HTTP with urllib: the trial flow,
blindness of every response, answer checks, resuming from the log, a restarted server, the
rater list, MUSHRA's anchor, and routes that must not exist."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import numpy as np
import pytest
import soundfile as sf

from reports.listen import trials
from reports.listen.answers import AnswerLog, read
from reports.listen.server import Study, make_server
from tests.reports.listen_synth import METHODS, make_stimuli

SECRETS = [*METHODS, ".wav", "AAM", "MTD", "inpainting", "bandwidth"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "listening_test"
    make_stimuli(folder, seconds=0.5)
    trials.write(folder / "stimuli.csv", 0, folder / "trials.json")
    return folder


@contextmanager
def running(folder: Path, log_path: Path, mode: str = "mos", **kw) -> Iterator[str]:
    log = AnswerLog(log_path)
    server = make_server(Study(folder, mode, log, **kw))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        log.close()


def call(base: str, path: str, body: object = None) -> tuple[int, bytes, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = Request(base + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urlopen(request, timeout=10) as r:
            return r.status, r.read(), dict(r.headers)
    except HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def api(base: str, path: str, body: object = None) -> dict:
    status, data, _ = call(base, path, body)
    assert status == 200, (path, status, data)
    for word in SECRETS:  # the page's JSON names no method, file, test set or task
        assert word.lower() not in data.decode().lower(), (word, data)
    return json.loads(data)


def answer(trial: dict, rater: str, score: int = 3, **changes) -> dict:
    return {"rater": rater, "k": trial["k"], "seconds": 12.5,
            "scores": {s["id"]: score for s in trial["samples"]},
            "plays": {s["id"]: 1 for s in trial["samples"]}, **changes}  # fmt: skip


def files_by_bytes(folder: Path) -> dict[bytes, str]:
    return {p.read_bytes(): p.name for p in (folder / "audio").glob("*.wav")}


def test_mos_flow(folder: Path, tmp_path: Path) -> None:
    log = tmp_path / "answers.jsonl"
    with running(folder, log) as base:
        assert api(base, "/api/session?rater=r01") == {"rater": "r01", "scale": "mos", "n": 3,
                                                        "next": 1, "done": False, "answered": 0}  # fmt: skip
        training = api(base, "/api/training?rater=r01")
        assert len(training["samples"]) == len(METHODS) and training["ref"] is None
        trial = api(base, "/api/trial?rater=r01&k=1")
        assert trial == api(base, "/api/trial?rater=r01&k=1")  # a reload gets the same tokens
        assert [s["label"] for s in trial["samples"]] == list("ABCDE")
        assert not {s["id"] for s in trial["samples"]} & {s["id"] for s in training["samples"]}
        by_bytes = files_by_bytes(folder)
        played = {
            s["label"]: by_bytes[call(base, f"/audio/{s['id']}")[1]] for s in trial["samples"]
        }

        status, body, _ = call(base, "/api/answer", answer(trial, "r01", score=6))
        assert status == 400 and b"sample A: no score in 1-5" in body
        status, body, _ = call(base, "/api/answer", answer(trial, "r01", plays={}))
        assert status == 400 and b"no play count" in body
        status, body, _ = call(base, "/api/answer", {**answer(trial, "r01"), "k": 2})
        assert status == 409 and b"trial 1 comes first" in body
        scores = {s["id"]: i + 1 for i, s in enumerate(trial["samples"])}
        assert api(base, "/api/answer", answer(trial, "r01", scores=scores)) == {
            "next": 2, "done": False, "duplicate": False}  # fmt: skip
        again = api(base, "/api/answer", answer(trial, "r01", scores=scores))
        assert again["duplicate"] and again["next"] == 2  # a retry is acknowledged, not stored
        assert api(base, "/api/session?rater=r01")["answered"] == 1
    (line,) = read(log)[0]
    assert line["rater"] == "r01" and line["k"] == 1 and not line["repeat"] and line["n"] == 3
    assert {x["label"]: x["stimulus"] for x in line["ratings"]} == played
    assert [x["score"] for x in line["ratings"]] == [1, 2, 3, 4, 5]
    assert line["seconds"] == 12.5 and all(x["plays"] == 1 for x in line["ratings"])


def test_resume_and_restarted_server(folder: Path, tmp_path: Path) -> None:
    log = tmp_path / "answers.jsonl"
    with running(folder, log) as base:
        api(base, "/api/answer", answer(api(base, "/api/trial?rater=r01&k=1"), "r01"))
        old = api(base, "/api/trial?rater=r01&k=2")
    with running(folder, log) as base:  # killed and started again
        assert api(base, "/api/session?rater=r01")["next"] == 2
        status, body, _ = call(base, "/api/answer", answer(old, "r01"))
        assert status == 409 and json.loads(body)["reload"] is True  # old tokens: rate again
        for k in (2, 3):
            done = api(base, "/api/answer", answer(api(base, f"/api/trial?rater=r01&k={k}"), "r01"))
        assert done == {"next": 0, "done": True, "duplicate": False}
        assert api(base, "/api/session?rater=r01")["done"]
    assert [r["k"] for r in read(log)[0]] == [1, 2, 3]
    with running(folder, log, "mos", per_rater=1) as base:  # another session: starts afresh
        assert api(base, "/api/session?rater=r01") == {"rater": "r01", "scale": "mos", "n": 2,
                                                        "next": 1, "done": False, "answered": 0}  # fmt: skip


def test_rater_ids(folder: Path, tmp_path: Path) -> None:
    with running(folder, tmp_path / "answers.jsonl", raters=["r01", "r02"]) as base:
        assert api(base, "/api/session?rater=r02")["next"] == 1
        status, body, _ = call(base, "/api/session?rater=r03")
        assert status == 403 and b"unknown rater id r03" in body
        status, body, _ = call(base, "/api/trial?rater=a%20b&k=1")
        assert status == 400 and b"rater id: 1-40 letters" in body
        assert call(base, "/api/session")[0] == 400
        assert call(base, "/api/session?rater=r01%0A")[0] == 400  # no trailing newline either


def test_mushra_reference_and_anchor(folder: Path, tmp_path: Path) -> None:
    with running(folder, tmp_path / "answers.jsonl", "mushra") as base:
        assert api(base, "/api/session?rater=r01")["n"] == 2  # no repeat in MUSHRA
        trial = api(base, "/api/trial?rater=r01&k=1")
        assert len(trial["samples"]) == len(METHODS) + 1 and trial["ref"]
        by_bytes = files_by_bytes(folder)
        ref_bytes = call(base, f"/audio/{trial['ref']}")[1]
        reference = by_bytes[ref_bytes]
        audio = {s["label"]: call(base, f"/audio/{s['id']}")[1] for s in trial["samples"]}
        hidden = [k for k, v in audio.items() if v == ref_bytes]
        (anchor,) = [k for k, v in audio.items() if v not in by_bytes]
        assert len(hidden) == 1
        low, rate = sf.read(io.BytesIO(audio[anchor]))
        ref, _ = sf.read(folder / "audio" / reference)

        def above(x: np.ndarray, hz: float) -> float:
            spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
            return spec[np.fft.rfftfreq(len(x), 1 / rate) > hz].sum() / spec.sum()

        assert above(ref, 4500) > 1e-5 and above(low, 4500) < 1e-3 * above(ref, 4500)  # -30 dB
        scores = {s["id"]: 50 for s in trial["samples"]}
        status, body, _ = call(base, "/api/answer", answer(trial, "r01", scores=scores))
        assert status == 400 and b"reference_plays" in body
        api(base, "/api/answer", answer(trial, "r01", scores=scores, reference_plays=2))
    (line,) = read(tmp_path / "answers.jsonl")[0]
    roles = {x["label"]: x["role"] for x in line["ratings"]}
    assert roles[hidden[0]] == "hidden_reference" and roles[anchor] == "anchor"
    assert line["reference_plays"] == 2 and line["scale"] == "mushra"


def test_routes_and_headers(folder: Path, tmp_path: Path) -> None:
    with running(folder, tmp_path / "answers.jsonl") as base:
        status, page, headers = call(base, "/")
        assert status == 200 and b"/static/app.js" in page
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        for path in (
            "/static/../server.py",
            "/static/",
            "/audio/0123456789abcdef",
            "/trials.json",
            "/stimuli.csv",
            "/audio/../stimuli.csv",
            "/api/trial?rater=r01&k=x",
        ):
            assert call(base, path)[0] in (400, 404), path
        assert call(base, "/api/trial?rater=r01&k=9")[0] == 404
        assert call(base, "/api/nothing", {"a": 1})[0] == 404
        request = Request(base + "/api/answer", data=b"{not json", method="POST")
        with pytest.raises(HTTPError) as err:
            urlopen(request, timeout=10)
        assert err.value.code == 400
