"""A local HTTP mirror on 127.0.0.1: serves files with HTTP Range, and misbehaves on request.

Used to exercise the real downloaders without a network (the data tests, the paper pipeline on
dataset replicas) and usable as a stand-in for an institutional mirror::

    python -m a2sb.data.mirror DIR --port 8000      # serves DIR/<path> at http://127.0.0.1:8000/<path>

:class:`MirrorState` holds what is served (``files``: URL path -> bytes) and how the server
misbehaves: ``cut_after`` closes the connection once after that many bytes of a file (a dropped
download, to be resumed with a Range request), ``fail_times`` answers 503 that many times first,
``ignore_range`` answers every request in full. Every request is recorded with its Range header.
"""

from __future__ import annotations

import argparse
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class MirrorState:
    """What the mirror serves and how it misbehaves; requests are recorded."""

    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: dict[str, int] = field(default_factory=dict)  # path -> bytes sent before closing
    fail_times: dict[str, int] = field(default_factory=dict)  # path -> number of 503s first
    ignore_range: bool = False
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    base: str = ""

    def url(self, path: str) -> str:
        return self.base + path

    def add_tree(self, root: str | Path, prefix: str = "/") -> int:
        """Serve every file under ``root`` at ``prefix + relative path``; returns the count."""
        root = Path(root)
        files = sorted(p for p in root.rglob("*") if p.is_file())
        for p in files:
            self.files[prefix + p.relative_to(root).as_posix()] = p.read_bytes()
        return len(files)


class _Handler(BaseHTTPRequestHandler):
    server_version = "a2sb-mirror/1.0"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        st: MirrorState = self.server.state  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0]
        st.requests.append((path, self.headers.get("Range")))
        if st.fail_times.get(path, 0) > 0:
            st.fail_times[path] -= 1
            self.send_error(503, "try again")
            return
        data = st.files.get(path)
        if data is None:
            self.send_error(404, "not found")
            return
        start, status = 0, 200
        rng = self.headers.get("Range")
        if rng and not st.ignore_range:
            m = re.fullmatch(r"bytes=(\d+)-", rng.strip())
            if m:
                start = int(m.group(1))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        cut = st.cut_after.pop(path, None)
        if cut is not None:
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@contextmanager
def serve(state: MirrorState | None = None, port: int = 0) -> Iterator[MirrorState]:
    """Run the mirror in a background thread on 127.0.0.1 (``port`` 0: any free one)."""
    state = state or MirrorState()
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    server.state = state  # type: ignore[attr-defined]
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root", type=Path, help="folder to serve")
    p.add_argument("--port", type=int, default=8000)
    args = p.parse_args()
    state = MirrorState()
    count = state.add_tree(args.root)
    with serve(state, args.port) as st:
        print(f"serving {count} files of {args.root} at {st.base}/", flush=True)
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
