"""Browser fixtures: Debian's chromium (tests/browser/chromium_up.sh installs it with apt-get when
missing) driven by Playwright through ``executable_path``; nothing downloads a browser. Without a
chromium that starts, or without Playwright (the ``dev`` extra), the browser tests fail: they do
not skip."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

UP = Path(__file__).resolve().with_name("chromium_up.sh")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a chromium that starts (installed by chromium_up.sh if missing)."""
    run = subprocess.run(["bash", str(UP)], capture_output=True, text=True, timeout=900)
    if run.returncode != 0:
        pytest.fail(f"{UP.name} failed (exit {run.returncode}):\n{run.stderr[-4000:]}")
    return run.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[object]:
    """A headless chromium under Playwright (sandbox off: the tests run as root)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: install the dev extra (pip install -e '.[dev]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )
        yield browser
        browser.close()
