"""The listening page in a real chromium (Debian's, driven by Playwright).

A script plays the rater: it takes the training page, plays every sample of each trial and rates
it, reloads the page in the middle of a trial, kills the server there and starts it again, and
finishes; then ``python -m reports.listen export`` writes the ratings CSV, which must hold exactly
the scores the script gave. The script knows which sample is which only because the test
identifies each sample's audio by its bytes against the stimulus files (the page cannot): its
scores follow :data:`MOS_BY_METHOD`, so the CSV is test data, never a listening result. The test
also checks that no method, stimulus file, test-set or task name reaches the page, its URLs or
its JSON. Screenshots of a trial at desktop (1280x800) and phone (390x844) widths are written to
``$LISTEN_TEST_ARTIFACTS`` when set (the README's come from there), with the test's ratings CSV.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import urlopen

import pandas as pd
import pytest

from reports import human_eval
from reports.listen import trials
from tests.reports.listen_synth import METHODS, make_stimuli

ROOT = Path(__file__).resolve().parents[2]
MOS_BY_METHOD = {"reference": 5, "a2sb_p2": 4, "audiosr": 3, "sbr": 2, "degraded": 1}
MUSHRA_BY_ROLE = {"hidden_reference": 100, "anchor": 10}
MUSHRA_BY_METHOD = {"a2sb_p2": 85, "audiosr": 65, "sbr": 45, "degraded": 25}
SECRET_WORDS = [m for m in METHODS if m != "reference"] + [
    "bandwidth_extension", "inpainting", "AAM", "MTD", ".wav", "stimulus"]  # fmt: skip
STIMULUS_NAME = re.compile(r"s\d{5}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python -m reports.listen serve`` as a child process on a fixed port."""

    def __init__(self, folder: Path, answers: Path, mode: str) -> None:
        self.args = [sys.executable, "-m", "reports.listen", "serve", str(folder), "--answers",
                     str(answers), "--mode", mode, "--port", str(free_port())]  # fmt: skip
        self.proc: subprocess.Popen | None = None

    def start(self) -> str:
        self.proc = subprocess.Popen(self.args, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)  # fmt: skip
        line = self.proc.stdout.readline()
        assert " at http://" in line, line + self.proc.stdout.read()
        self.url = line.split(" at ")[1].split()[0]
        return self.url

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as with a crash or a pulled plug."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


def get(url: str) -> bytes:
    with urlopen(url, timeout=10) as response:
        return response.read()


class Oracle:
    """What the script knows and the page must not: which stimulus each label of a trial plays
    (from the trial's tokens and the audio's bytes, fetched beside the page)."""

    def __init__(self, folder: Path, rows: list[dict]) -> None:
        self.method = {r["stimulus"]: r["method"] for r in rows}
        self.by_sha = {hashlib.sha256((folder / "audio" / r["stimulus"]).read_bytes()).digest():
                       r["stimulus"] for r in rows}  # fmt: skip
        self.json_bodies: list[str] = []

    def labels(self, base: str, rater: str, k: int) -> dict[str, tuple[str, str]]:
        """label -> (role, method) of trial ``k`` (0: the training page) of ``rater``."""
        path = "api/training?" if k == 0 else f"api/trial?k={k}&"
        body = get(f"{base}{path}rater={rater}").decode()
        self.json_bodies.append(body)
        out = {}
        data = json.loads(body)
        for s in data["samples"]:
            name = self.by_sha.get(hashlib.sha256(get(f"{base}audio/{s['id']}")).digest())
            if name is None:
                out[s["label"]] = ("anchor", "reference")  # not a stimulus file: the low-pass
            else:
                method = self.method[name]
                hidden = method == "reference" and data["ref"]
                out[s["label"]] = ("hidden_reference" if hidden else "test", method)
        return out


def check_blind(page, urls: list[str], oracle: Oracle, base: str, mos: bool) -> None:
    """No method, file, test-set or task name in the page, its URLs, its files or its JSON."""
    static = [get(base + p).decode() for p in ("", "static/app.js", "static/style.css")]
    texts = [*static, *oracle.json_bodies, page.content(), "\n".join(urls)]
    for text in texts:
        for word in SECRET_WORDS:
            assert word.lower() not in text.lower(), (word, text[:200])
        assert not STIMULUS_NAME.search(text), STIMULUS_NAME.search(text)
    for body in oracle.json_bodies:  # the JSON names no method at all, the reference included
        assert "reference" not in body.lower(), body
    if mos:  # MOS shows no reference; MUSHRA names the open one, as it should
        assert "reference" not in page.inner_text("body").lower()
    for url in urls:
        if url.startswith(f"blob:{base}"):  # the page's own copies of the audio
            assert re.fullmatch(r"[0-9a-f-]{36}", url.removeprefix(f"blob:{base}")), url
            continue
        assert url.startswith(base), url  # nothing from elsewhere: the page works offline
        path = urlsplit(url)
        assert re.fullmatch(r"/(static/(app\.js|style\.css)|api/(session|training|trial|answer)"
                            r"|audio/[0-9a-f]{16})?", path.path), url  # fmt: skip
        assert set(q.split("=")[0] for q in path.query.split("&") if q) <= {"rater", "k"}, url


def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("LISTEN_TEST_ARTIFACTS") or tmp_path / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def setup(tmp_path: Path) -> tuple[Path, list[dict], Path]:
    folder = tmp_path / "listening_test"
    rows = make_stimuli(folder)
    trials.write(folder / "stimuli.csv", 7, folder / "trials.json")
    return folder, rows, tmp_path / "ratings" / "answers.jsonl"


def export(folder: Path, answers: Path, out: Path, scale: str) -> list[dict]:
    run = subprocess.run([sys.executable, "-m", "reports.listen", "export", str(folder),
                          "--answers", str(answers), "--out", str(out), "--scale", scale],
                         cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    with open(out, newline="") as f:
        return list(csv.DictReader(f))


def rate_mos(page, labels: dict[str, tuple[str, str]], keyboard: bool) -> None:
    """Play and rate every sample: by keys (letter plays, digit rates) or by clicks."""
    for label, (_, method) in sorted(labels.items()):
        score = MOS_BY_METHOD[method]
        item = page.locator(".sample").nth(trials.LABELS.index(label))  # listed in label order
        if keyboard:
            page.keyboard.press(label.lower())
            page.keyboard.press(str(score))
        else:
            item.locator(".play").click()
            item.locator("label").nth(score - 1).click()
        assert item.locator("input:checked").get_attribute("value") == str(score)
    assert "failed" not in page.locator("#status").inner_text()  # playback errors are shown there


@pytest.mark.timeout(180)
def test_mos_session_in_chromium(tmp_path: Path, browser) -> None:
    from playwright.sync_api import expect

    started = time.monotonic()
    folder, rows, answers = setup(tmp_path)
    rater = "browser-test-script"
    server = Server(folder, answers, "mos")
    base = server.start()
    oracle = Oracle(folder, rows)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    title = page.locator("#title")
    try:
        page.goto(base)
        page.fill("#rater", rater)
        page.keyboard.press("Enter")
        expect(title).to_have_text("Training")
        page.keyboard.press("a")
        expect(page.locator(".play").first).to_have_attribute("aria-pressed", "true")
        page.keyboard.press(" ")  # stops (the samples last 1 s: well before their end)
        expect(page.locator(".play").first).to_have_attribute("aria-pressed", "false", timeout=300)
        page.get_by_role("button", name="Begin the test").click()

        expect(title).to_have_text("Trial 1 of 3")
        expect(page.locator("#next")).to_be_disabled()
        rate_mos(page, oracle.labels(base, rater, 1), keyboard=True)
        page.keyboard.press("c")  # playing, for the screenshot
        page.screenshot(path=artifacts(tmp_path) / "listen_trial_desktop.png")
        page.get_by_role("button", name="Next").click()

        expect(title).to_have_text("Trial 2 of 3")
        labels = oracle.labels(base, rater, 2)
        first_two = dict(sorted(labels.items())[:2])
        rate_mos(page, first_two, keyboard=False)
        page.reload()  # a closed tab: the trial in progress starts again
        expect(title).to_have_text("Trial 2 of 3")
        expect(page.locator(".sample input:checked")).to_have_count(0)
        server.kill()  # and a killed server: nothing answered is lost
        server.start()
        rate_mos(page, labels, keyboard=False)
        page.get_by_role("button", name="Next").click()  # tokens of the dead server: rate again
        expect(page.locator("#status")).to_contain_text("rate it again")
        expect(title).to_have_text("Trial 2 of 3")
        rate_mos(page, oracle.labels(base, rater, 2), keyboard=False)
        page.get_by_role("button", name="Next").click()

        expect(title).to_have_text("Trial 3 of 3")
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                    has_touch=True)  # fmt: skip
        small = phone.new_page()
        small.goto(base)
        small.fill("#rater", rater)
        small.get_by_role("button", name="Start").tap()
        expect(small.locator("#title")).to_have_text("Trial 3 of 3")  # resumed on another device
        small.locator(".play").first.tap()
        small.locator(".sample").first.locator("label").nth(3).tap()
        small.screenshot(path=artifacts(tmp_path) / "listen_trial_phone.png")
        phone.close()
        rate_mos(page, oracle.labels(base, rater, 3), keyboard=True)
        page.get_by_role("button", name="Finish").click()
        expect(page.locator("#done-text")).to_contain_text("All 3 trials are saved")
        check_blind(page, urls, oracle, base, mos=True)
    finally:
        server.kill()

    lines = answers.read_text().splitlines()
    assert len(lines) == 3  # one line per trial, trial 2 once
    out = tmp_path / "ratings.csv"
    ratings = export(folder, answers, out, "mos")
    method = {r["stimulus"]: r["method"] for r in rows}
    assert len(ratings) == 2 * len(METHODS)  # two excerpts; the repeat left out
    assert {r["rater"] for r in ratings} == {rater}
    for r in ratings:
        assert int(r["score"]) == MOS_BY_METHOD[method[r["stimulus"]]], r
        assert int(r["plays"]) >= 1 and float(r["trial_seconds"]) > 0, r
    report = out.with_suffix(".screening.md").read_text()
    assert "differs by 0.00 points" in report and "kept" in report
    ours = human_eval.mos(pd.read_csv(out), pd.read_csv(folder / "stimuli.csv"))
    assert dict(zip(ours["method"], ours["mos"])) == MOS_BY_METHOD
    shutil.copy(out, artifacts(tmp_path) / "browser_test_ratings.csv")
    print(f"browser MOS session: {time.monotonic() - started:.1f} s")


@pytest.mark.timeout(120)
def test_mushra_session_in_chromium(tmp_path: Path, browser) -> None:
    from playwright.sync_api import expect

    folder, rows, answers = setup(tmp_path)
    rater = "browser-test-script"
    server = Server(folder, answers, "mushra")
    base = server.start()
    oracle = Oracle(folder, rows)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    try:
        page.goto(base)
        page.fill("#rater", rater)
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#title")).to_have_text("Training")
        expect(page.locator(".play")).to_have_count(len(METHODS) + 1)  # with the anchor
        page.get_by_label("Loop").check()
        page.keyboard.press("b")
        page.wait_for_timeout(1500)  # the samples last 1 s: still playing, looped
        expect(page.locator(".play").nth(1)).to_have_attribute("aria-pressed", "true")
        page.keyboard.press("Escape")
        expect(page.locator(".play").nth(1)).to_have_attribute("aria-pressed", "false", timeout=300)
        page.get_by_label("Loop").uncheck()
        page.get_by_role("button", name="Begin the test").click()
        for k in (1, 2):
            expect(page.locator("#title")).to_have_text(f"Trial {k} of 2")
            page.keyboard.press("r")
            expect(page.locator("#ref")).to_have_attribute("aria-pressed", "true")
            for label, (role, method) in sorted(oracle.labels(base, rater, k).items()):
                score = MUSHRA_BY_ROLE.get(role) or MUSHRA_BY_METHOD[method]
                page.keyboard.press(label.lower())
                slider = page.get_by_label(f"Score of version {label}, 0 to 100")
                if score == 100:
                    slider.focus()
                    page.keyboard.press("End")  # the keyboard way
                else:
                    slider.fill(str(score))
                expect(slider).to_have_value(str(score))
            page.get_by_role("button", name="Finish" if k == 2 else "Next").click()
        expect(page.locator("#done-text")).to_contain_text("All 2 trials are saved")
        check_blind(page, urls, oracle, base, mos=False)
    finally:
        server.kill()
    ratings = export(folder, answers, tmp_path / "mushra.csv", "mushra")
    method = {r["stimulus"]: r["method"] for r in rows}
    assert len(ratings) == 2 * (len(METHODS) + 1)
    for r in ratings:
        role = r["role"]
        want = MUSHRA_BY_ROLE.get(role) or MUSHRA_BY_METHOD[method[r["stimulus"]]]
        assert int(r["score"]) == want and r["scale"] == "mushra", r
        assert int(r["reference_plays"]) >= 1, r
    assert {r["role"] for r in ratings} == {"test", "hidden_reference", "anchor"}
