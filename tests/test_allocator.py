"""Training keeps freed large blocks in the C heap (a2sb.allocator): a large tensor reuses the
pages of a larger one freed before it instead of faulting in fresh ones; restoration does not."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from a2sb import allocator

ROOT = Path(__file__).resolve().parents[1]

# A 256 MiB tensor filled and freed, then a 128 MiB one filled: the page faults of the second.
# (glibc's aligned allocations carve a little off a freed block, so an equal size may not fit.)
PROBE = """
import resource, sys, torch
{setup}
def second_fill_faults() -> int:
    a = torch.ones(64 << 20); del a
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    b = torch.ones(32 << 20)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(second_fill_faults())
"""
PAGES = (128 << 20) // 4096

needs_glibc = pytest.mark.skipif(allocator._glibc() is None, reason="glibc only")


def faults(setup: str) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE.format(setup=setup)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout.split()[-1])


@needs_glibc
def test_kept_blocks_are_reused() -> None:
    kept = faults("import a2sb.cli")
    assert kept > 0.9 * PAGES  # importing the library changes nothing
    kept = faults("from a2sb.allocator import keep_freed_blocks\nassert keep_freed_blocks()")
    assert kept < 0.05 * PAGES


@needs_glibc
@pytest.mark.parametrize(
    "argv, kept",
    [(["train", "--config", "c.yaml"], True), (["restore", "x.wav"], False), ([], False)],
)
def test_run_program_sets_it_up_for_training_only(argv: list[str], kept: bool) -> None:
    script = PROBE.replace("print(second_fill_faults())", "")
    reused = f"second_fill_faults() < {0.05 * PAGES}"
    code = script.format(setup="from a2sb.cli import run_program") + (
        f"\nrun_program(lambda: int({reused}), {argv!r})"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == int(kept)


@pytest.mark.parametrize(
    "env",
    [
        {"A2SB_KEEP_FREED_MEMORY": "0"},
        {"A2SB_KEEP_FREED_MEMORY": "off"},
        {"MALLOC_ARENA_MAX": "2"},
        {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"},
    ],  # fmt: skip
)
def test_switched_off_or_left_to_the_user(env: dict[str, str]) -> None:
    assert allocator.keep_freed_blocks(env) is False


def test_the_console_script_and_module_mains_run_the_programs() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["a2sb"] == "a2sb.cli:run"
    for package in ("a2sb", "baselines"):
        text = (ROOT / package / "__main__.py").read_text()
        assert "from .cli import run\n" in text and text.rstrip().endswith("run()")
