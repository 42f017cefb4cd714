"""The answer log: append-only JSON lines, one line per answered trial, fsync after each.

A trial's line (every score of the trial, the plays, the time on the trial) goes to the file in
one ``write`` on a descriptor opened with ``O_APPEND``, followed by ``fsync``: a closed tab or a
killed server loses at most the trial in progress. A last line without its newline (a write cut
by a crash) is that trial in progress: the server cuts it off when it opens the log, readers skip
it. The server holds an exclusive ``flock`` on the log, so two servers never append to one file.
The log is the raw record; ``ratings.csv`` is derived from it (:mod:`.screen`).

A line (version 1)::

    {"v": 1, "rater": "r01", "scale": "mos", "session": "<12 hex>", "stimuli_sha": "<64 hex>",
     "list_sha": "<12 hex>", "per_rater": null, "k": 3, "n": 17, "excerpt": "x004",
     "repeat": false, "seconds": 41.2, "answered_at": "2025-01-01T12:00:00+00:00",
     "reference_plays": null,
     "ratings": [{"stimulus": "s00012.wav", "role": "test", "score": 4, "plays": 2}, ...]}
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from pathlib import Path

from a2sb.errors import InputError
from a2sb.io.atomic import fsync_dir

VERSION = 1
FIELDS = ("rater", "scale", "session", "stimuli_sha", "k", "n", "excerpt", "repeat", "ratings")


def _check(record: object, where: str) -> dict:
    if not isinstance(record, dict) or record.get("v") != VERSION:
        raise InputError(f"{where}: not an answer of this listening test (version {VERSION})")
    missing = [f for f in FIELDS if f not in record]
    if missing:
        raise InputError(f"{where}: answer without {', '.join(missing)}")
    types = {"rater": str, "scale": str, "session": str, "stimuli_sha": str, "k": int, "n": int,
             "excerpt": str, "repeat": bool}  # fmt: skip
    wrong = [f for f, t in types.items() if not isinstance(record[f], t)]
    if wrong:
        raise InputError(f"{where}: answer with a malformed {wrong[0]}")
    if not isinstance(record["ratings"], list) or not all(
        isinstance(r, dict) and {"stimulus", "role", "score", "plays"} <= set(r)
        for r in record["ratings"]
    ):
        raise InputError(f"{where}: malformed ratings in an answer")
    return record


def read(path: Path) -> tuple[list[dict], bool]:
    """Every complete answer of the log at ``path`` and whether a torn last line was skipped.
    A malformed complete line is a one-line :class:`InputError` naming the file and the line."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no answer log (nobody has answered yet?)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the answer log ({exc.strerror})") from None
    torn = bool(data) and not data.endswith(b"\n")
    lines = data.split(b"\n")[:-1]  # the part after the last newline is empty or torn
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise InputError(f"{path}, line {number}: not JSON") from None
        out.append(_check(record, f"{path}, line {number}"))
    return out, torn


class AnswerLog:
    """The log at ``path``, opened for appending by one server (exclusive lock; a torn last
    line is cut off first). Close it with :meth:`close`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a directory, not an answer log")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = self.created = not self.path.exists()
            self.fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as exc:
            raise InputError(f"{self.path}: cannot open the answer log ({exc.strerror})") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            raise InputError(f"{self.path}: in use by another listening-test server") from None
        if new:
            fsync_dir(self.path.parent)
        self.lock = threading.Lock()
        try:
            self.cut = self._cut_torn_tail()
            self.records, _ = read(self.path)
        except BaseException:
            os.close(self.fd)
            raise

    def _cut_torn_tail(self) -> int:
        """Remove a last line without its newline (a write cut by a crash); bytes removed."""
        data = self.path.read_bytes()
        if not data or data.endswith(b"\n"):
            return 0
        keep = data.rfind(b"\n") + 1
        os.ftruncate(self.fd, keep)
        os.fsync(self.fd)
        return len(data) - keep

    def append(self, record: dict) -> None:
        """Append ``record`` as one line in one write, then fsync; keeps it in :attr:`records`."""
        record = _check({"v": VERSION, **record}, str(self.path))
        data = (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")
        with self.lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view) :]
            os.fsync(self.fd)
            self.records.append(record)

    def close(self) -> None:
        """Release the lock; a log this object created and nothing was written to is removed."""
        if self.created and not self.records and self.path.stat().st_size == 0:
            self.path.unlink()
        os.close(self.fd)  # releases the lock
