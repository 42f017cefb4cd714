"""The real downloader against a local HTTP server: clean, resumed, failing and idempotent runs."""

from __future__ import annotations

import hashlib
import os
import tarfile

import pytest
import yaml
from data_helpers import make_tar, tar_file, tar_link

from a2sb.data.cli import main
from a2sb.data.download import DownloadError, download, fetch, fetch_dataset, parse_checksum_list
from a2sb.data.registry import Checksum, load_registry, parse_registry

PAYLOAD = os.urandom(300_000)
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


def _nosleep(_s: float) -> None:
    pass


def test_clean_download_verifies_and_places_atomically(http_server, tmp_path):
    http_server.files["/a.bin"] = PAYLOAD
    dest = tmp_path / "dl" / "a.bin"
    res = download(
        http_server.url("/a.bin"),
        dest,
        checksum=Checksum("sha256", SHA256),
        expected_size=len(PAYLOAD),
        progress=False,
    )
    assert res.status == "downloaded" and res.verified and res.digest == SHA256
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "dl" / "a.bin.part").exists()
    assert (tmp_path / "dl" / "a.bin.verified").exists()


def test_second_run_does_nothing(http_server, tmp_path):
    http_server.files["/a.bin"] = PAYLOAD
    dest = tmp_path / "a.bin"
    download(http_server.url("/a.bin"), dest, checksum=Checksum("sha256", SHA256), progress=False)
    n = len(http_server.requests)
    res = download(
        http_server.url("/a.bin"), dest, checksum=Checksum("sha256", SHA256), progress=False
    )
    assert res.status == "present" and res.verified
    assert len(http_server.requests) == n  # no request at all


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256"])
def test_published_algorithms(http_server, tmp_path, algorithm):
    http_server.files["/a.bin"] = PAYLOAD
    value = hashlib.new(algorithm, PAYLOAD).hexdigest()
    res = download(
        http_server.url("/a.bin"),
        tmp_path / "a.bin",
        checksum=Checksum(algorithm, value),
        progress=False,
    )
    assert res.digest == value


def test_interrupted_transfer_resumes_with_range(http_server, tmp_path):
    http_server.files["/big.bin"] = PAYLOAD
    http_server.cut_after["/big.bin"] = 120_000  # the first response stops after 120 kB
    logs: list[str] = []
    res = download(
        http_server.url("/big.bin"),
        tmp_path / "big.bin",
        checksum=Checksum("sha256", SHA256),
        expected_size=len(PAYLOAD),
        progress=False,
        backoff=0.0,
        sleep=_nosleep,
        log=logs.append,
    )
    assert res.status == "resumed"
    assert (tmp_path / "big.bin").read_bytes() == PAYLOAD
    ranges = [r for p, r in http_server.requests if p == "/big.bin"]
    assert ranges[0] is None and ranges[1] == "bytes=120000-"
    assert any("retry 1/5" in m for m in logs)


def test_partial_file_from_an_earlier_run_is_resumed(http_server, tmp_path):
    http_server.files["/big.bin"] = PAYLOAD
    (tmp_path / "big.bin.part").write_bytes(PAYLOAD[:50_000])
    res = download(
        http_server.url("/big.bin"),
        tmp_path / "big.bin",
        checksum=Checksum("sha256", SHA256),
        progress=False,
    )
    assert res.status == "resumed" and res.bytes_transferred == len(PAYLOAD) - 50_000
    assert (tmp_path / "big.bin").read_bytes() == PAYLOAD


def test_server_ignoring_range_restarts_from_zero(http_server, tmp_path):
    http_server.files["/big.bin"] = PAYLOAD
    http_server.ignore_range = True
    (tmp_path / "big.bin.part").write_bytes(b"garbage" * 100)
    download(
        http_server.url("/big.bin"),
        tmp_path / "big.bin",
        checksum=Checksum("sha256", SHA256),
        progress=False,
    )
    assert (tmp_path / "big.bin").read_bytes() == PAYLOAD


def test_wrong_checksum_deletes_partial_and_fails_clearly(http_server, tmp_path):
    http_server.files["/a.bin"] = PAYLOAD
    wrong = "0" * 64
    with pytest.raises(DownloadError) as err:
        download(
            http_server.url("/a.bin"),
            tmp_path / "a.bin",
            checksum=Checksum("sha256", wrong),
            progress=False,
        )
    msg = str(err.value)
    assert "a.bin" in msg and wrong in msg and SHA256 in msg and "partial file deleted" in msg
    assert "\n" not in msg
    assert not (tmp_path / "a.bin").exists() and not (tmp_path / "a.bin.part").exists()


def test_size_mismatch_fails(http_server, tmp_path):
    http_server.files["/a.bin"] = PAYLOAD
    with pytest.raises(DownloadError, match="size mismatch"):
        download(
            http_server.url("/a.bin"),
            tmp_path / "a.bin",
            expected_size=len(PAYLOAD) + 1,
            progress=False,
        )
    assert not (tmp_path / "a.bin.part").exists()


def test_transient_errors_are_retried_with_backoff(http_server, tmp_path):
    http_server.files["/a.bin"] = PAYLOAD
    http_server.fail_times["/a.bin"] = 2
    delays: list[float] = []
    download(
        http_server.url("/a.bin"),
        tmp_path / "a.bin",
        progress=False,
        backoff=0.5,
        sleep=delays.append,
        log=lambda m: None,
    )
    assert delays == [0.5, 1.0]


def test_gives_up_after_retries(http_server, tmp_path):
    http_server.files["/a.bin"] = PAYLOAD
    http_server.fail_times["/a.bin"] = 10
    with pytest.raises(DownloadError, match="giving up after 2 retries"):
        download(
            http_server.url("/a.bin"),
            tmp_path / "a.bin",
            retries=2,
            progress=False,
            sleep=_nosleep,
            log=lambda m: None,
        )


def test_missing_file_is_not_retried(http_server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(http_server.url("/nope"), tmp_path / "x", progress=False, sleep=_nosleep)
    assert len(http_server.requests) == 1


def test_existing_file_with_wrong_content_is_reported(http_server, tmp_path):
    (tmp_path / "a.bin").write_bytes(b"not it")
    with pytest.raises(DownloadError, match="existing file fails sha256"):
        download(
            http_server.url("/a.bin"),
            tmp_path / "a.bin",
            checksum=Checksum("sha256", SHA256),
            progress=False,
        )


def test_checksum_list_parsing(tmp_path):
    p = tmp_path / "sums.txt"
    p.write_text(f"{SHA256} part-00.tar\n{'a' * 64}  *part-01.tar\n\n")
    assert parse_checksum_list(p, "sha256") == {"part-00.tar": SHA256, "part-01.tar": "a" * 64}


def _local_registry(http_server, tmp_path, *, sha_tar: str | None = None):
    tar_bytes = make_tar([tar_file("toy/a.wav", b"RIFF-a"), tar_file("toy/sub/b.wav", b"RIFF-b")])
    http_server.files["/toy.tar.gz"] = tar_bytes
    http_server.files["/meta.csv"] = b"id,license\n1,CC BY 4.0\n"
    sums = f"{sha_tar or hashlib.sha256(tar_bytes).hexdigest()}  toy.tar.gz\n".encode()
    http_server.files["/sums.txt"] = sums
    doc = {
        "schema_version": 1,
        "datasets": {
            "toy": {
                "title": "Toy",
                "role": "pretrain",
                "homepage": "unknown",
                "audio_format": {"container": "wav", "sample_rate": "unknown"},
                "files": [
                    {
                        "url": http_server.url("/sums.txt"),
                        "filename": "sums.txt",
                        "kind": "checksums",
                        "size_bytes": "unknown",
                        "checksum": "unknown",
                    },
                    {
                        "url": http_server.url("/toy.tar.gz"),
                        "filename": "toy.tar.gz",
                        "archive": "tar.gz",
                        "size_bytes": len(tar_bytes),
                        "checksum": {"algorithm": "sha256", "list_file": "sums.txt"},
                    },
                    {
                        "url": http_server.url("/meta.csv"),
                        "filename": "meta.csv",
                        "kind": "metadata",
                        "size_bytes": "unknown",
                        "checksum": {
                            "algorithm": "md5",
                            "value": hashlib.md5(http_server.files["/meta.csv"]).hexdigest(),
                        },
                    },
                    {
                        "url": "unknown",
                        "filename": "later.zip",
                        "archive": "zip",
                        "size_bytes": "unknown",
                        "checksum": "unknown",
                    },
                ],
                "license": {"kind": "dataset", "license": "CC BY 4.0", "source_url": "unknown"},
            },
            "byhand": {
                "title": "By hand",
                "role": "test",
                "homepage": "https://example.org/byhand",
                "files": [],
                "manual": {
                    "reason": "kaggle",
                    "instructions": "Log in to Kaggle and download it.",
                    "place_files": "{root}/byhand/raw/",
                },
                "license": {"kind": "dataset", "license": "unknown"},
            },
        },
    }
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_fetch_dataset_downloads_verifies_extracts_and_is_idempotent(http_server, tmp_path):
    reg = load_registry(_local_registry(http_server, tmp_path))
    root = tmp_path / "root"
    logs: list[str] = []
    report = fetch_dataset(reg["toy"], root, progress=False, log=logs.append)
    assert sorted(report.downloaded) == ["meta.csv", "sums.txt", "toy.tar.gz"]
    assert report.extracted == ["toy.tar.gz"] and report.skipped == [
        ("later.zip", "download URL unknown")
    ]
    assert (root / "toy" / "raw" / "toy" / "sub" / "b.wav").read_bytes() == b"RIFF-b"
    assert (root / "toy" / "raw" / "meta.csv").exists()
    assert any("no published checksum" in m for m in logs)
    n = len(http_server.requests)
    again = fetch_dataset(reg["toy"], root, progress=False, log=lambda m: None)
    assert again.downloaded == [] and again.extracted == [] and len(http_server.requests) == n


def test_fetch_prints_manual_steps_and_continues(http_server, tmp_path):
    reg = load_registry(_local_registry(http_server, tmp_path))
    logs: list[str] = []
    reports = fetch(["byhand", "toy"], reg, tmp_path / "root", progress=False, log=logs.append)
    assert [r.dataset for r in reports] == ["byhand", "toy"]
    manual = [m for m in logs if "manual download" in m]
    assert (
        manual and "Kaggle" in manual[0] and str(tmp_path / "root" / "byhand" / "raw") in manual[0]
    )
    assert (tmp_path / "root" / "toy" / "raw" / "toy" / "a.wav").exists()


def test_fetch_wrong_listed_checksum_fails(http_server, tmp_path):
    reg = load_registry(_local_registry(http_server, tmp_path, sha_tar="b" * 64))
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        fetch(["toy"], reg, tmp_path / "root", progress=False, log=lambda m: None)
    assert not (tmp_path / "root" / "toy" / "downloads" / "toy.tar.gz").exists()


def test_cli_fetch(http_server, tmp_path, capsys):
    reg = _local_registry(http_server, tmp_path)
    rc = main(
        [
            "data",
            "fetch",
            "toy",
            "--registry",
            str(reg),
            "--root",
            str(tmp_path / "r"),
            "--no-progress",
        ]
    )
    assert rc == 0
    assert "toy: 3 downloaded" in capsys.readouterr().out
    assert tarfile.is_tarfile(tmp_path / "r" / "toy" / "downloads" / "toy.tar.gz")


def test_cli_fetch_error_is_one_line(http_server, tmp_path, capsys):
    reg = _local_registry(http_server, tmp_path, sha_tar="c" * 64)
    rc = main(
        [
            "data",
            "fetch",
            "toy",
            "--registry",
            str(reg),
            "--root",
            str(tmp_path / "r"),
            "--no-progress",
            "--retries",
            "0",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert err[-1].startswith("a2sb: error:") and "sha256 mismatch" in err[-1]


def test_builtin_registry_fetch_of_manual_dataset_needs_no_network(tmp_path):
    logs: list[str] = []
    reg = load_registry()
    report = fetch_dataset(reg["ccmixter"], tmp_path, progress=False, log=logs.append)
    assert report.manual is not None and "ccmixter_corpus" in report.manual
    assert report.downloaded == [] and any("ccmixter_corpus" in m for m in logs)


def test_registry_rejects_bad_entries(tmp_path):
    from a2sb.errors import InputError

    base = {
        "title": "x",
        "role": "test",
        "files": [],
        "license": {"kind": "dataset", "license": "unknown"},
    }
    with pytest.raises(InputError, match="role 'teacher'"):
        parse_registry({"datasets": {"x": {**base, "role": "teacher"}}}, "r.yaml")
    bad_sum = {
        **base,
        "files": [
            {
                "url": "https://e.org/a",
                "filename": "a",
                "checksum": {"algorithm": "md5", "value": "abc"},
            }
        ],
    }
    with pytest.raises(InputError, match="r.yaml: dataset 'x'.*32 hex digits"):
        parse_registry({"datasets": {"x": bad_sum}}, "r.yaml")
    with pytest.raises(InputError, match="unknown key"):
        parse_registry({"datasets": {"x": {**base, "colour": "red"}}}, "r.yaml")


@pytest.mark.parametrize(
    ("members", "cap", "message"),
    [
        ([tar_file("ok.wav", b"x"), tar_file("../../evil.wav", b"evil")], None, "contains '..'"),
        ([tar_file("ok.wav", b"x"), tar_link("ok/link", "../../../outside")], None, "escapes"),
        ([tar_file("big.wav", b"\0" * 200_000)], 100_000, "cap of 100000 bytes"),
    ],
    ids=["path-traversal", "link-escape", "size-cap"],
)
def test_fetch_refuses_unsafe_archives_served_over_http(
    http_server, tmp_path, members, cap, message
):
    from a2sb.data.extract import UnsafeArchiveError

    data = make_tar(members)
    http_server.files["/bad.tar.gz"] = data
    doc = {
        "datasets": {
            "bad": {
                "title": "bad",
                "role": "test",
                "files": [
                    {
                        "url": http_server.url("/bad.tar.gz"),
                        "filename": "bad.tar.gz",
                        "archive": "tar.gz",
                        "size_bytes": len(data),
                        "checksum": {
                            "algorithm": "sha256",
                            "value": hashlib.sha256(data).hexdigest(),
                        },
                    }
                ],
                "license": {"kind": "dataset", "license": "CC0"},
            }
        }
    }
    ds = parse_registry(doc)["bad"]
    root = tmp_path / "root"
    with pytest.raises(UnsafeArchiveError, match=message):
        fetch_dataset(ds, root, progress=False, log=lambda m: None, max_extract_bytes=cap)
    assert (
        root / "bad" / "downloads" / "bad.tar.gz"
    ).read_bytes() == data  # verified download kept
    raw = root / "bad" / "raw"
    assert not any(p.is_file() for p in raw.rglob("*")) if raw.exists() else True
    assert not (tmp_path / "evil.wav").exists() and not (root / "evil.wav").exists()
