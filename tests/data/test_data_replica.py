"""Dataset replicas (a2sb/data/replica.py) through the real CLI: fetch over HTTP, extraction,
licence filtering; the designed kept/dropped counts, a resumed download, determinism."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from a2sb.cli import main as a2sb
from a2sb.data.download import fetch_dataset
from a2sb.data.extract import merge_split_zip, safe_extract_split_zip
from a2sb.data.licences import classify
from a2sb.data.registry import load_registry
from a2sb.data.replica import DROP_CLASSES, ReplicaSet, build_replicas, place_manual
from a2sb.errors import InputError

BASE = "http://replica.invalid"  # rewritten to the test server's address per test
BUILTIN = load_registry()
NAMES = list(BUILTIN)


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> ReplicaSet:
    return build_replicas(tmp_path_factory.mktemp("replicas") / "out", BASE)


def serve(replicas: ReplicaSet, server, tmp_path: Path) -> Path:
    """Serve the replica www tree; return a copy of the registry pointing at the server."""
    for p in sorted(replicas.www.rglob("*")):
        if p.is_file():
            server.files["/" + p.relative_to(replicas.www).as_posix()] = p.read_bytes()
    registry = tmp_path / "registry.yaml"
    registry.write_text(replicas.registry.read_text().replace(BASE, server.base))
    return registry


def cli(*args: object) -> int:
    return a2sb([str(a) for a in args])


def test_replica_registry_keeps_every_entry_and_fact(replicas: ReplicaSet) -> None:
    replica = load_registry(replicas.registry)
    assert list(replica) == NAMES and list(replicas.expected) == NAMES
    raw = yaml.safe_load(replicas.registry.read_text())["datasets"]
    assert raw["mtg_jamendo"]["file_sets"][0]["indices"] == [0, 1]  # still a file set
    for name, real in BUILTIN.items():
        rep = replica[name]
        same = ("title", "role", "homepage", "audio_format", "licence", "manual", "verification")
        assert all(getattr(rep, k) == getattr(real, k) for k in same), name
        assert rep.research_use_only == real.research_use_only and rep.notes[:-1] == real.notes
        real_files = {f.filename: f for f in real.files}
        shards = [f for f in real.files if f.filename.startswith("raw_30s_audio-")]
        assert len(rep.files) == len(real.files) - len(shards) + (2 if shards else 0), name
        for f in rep.files:
            orig = real_files[f.filename]
            assert (f.archive, f.kind, f.default) == (orig.archive, orig.kind, orig.default)
            assert f.url == f"{BASE}/{name}/{f.filename}"
            served = replicas.www / name / f.filename
            if not served.exists():  # not built: only files not fetched by default
                assert not f.default and f.checksum is None and f.size_bytes is None
                continue
            data = served.read_bytes()
            if orig.checksum is None:
                assert f.checksum is None  # unknown stays unknown
            elif orig.checksum.list_file:
                assert f.checksum == orig.checksum
            else:
                assert f.checksum.algorithm == orig.checksum.algorithm
                assert f.checksum.value == hashlib.new(f.checksum.algorithm, data).hexdigest()
            shard = f.filename.startswith("raw_30s_audio-")  # a file set: size unknown
            assert f.size_bytes == (None if shard else len(data)), f.filename
    total = sum(p.stat().st_size for p in replicas.www.parent.rglob("*") if p.is_file())
    assert total < 20e6


@pytest.mark.parametrize("name", NAMES)
def test_fetch_and_filter_give_the_designed_counts(
    name: str, replicas: ReplicaSet, http_server, tmp_path: Path
) -> None:
    registry = serve(replicas, http_server, tmp_path)
    root = tmp_path / "root"
    ds = load_registry(registry)[name]
    if ds.manual is not None:
        assert place_manual(replicas, root, names=[name])
    assert cli("data", "fetch", name, "--root", root, "--registry", registry, "--no-progress") == 0
    for f in ds.default_files():
        assert (root / name / "downloads" / f.filename).is_file(), f.filename
    expected = replicas.expected[name]
    for research in [False, True] if ds.research_use_only else [False]:
        out = tmp_path / ("research" if research else "permissive")
        flags = ["--research-use"] if research else []
        args = ["data", "filter", name, "--root", root, "--out", out, "--registry", registry]
        assert cli(*args, *flags) == 0
        report = json.loads((out / name / "licence_report.json").read_text())
        kept = expected["kept_research"] if research else expected["kept"]
        assert report["items"] == expected["items"] and report["kept"]["items"] == kept, report
        assert report["dropped"]["items"] == expected["items"] - kept
        with open(out / name / "kept.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == kept and report["items_without_duration"] == 0
        if research:
            continue
        assert expected["dropped"] == expected["items"] - kept
        by_class = {c: v["items"] for c, v in report["dropped_by_class"].items()}
        assert by_class == {
            c: expected[f"dropped_{c}"] for c in DROP_CLASSES if expected[f"dropped_{c}"]
        }
        for row in rows:  # no NC / ND / SA / unknown / other item in a permissive run
            assert row["license_class"] == "permissive", row
            assert classify(row["license"]).licence_class == "permissive", row


def test_dropped_connection_resumes_and_verifies(
    replicas: ReplicaSet, http_server, tmp_path: Path
) -> None:
    registry = serve(replicas, http_server, tmp_path)
    reg = load_registry(registry)
    name, f = max(
        (
            (n, f)
            for n, d in reg.items()
            for f in d.default_files()
            if f.checksum and f.checksum.value
        ),
        key=lambda nf: nf[1].size_bytes or 0,
    )
    path, half = urlsplit(f.url).path, f.size_bytes // 2
    http_server.cut_after[path] = half
    root = tmp_path / "root"
    cmd = [sys.executable, "-m", "a2sb", "data", "fetch", name, "--root", str(root),
           "--registry", str(registry), "--no-progress"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "retry 1/" in proc.stderr
    ranges = [r for p, r in http_server.requests if p == path]
    assert ranges == [None, f"bytes={half}-"], http_server.requests
    data = (root / name / "downloads" / f.filename).read_bytes()
    assert hashlib.new(f.checksum.algorithm, data).hexdigest() == f.checksum.value


def test_same_seed_same_bytes_cli(replicas: ReplicaSet, tmp_path: Path, capsys) -> None:
    assert cli("data", "replica", "--out", tmp_path / "again", "--base-url", BASE + "/") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(NAMES) + 1 and lines[0].startswith("fma: zip")
    again = tmp_path / "again"
    for p in sorted(replicas.www.parent.rglob("*")):
        if p.is_file():
            q = again / p.relative_to(replicas.www.parent)
            assert q.read_bytes() == p.read_bytes(), p
    other = build_replicas(tmp_path / "other", BASE, seed=1, seconds=0.5)
    sums = [
        load_registry(r.registry)["fma"].file("fma_full.zip").checksum for r in (replicas, other)
    ]
    assert sums[0] != sums[1]


def test_split_zip_segments_are_info_zip_compatible(replicas: ReplicaSet, tmp_path: Path) -> None:
    for p in (replicas.www / "fsd50k").glob("FSD50K.dev_audio.*"):
        shutil.copyfile(p, tmp_path / p.name)
    ours = merge_split_zip(tmp_path / "FSD50K.dev_audio.zip", tmp_path / "ours.zip")
    with zipfile.ZipFile(ours) as zf:
        assert zf.testzip() is None
        names = sorted(n for n in zf.namelist() if n.endswith(".wav"))
        assert names == [f"FSD50K.dev_audio/{i}.wav" for i in (16399, 21355, 64760, 9432)]
        contents = {n: zf.read(n) for n in names}
    if shutil.which("zip") is None:
        pytest.skip("Info-ZIP zip is not installed")
    subprocess.run(["zip", "-q", "-s", "0", "FSD50K.dev_audio.zip", "--out", "infozip.zip"],
                   cwd=tmp_path, check=True)  # fmt: skip
    with zipfile.ZipFile(tmp_path / "infozip.zip") as zf:
        assert {n: zf.read(n) for n in names} == contents


def test_incomplete_split_zip_set_is_reported_not_extracted(
    replicas: ReplicaSet, http_server, tmp_path: Path
) -> None:
    ds = load_registry(serve(replicas, http_server, tmp_path))["fsd50k"]
    logs: list[str] = []
    report = fetch_dataset(
        ds, tmp_path / "root", files=["FSD50K.eval_audio.zip"], progress=False, log=logs.append
    )
    assert report.extracted == [] and report.skipped == [
        ("FSD50K.eval_audio.zip", "split zip segments missing")
    ]
    assert any("FSD50K.eval_audio.z01" in m for m in logs)
    assert not (tmp_path / "root" / "fsd50k" / "raw" / "FSD50K.eval_audio").exists()


def test_place_manual_is_idempotent_and_checks_names(replicas: ReplicaSet, tmp_path: Path) -> None:
    first = place_manual(replicas, tmp_path)
    manual = {n for n, d in BUILTIN.items() if d.manual is not None}
    assert {p.relative_to(tmp_path).parts[0] for p in first} == manual
    assert all(p.is_file() for p in first)
    again = place_manual(replicas, tmp_path)
    assert all(p.is_file() for p in again)
    assert (
        tmp_path / "clap_freesound" / "raw" / "freesound_no_overlap" / "test" / "60517.flac"
    ).is_file()
    with pytest.raises(InputError, match="not a manual dataset"):
        place_manual(replicas, tmp_path, names=["fma"])


def test_build_refuses_a_folder_that_is_not_a_replica(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not a replica folder"):
        build_replicas(tmp_path, BASE)
    with pytest.raises(InputError, match="not http"):
        build_replicas(tmp_path / "x", "ftp://example.org")
    assert (tmp_path / "keep.txt").read_text() == "mine"


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP zip is not installed")
def test_info_zip_split_zip64_archive_is_extracted(tmp_path: Path) -> None:
    # FSD50K's real split archives are far beyond 4 GiB: Zip64 records (forced here with -fz)
    src = tmp_path / "src"
    src.mkdir()
    payload = {f"clip{i}.wav": hashlib.shake_256(bytes([i])).digest(120_000) for i in range(3)}
    for name, data in payload.items():
        (src / name).write_bytes(data)
    subprocess.run(["zip", "-q", "-fz", "-s", "64k", "../set.zip", *payload], cwd=src, check=True)
    assert (tmp_path / "set.z01").exists()
    names = safe_extract_split_zip(tmp_path / "set.zip", tmp_path / "out", max_bytes=1 << 30)
    assert sorted(names) == sorted(payload)
    assert all((tmp_path / "out" / n).read_bytes() == d for n, d in payload.items())
    assert safe_extract_split_zip(tmp_path / "set.zip", tmp_path / "out", max_bytes=1 << 30) == []
