"""The page's HTTP server, on the standard library's ``ThreadingHTTPServer``.

Why the standard library: the page is three static files, a JSON API of four routes and the
audio, for one to a few raters on 127.0.0.1 (or a lab's LAN). ``http.server`` does that in a
few hundred lines without adding a web framework to the project's dependencies; it is not meant
for the open internet, and the test is not put there.

Blindness: the page only ever sees random tokens (16 hex digits), issued per rater, trial and
sample and mapped to stimulus files here; no method, file, test-set or task name is in a
response, a URL or a header, and the sample order is each rater's own (:mod:`.trials`). A
Content-Security-Policy of ``'self'`` keeps the page offline (no external fonts or scripts).

Routes: ``GET /`` and ``/static/*`` (the page), ``GET /api/session?rater=``,
``/api/training?rater=``, ``/api/trial?rater=&k=``, ``GET /audio/<token>``, ``POST /api/answer``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from a2sb.errors import InputError

from . import anchor, trials
from .answers import AnswerLog

STATIC = Path(__file__).resolve().parent / "static"
FILES = {"/": ("index.html", "text/html"), "/static/app.js": ("app.js", "text/javascript"),
         "/static/style.css": ("style.css", "text/css")}  # fmt: skip
RATER = re.compile(r"[A-Za-z0-9_.-]{1,40}")
TOKEN = re.compile(r"/audio/([0-9a-f]{16})")
RANGE = {"mos": (1, 5), "mushra": (0, 100)}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "media-src 'self' blob:; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")  # fmt: skip


class ApiError(Exception):
    """An answer to the page: HTTP status and a one-line message it shows."""

    def __init__(self, status: HTTPStatus, message: str, **extra: object) -> None:
        super().__init__(message)
        self.status, self.extra = status, extra


def session_id(stimuli_sha: str, list_sha: str, scale: str, per_rater: int | None) -> str:
    """12 hex digits naming what a rater's answers belong to: resuming needs the same four."""
    text = f"{stimuli_sha}|{list_sha}|{scale}|{per_rater or 'all'}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class Study:
    """Server-side state: the trial list, each rater's plan, the tokens issued, the answers."""

    def __init__(
        self,
        folder: Path,
        scale: str,
        log: AnswerLog,
        per_rater: int | None = None,
        raters: Iterable[str] | None = None,
    ) -> None:
        folder = Path(folder)
        if scale not in trials.SCALES:
            raise InputError(f"mode {scale!r}: one of {', '.join(trials.SCALES)}")
        if per_rater is not None and per_rater < 1:
            raise InputError(f"--per-rater {per_rater}: at least 1 trial")
        stimuli_csv = folder / "stimuli.csv"
        rows = trials.read_stimuli(stimuli_csv)
        self.data = trials.load(folder / "trials.json", stimuli_csv)
        self.rows = {r["stimulus"]: r for r in rows}
        named = [s for t in self.data["trials"] for s in t["stimuli"]]
        unknown = [s for s in named if s not in self.rows]
        if unknown:
            raise InputError(f"{folder / 'trials.json'}: names {unknown[0]}, not in stimuli.csv")
        self.audio_dir = folder / "audio"
        absent = [s for s in named if not (self.audio_dir / s).is_file()]
        if absent:
            raise InputError(f"{self.audio_dir / absent[0]}: stimulus file missing")
        self.methods = {s: r["method"] for s, r in self.rows.items()}
        self.scale, self.log, self.per_rater = scale, log, per_rater
        self.raters = None if raters is None else set(raters)
        for r in self.raters or ():
            if not RATER.fullmatch(r):
                raise InputError(f"--raters: {r[:40]!r} is not a rater id ({_RATER_RULE})")
        self.stimuli_sha = self.data["stimuli_sha256"]
        self.list_sha = trials.list_sha(self.data)
        self.session = session_id(self.stimuli_sha, self.list_sha, scale, per_rater)
        try:
            trials.plan(self.data, self.methods, "", scale)  # MUSHRA without a reference fails
        except InputError as exc:
            raise InputError(f"{stimuli_csv}: {exc}") from None
        self.lock = threading.Lock()
        self.plans: dict[str, list[trials.PlannedTrial]] = {}
        self.issued: dict[tuple[str, int], list[str]] = {}
        self.tokens: dict[str, trials.Item] = {}
        self.anchors: dict[str, bytes] = {}
        self.answered: dict[str, set[int]] = {}
        self.others = 0  # answers in the log from other sessions
        for r in log.records:
            if r["session"] == self.session:
                self.answered.setdefault(r["rater"], set()).add(int(r["k"]))
            else:
                self.others += 1

    def _rater(self, value: object) -> str:
        if not isinstance(value, str) or not RATER.fullmatch(value):
            raise ApiError(HTTPStatus.BAD_REQUEST, f"rater id: {_RATER_RULE}")
        if self.raters is not None and value not in self.raters:
            raise ApiError(HTTPStatus.FORBIDDEN, f"unknown rater id {value}: ask for yours")
        return value

    def plan(self, rater: str) -> list[trials.PlannedTrial]:
        if rater not in self.plans:
            self.plans[rater] = trials.plan(self.data, self.methods, rater, self.scale,
                                            self.per_rater)  # fmt: skip
        return self.plans[rater]

    def _next(self, rater: str) -> int:
        """The first trial ``rater`` has not answered, 0 when all are."""
        done = self.answered.get(rater, set())
        return next((k for k in range(1, len(self.plan(rater)) + 1) if k not in done), 0)

    def session_info(self, rater: object) -> dict:
        rater = self._rater(rater)
        with self.lock:
            n, k = len(self.plan(rater)), self._next(rater)
            return {"rater": rater, "scale": self.scale, "n": n, "next": k, "done": k == 0,
                    "answered": len(self.answered.get(rater, ()))}  # fmt: skip

    def _issue(self, rater: str, key: int, planned: trials.PlannedTrial) -> dict:
        """Tokens of one trial of one rater (issued once, the same on a reload)."""
        if (rater, key) not in self.issued:
            items = list(planned.items)
            if planned.reference:
                items.append(trials.Item("", "reference", planned.reference))
            toks = []
            for item in items:
                tok = secrets.token_hex(8)
                self.tokens[tok] = item
                toks.append(tok)
            self.issued[(rater, key)] = toks
        toks = self.issued[(rater, key)]
        n = len(planned.items)
        return {"samples": [{"id": t, "label": trials.LABELS[i]} for i, t in enumerate(toks[:n])],
                "ref": toks[n] if planned.reference else None}  # fmt: skip

    def trial(self, rater: object, k: int) -> dict:
        rater = self._rater(rater)
        with self.lock:
            planned = self.plan(rater)
            if not 1 <= k <= len(planned):
                raise ApiError(HTTPStatus.NOT_FOUND, f"no trial {k}")
            return {"k": k, "n": len(planned), "scale": self.scale,
                    **self._issue(rater, k, planned[k - 1])}  # fmt: skip

    def training(self, rater: object) -> dict:
        rater = self._rater(rater)
        with self.lock:
            planned = trials.training(self.data, self.methods, self.scale)
            return {"scale": self.scale, **self._issue(rater, 0, planned)}

    def answer(self, body: dict) -> dict:
        """Store one trial's answer (one line, fsync) and say which trial comes next. A trial
        answered already is acknowledged again (a retry after a lost response), not stored."""
        rater, k = self._rater(body.get("rater")), body.get("k")
        with self.lock:
            planned = self.plan(rater)
            if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= len(planned):
                raise ApiError(HTTPStatus.BAD_REQUEST, "k: not a trial number")
            if k in self.answered.get(rater, set()):
                nxt = self._next(rater)
                return {"next": nxt, "done": nxt == 0, "duplicate": True}
            if k != self._next(rater):
                raise ApiError(HTTPStatus.CONFLICT, f"trial {self._next(rater)} comes first")
            toks = self.issued.get((rater, k))
            if toks is None:  # the server restarted since the page loaded the trial
                raise ApiError(HTTPStatus.CONFLICT, "the trial was reset: please rate it again",
                               reload=True)  # fmt: skip
            self.log.append(self._record(rater, k, len(planned), planned[k - 1], toks, body))
            self.answered.setdefault(rater, set()).add(k)
            nxt = self._next(rater)
            return {"next": nxt, "done": nxt == 0, "duplicate": False}

    def _record(
        self, rater: str, k: int, n: int, planned: trials.PlannedTrial, toks: list[str], body: dict
    ) -> dict:
        scores, plays = body.get("scores"), body.get("plays")
        seconds, ref_plays = body.get("seconds"), body.get("reference_plays")
        if not isinstance(scores, dict) or not isinstance(plays, dict):
            raise ApiError(HTTPStatus.BAD_REQUEST, "scores, plays: not objects")
        if not _number(seconds) or not 0 <= seconds < 86400:
            raise ApiError(HTTPStatus.BAD_REQUEST, "seconds: not a duration")
        lo, hi = RANGE[self.scale]
        ratings = []
        for i, (tok, item) in enumerate(zip(toks, planned.items)):
            score, played = scores.get(tok), plays.get(tok)
            if not _integer(score) or not lo <= score <= hi:
                raise ApiError(HTTPStatus.BAD_REQUEST, f"sample {trials.LABELS[i]}: no score "
                                                       f"in {lo}-{hi}")  # fmt: skip
            if not _integer(played) or not 0 <= played < 100000:
                raise ApiError(HTTPStatus.BAD_REQUEST, f"sample {trials.LABELS[i]}: no play count")
            ratings.append({"stimulus": item.key, "role": item.role, "label": trials.LABELS[i],
                            "score": score, "plays": played})  # fmt: skip
        if planned.reference and (not _integer(ref_plays) or ref_plays < 0):
            raise ApiError(HTTPStatus.BAD_REQUEST, "reference_plays: not a count")
        return {"rater": rater, "scale": self.scale, "session": self.session,
                "stimuli_sha": self.stimuli_sha, "list_sha": self.list_sha,
                "per_rater": self.per_rater, "k": k, "n": n, "excerpt": planned.excerpt,
                "repeat": planned.repeat, "seconds": round(float(seconds), 2),
                "answered_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "reference_plays": ref_plays if planned.reference else None,
                "ratings": ratings}  # fmt: skip

    def audio(self, token: str) -> bytes:
        with self.lock:
            item = self.tokens.get(token)
            cached = self.anchors.get(item.source) if item and item.role == "anchor" else None
        if item is None:
            raise ApiError(HTTPStatus.NOT_FOUND, "no such sample")
        path = self.audio_dir / item.source
        if item.role != "anchor":
            return path.read_bytes()
        if cached is None:
            cached = anchor.lowpass_wav(path)
            with self.lock:
                self.anchors[item.source] = cached
        return cached


_RATER_RULE = "1-40 letters, digits, '.', '_' or '-'"


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Handler(BaseHTTPRequestHandler):
    """The routes of the module docstring; every error is JSON ``{"error": message}``."""

    study: Study
    static: dict[str, tuple[bytes, str]]

    def version_string(self) -> str:
        return "listen"

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the answer log is the record

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, data: dict, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _guard(self, work: Callable[[], None]) -> None:
        try:
            work()
        except ApiError as exc:
            self._json({"error": str(exc), **exc.extra}, exc.status)
        except Exception:  # a bug or a disk error: the page says so, the console has the rest
            traceback.print_exc(file=sys.stderr)
            self._json({"error": "server error: the answer may not be saved, tell the "
                                 "experimenter"}, 500)  # fmt: skip

    def do_GET(self) -> None:
        self._guard(self._get)

    def do_POST(self) -> None:
        self._guard(self._post)

    def _get(self) -> None:
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        audio = TOKEN.fullmatch(url.path)
        if url.path in self.static:
            self._send(200, *self.static[url.path])
        elif url.path == "/api/session":
            self._json(self.study.session_info(q.get("rater")))
        elif url.path == "/api/training":
            self._json(self.study.training(q.get("rater")))
        elif url.path == "/api/trial":
            k = q.get("k", "")
            if not k.isdigit():
                raise ApiError(HTTPStatus.BAD_REQUEST, "k: not a trial number")
            self._json(self.study.trial(q.get("rater"), int(k)))
        elif audio:
            self._send(200, self.study.audio(audio.group(1)), "audio/wav")
        else:
            raise ApiError(HTTPStatus.NOT_FOUND, "not found")

    def _post(self) -> None:
        if urlsplit(self.path).path != "/api/answer":
            raise ApiError(HTTPStatus.NOT_FOUND, "not found")
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or not 0 < int(length) <= 65536:
            raise ApiError(HTTPStatus.BAD_REQUEST, "body: missing or too long")
        try:
            body = json.loads(self.rfile.read(int(length)))
        except ValueError:
            raise ApiError(HTTPStatus.BAD_REQUEST, "body: not JSON") from None
        if not isinstance(body, dict):
            raise ApiError(HTTPStatus.BAD_REQUEST, "body: not an object")
        self._json(self.study.answer(body))


def make_server(study: Study, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server for ``study`` (not started); port 0 picks a free one."""
    static = {}
    for route, (name, ctype) in FILES.items():
        static[route] = ((STATIC / name).read_bytes(), f"{ctype}; charset=utf-8")
    handler = type("StudyHandler", (Handler,), {"study": study, "static": static})
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise InputError(f"{host}:{port}: cannot listen ({exc.strerror})") from None
    server.daemon_threads = True
    return server


def serve(study: Study, host: str, port: int, announce: Callable[[str], None]) -> None:
    """Serve until Ctrl-C or SIGTERM; ``announce(url)`` once listening."""
    server = make_server(study, host, port)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    announce(f"http://{host}:{server.server_address[1]}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
