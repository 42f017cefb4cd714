"""Fixtures of the training tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_helpers import make_corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return make_corpus(tmp_path / "data")


@pytest.fixture
def bad_corpus(tmp_path: Path) -> Path:
    return make_corpus(tmp_path / "data", bad=True)
