"""Safe extraction: traversal, absolute names, link escapes, devices and size caps are refused."""

from __future__ import annotations

import os
import tarfile

import pytest
from data_helpers import make_tar, make_zip, tar_file, tar_link, write

from a2sb.data.extract import UnsafeArchiveError, safe_extract
from a2sb.errors import InputError

CAP = 10 << 20


def _leftovers(dest):
    return (
        [p.name for p in dest.iterdir() if p.name.startswith(".tmp-extract")]
        if dest.exists()
        else []
    )


def test_clean_tar_and_zip(tmp_path):
    tgz = write(
        tmp_path / "a.tar.gz", make_tar([tar_file("d/x.txt", b"x"), tar_link("d/y.txt", "x.txt")])
    )
    names = safe_extract(tgz, tmp_path / "out", max_bytes=CAP)
    assert sorted(names) == ["d/x.txt", "d/y.txt"]
    assert (tmp_path / "out" / "d" / "y.txt").read_bytes() == b"x"
    assert safe_extract(tgz, tmp_path / "out", max_bytes=CAP) == []  # idempotent
    z = write(tmp_path / "b.zip", make_zip([("e/f.txt", b"f")], symlinks={"e/g": "f.txt"}))
    safe_extract(z, tmp_path / "out", max_bytes=CAP)
    assert (tmp_path / "out" / "e" / "g").is_symlink() and (
        tmp_path / "out" / "e" / "g"
    ).read_bytes() == b"f"


@pytest.mark.parametrize(
    "members",
    [
        [tar_file("../evil.txt", b"evil")],
        [tar_file("ok/../../evil.txt", b"evil")],
        [tar_file("/tmp/a2sb-abs-evil.txt", b"evil")],
    ],
    ids=["dotdot", "nested-dotdot", "absolute"],
)
def test_tar_path_traversal_is_refused(tmp_path, members):
    arc = write(
        tmp_path / "bad.tar", make_tar([tar_file("fine.txt", b"ok"), *members], compression="")
    )
    dest = tmp_path / "sub" / "out"
    with pytest.raises(UnsafeArchiveError, match="refusing to extract"):
        safe_extract(arc, dest, max_bytes=CAP)
    assert not (tmp_path / "sub" / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()
    assert not os.path.exists("/tmp/a2sb-abs-evil.txt")
    assert not (dest / "fine.txt").exists() and _leftovers(dest) == []


def test_zip_path_traversal_and_absolute_are_refused(tmp_path):
    for name in ("../evil.txt", "/abs.txt", "a\\..\\..\\evil.txt", "C:/evil.txt"):
        arc = write(tmp_path / "bad.zip", make_zip([("fine.txt", b"ok"), (name, b"evil")]))
        with pytest.raises(UnsafeArchiveError):
            safe_extract(arc, tmp_path / "out", max_bytes=CAP)
        assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "out" / "fine.txt").exists()


@pytest.mark.parametrize(
    "members",
    [
        [tar_link("link", "../../outside")],
        [tar_link("link", "/etc")],
        [tar_link("dir/up", ".."), tar_link("dir/up2", "up/..")],
        [tar_link("hard", "../../etc/passwd", hard=True)],
        [tar_link("a", "."), tar_link("b/c", "../a/..")],
    ],
    ids=["symlink-dotdot", "symlink-absolute", "symlink-chain", "hardlink", "symlink-via-link"],
)
def test_link_escape_is_refused(tmp_path, members):
    arc = write(
        tmp_path / "links.tar", make_tar([tar_file("fine.txt", b"ok"), *members], compression="")
    )
    dest = tmp_path / "x" / "out"
    with pytest.raises(UnsafeArchiveError, match="escapes|absolute|'\\.\\.'"):
        safe_extract(arc, dest, max_bytes=CAP)
    assert not (dest / "fine.txt").exists() and _leftovers(dest) == []


def test_link_then_write_through_it_is_refused(tmp_path):
    # a link that is itself inside, then a member written through a second-level escape
    arc = write(
        tmp_path / "t.tar",
        make_tar([tar_link("l", "."), tar_file("l/ok.txt", b"fine")], compression=""),
    )
    safe_extract(arc, tmp_path / "out", max_bytes=CAP)  # stays inside: allowed
    assert (tmp_path / "out" / "ok.txt").read_bytes() == b"fine"


def test_zip_symlink_escape_is_refused(tmp_path):
    arc = write(
        tmp_path / "l.zip", make_zip([("a.txt", b"a")], symlinks={"evil": "../../../etc/passwd"})
    )
    with pytest.raises(UnsafeArchiveError, match="escapes"):
        safe_extract(arc, tmp_path / "out", max_bytes=CAP)


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_device_files_are_refused(tmp_path, kind):
    info = tarfile.TarInfo("dev/thing")
    info.type = kind
    arc = write(tmp_path / "dev.tar", make_tar([(info, None)], compression=""))
    with pytest.raises(UnsafeArchiveError, match="device or FIFO"):
        safe_extract(arc, tmp_path / "out", max_bytes=CAP)


def test_tar_over_the_size_cap_is_refused(tmp_path):
    arc = write(
        tmp_path / "big.tar.gz",
        make_tar([tar_file("a.bin", b"\0" * 600_000), tar_file("b.bin", b"\0" * 600_000)]),
    )
    dest = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match="cap of 1000000 bytes"):
        safe_extract(arc, dest, max_bytes=1_000_000)
    assert not (dest / "a.bin").exists() and _leftovers(dest) == []


def test_zip_over_the_size_cap_is_refused_before_writing(tmp_path):
    arc = write(tmp_path / "bomb.zip", make_zip([("a.bin", b"\0" * 2_000_000)]))
    assert arc.stat().st_size < 20_000  # highly compressible: a small zip bomb
    with pytest.raises(UnsafeArchiveError, match="cap"):
        safe_extract(arc, tmp_path / "out", max_bytes=1_000_000)
    assert not (tmp_path / "out" / "a.bin").exists()


def test_corrupt_archive_is_one_line_error(tmp_path):
    good = make_tar([tar_file("a.bin", os.urandom(50_000))])
    arc = write(tmp_path / "cut.tar.gz", good[: len(good) // 2])
    with pytest.raises(InputError, match="corrupt archive|not a zip or tar"):
        safe_extract(arc, tmp_path / "out", max_bytes=CAP)


def test_reextracting_a_new_copy_replaces_files(tmp_path):
    arc = write(tmp_path / "a.tar", make_tar([tar_file("d/x.txt", b"old")], compression=""))
    safe_extract(arc, tmp_path / "out", max_bytes=CAP)
    write(arc, make_tar([tar_file("d/x.txt", b"new")], compression=""))
    os.utime(arc, ns=(1, 1))  # a different mtime marks a new download
    assert safe_extract(arc, tmp_path / "out", max_bytes=CAP) == ["d/x.txt"]
    assert (tmp_path / "out" / "d" / "x.txt").read_bytes() == b"new"
