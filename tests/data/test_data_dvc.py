"""DVC offline: dvc add, push to a temporary local remote (set by mk/dvc.mk), pull back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DVC = Path(sys.executable).parent / "dvc"

pytestmark = pytest.mark.skipif(
    not DVC.exists() or shutil.which("git") is None, reason="needs the venv's dvc and git"
)


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed: {proc.stderr.strip()}"
    return proc.stdout


def test_dvc_push_pull_offline(tmp_path):
    repo, remote = tmp_path / "repo", tmp_path / "remote"
    repo.mkdir()
    env = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(tmp_path / "site"),
        "DVC_GLOBAL_CONFIG_DIR": str(tmp_path / "global"),
        "DVC_SYSTEM_CONFIG_DIR": str(tmp_path / "system"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(tmp_path / "home"),
    }
    _run(["git", "init", "-q"], repo, env)
    _run([str(DVC), "init", "-q"], repo, env)
    data = repo / "data" / "raw"
    data.mkdir(parents=True)
    payload = {"a.wav": os.urandom(20_000), "sub/b.csv": b"split,path\ntrain,a.wav\n"}
    for name, content in payload.items():
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_bytes(content)
    _run([str(DVC), "add", "-q", "data/raw"], repo, env)
    assert (repo / "data" / "raw.dvc").exists()
    if shutil.which("make"):
        for _ in range(2):  # idempotent
            _run(
                [
                    "make",
                    "-s",
                    "-f",
                    str(REPO / "mk" / "dvc.mk"),
                    "dvc-remote",
                    f"DVC={DVC}",
                    f"DVC_REMOTE={remote}",
                ],
                repo,
                env,
            )
        assert f"url = {remote}" in (repo / ".dvc" / "config.local").read_text()
    else:
        _run([str(DVC), "remote", "add", "--local", "-d", "-f", "local", str(remote)], repo, env)
    _run([str(DVC), "push", "-q"], repo, env)
    assert any(remote.rglob("*"))
    shutil.rmtree(repo / ".dvc" / "cache")
    shutil.rmtree(data)
    _run([str(DVC), "pull", "-q"], repo, env)
    for name, content in payload.items():
        assert (data / name).read_bytes() == content


def test_remote_inside_the_repository_is_refused(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("needs make")
    repo = tmp_path / "repo"
    repo.mkdir()
    proc = subprocess.run(
        [
            "make",
            "-s",
            "-f",
            str(REPO / "mk" / "dvc.mk"),
            "dvc-remote",
            f"DVC={DVC}",
            f"DVC_REMOTE={repo / 'store'}",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "inside the repository" in proc.stderr
    assert not (repo / "store").exists()
