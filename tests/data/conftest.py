"""Fixtures for the data tests: a local HTTP server with Range support, archive builders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from a2sb.data.mirror import MirrorState as ServerState
from a2sb.data.mirror import serve


@pytest.fixture
def http_server() -> Iterator[ServerState]:
    """A threading HTTP server on 127.0.0.1 (port 0) serving ``state.files``."""
    with serve() as state:
        yield state
