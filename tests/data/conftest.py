"""Fixtures for the data tests: a local HTTP server with Range support, archive builders."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class ServerState:
    """What the test server serves and how it misbehaves; requests are recorded."""

    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: dict[str, int] = field(
        default_factory=dict
    )  # path -> bytes sent before closing (once)
    fail_times: dict[str, int] = field(default_factory=dict)  # path -> number of 503 answers first
    ignore_range: bool = False
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    base: str = ""

    def url(self, path: str) -> str:
        return self.base + path


class _Handler(BaseHTTPRequestHandler):
    server_version = "a2sb-test/1.0"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        st: ServerState = self.server.state  # type: ignore[attr-defined]
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


@pytest.fixture
def http_server() -> Iterator[ServerState]:
    """A threading HTTP server on 127.0.0.1 (port 0) serving ``state.files``."""
    state = ServerState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
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
