"""Resumable, verified downloads from a local HTTP server with Range support; split archives; safe
extraction; the disk-space check. No network: the server runs on 127.0.0.1 in the test."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from http_fixtures import make_handler, range_server, serve_handler
from sentry_image.downloads.archives import ArchiveError, join_parts, safe_extract, split_groups
from sentry_image.downloads.disk import NotEnoughSpaceError, check_free_space, free_bytes
from sentry_image.downloads.https_source import list_zenodo, parse_checksums
from sentry_image.downloads.resumable import DownloadError, download, part_path

BLOB = bytes(range(256)) * 4000  # 1,024,000 bytes


def sha(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def test_interrupted_download_resumes_to_the_right_bytes(tmp_path: Path) -> None:
    target = tmp_path / "blob.bin"
    with range_server({"blob.bin": BLOB}, cut_after=300_000) as (base, _):
        with pytest.raises(DownloadError, match="run the same command again to resume"):
            download(f"{base}/blob.bin", target, size=len(BLOB), digest=sha(BLOB))
    assert not target.exists() and 0 < part_path(target).stat().st_size < len(BLOB)  # never taken as whole
    have = part_path(target).stat().st_size
    progress: list[tuple[int, int | None]] = []
    with range_server({"blob.bin": BLOB}) as (base, seen):
        download(
            f"{base}/blob.bin", target, size=len(BLOB), digest=sha(BLOB), progress=lambda d, t: progress.append((d, t))
        )
    assert seen == [f"bytes={have}-"]  # only the rest was asked for
    assert target.read_bytes() == BLOB and not part_path(target).exists()
    assert progress[-1] == (len(BLOB), len(BLOB))


def test_a_server_that_ignores_range_restarts_cleanly(tmp_path: Path) -> None:
    target = tmp_path / "blob.bin"
    part_path(target).write_bytes(BLOB[:1000])
    with range_server({"blob.bin": BLOB}, honour_range=False) as (base, _):
        download(f"{base}/blob.bin", target, size=len(BLOB))
    assert target.read_bytes() == BLOB


def test_a_complete_part_file_is_finished_without_a_body(tmp_path: Path) -> None:
    target = tmp_path / "blob.bin"
    part_path(target).write_bytes(BLOB)
    with range_server({"blob.bin": BLOB}) as (base, seen):
        download(f"{base}/blob.bin", target, size=len(BLOB), digest=sha(BLOB))
    assert seen == [f"bytes={len(BLOB)}-"] and target.read_bytes() == BLOB


def test_checksum_mismatch_deletes_and_refuses(tmp_path: Path) -> None:
    target = tmp_path / "blob.bin"
    bad = BLOB[:-1] + b"\x00"
    with range_server({"blob.bin": bad}) as (base, _):
        with pytest.raises(DownloadError, match="sha256 does not match"):
            download(f"{base}/blob.bin", target, size=len(BLOB), digest=sha(BLOB))
    assert not target.exists() and not part_path(target).exists()


def test_ctrl_c_leaves_a_part_file_that_the_next_run_resumes(tmp_path: Path) -> None:
    target = tmp_path / "blob.bin"

    def interrupt(done: int, total: int | None) -> None:
        if done >= 300_000:
            raise KeyboardInterrupt  # what Ctrl-C raises in the middle of the transfer

    with range_server({"blob.bin": BLOB}) as (base, ranges):
        with pytest.raises(KeyboardInterrupt):
            download(f"{base}/blob.bin", target, size=len(BLOB), digest=sha(BLOB), progress=interrupt)
        kept = part_path(target).stat().st_size
        assert not target.exists() and 300_000 <= kept < len(BLOB)  # never mistaken for the whole file
        download(f"{base}/blob.bin", target, size=len(BLOB), digest=sha(BLOB))
    assert ranges[-1] == f"bytes={kept}-" and target.read_bytes() == BLOB


def test_http_errors_are_clear(tmp_path: Path) -> None:
    with range_server({}) as (base, _), pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{base}/missing.bin", tmp_path / "x")
    with pytest.raises(DownloadError, match="resume"):
        download("http://127.0.0.1:9/x", tmp_path / "y", timeout=2)


def tar_bytes(members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def test_split_archive_is_reassembled_and_extracted(tmp_path: Path) -> None:
    archive = tar_bytes([(entry("imgs/real/a.png"), b"A" * 5000), (entry("imgs/fake/b.png"), b"B" * 7000)])
    pieces = [archive[i : i + 1000] for i in range(0, len(archive), 1000)]
    names = [f"data.tar.gz.{i:02d}" for i in range(len(pieces))]
    for name, piece in zip(names, pieces, strict=True):
        (tmp_path / name).write_bytes(piece)
    groups = split_groups([*reversed(names), "README.md"])
    assert groups == {"data.tar.gz": names}
    joined = join_parts([tmp_path / n for n in groups["data.tar.gz"]], tmp_path / "data.tar.gz")
    assert joined.read_bytes() == archive
    assert sorted(safe_extract(joined, tmp_path / "out")) == ["imgs/fake/b.png", "imgs/real/a.png"]
    assert (tmp_path / "out" / "imgs" / "fake" / "b.png").read_bytes() == b"B" * 7000


def test_a_missing_piece_is_named() -> None:
    with pytest.raises(ArchiveError, match="a piece is missing"):
        split_groups(["x.tar.gz.00", "x.tar.gz.02"])


@pytest.mark.parametrize(
    ("member", "why"),
    [
        ((entry("../escape.txt"), b"x"), "outside the destination"),
        ((entry("ok/../../escape.txt"), b"x"), "outside the destination"),
        ((entry("/etc/evil"), b"x"), "absolute path"),
        ((entry("link", tarfile.SYMTYPE, "/etc/passwd"), None), "link that points outside"),
        ((entry("sub/link", tarfile.SYMTYPE, "../../outside"), None), "link that points outside"),
        ((entry("hard", tarfile.LNKTYPE, "../x"), None), "link that points outside"),
        ((entry("fifo", tarfile.FIFOTYPE), None), "device or FIFO"),
        ((entry("dev", tarfile.CHRTYPE), None), "device or FIFO"),
    ],
)
def test_hostile_archives_are_refused_whole(tmp_path: Path, member, why: str) -> None:  # noqa: ANN001
    archive = tmp_path / "evil.tar"
    archive.write_bytes(tar_bytes([(entry("fine.txt"), b"harmless"), member], mode="w"))
    with pytest.raises(ArchiveError, match=why):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "fine.txt").exists()  # nothing was written
    assert not (tmp_path / "escape.txt").exists()


def test_links_inside_the_tree_are_fine(tmp_path: Path) -> None:
    archive = tmp_path / "ok.tar"
    archive.write_bytes(
        tar_bytes([(entry("a/file.txt"), b"x"), (entry("a/alias", tarfile.SYMTYPE, "file.txt"), None)], mode="w")
    )
    safe_extract(archive, tmp_path / "out")
    assert (tmp_path / "out" / "a" / "alias").read_bytes() == b"x"


def test_truncated_archive_is_a_clear_error(tmp_path: Path) -> None:
    archive = tmp_path / "cut.tar.gz"
    archive.write_bytes(tar_bytes([(entry("a.bin"), BLOB)])[:3000])
    with pytest.raises(ArchiveError, match="cut short"):
        safe_extract(archive, tmp_path / "out")


def test_too_little_disk_space_is_refused_before_anything_starts(tmp_path: Path) -> None:
    free = free_bytes(tmp_path)
    check_free_space(tmp_path / "not-yet" / "made", 1000)  # fits; the folder need not exist
    with pytest.raises(NotEnoughSpaceError, match="GB free"):
        check_free_space(tmp_path, free + 1)


def zip_bytes(members: list[tuple[str, bytes, int]]) -> bytes:
    """A zip of (name, data, unix mode) members; a mode with S_IFLNK makes the data a link target."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zf.writestr(info, data)
    return buf.getvalue()


FILE, LINK = 0o100644, 0o120777


def test_zip_archives_are_extracted(tmp_path: Path) -> None:
    archive = tmp_path / "set.zip"
    archive.write_bytes(zip_bytes([("set/0_real/a.png", b"A" * 300, FILE), ("set/1_fake/b.png", b"B", FILE)]))
    assert sorted(safe_extract(archive, tmp_path / "out")) == ["set/0_real/a.png", "set/1_fake/b.png"]
    assert (tmp_path / "out" / "set" / "0_real" / "a.png").read_bytes() == b"A" * 300


@pytest.mark.parametrize(
    ("member", "why"),
    [
        (("../escape.txt", b"x", FILE), "outside the destination"),
        (("/abs/evil", b"x", FILE), "absolute path"),
        (("link", b"/etc/passwd", LINK), "link that points outside"),
        (("sub/link", b"../../outside", LINK), "link that points outside"),
        (("fifo", b"", 0o010644), "device or FIFO"),
    ],
)
def test_hostile_zips_are_refused_whole(tmp_path: Path, member, why: str) -> None:  # noqa: ANN001
    archive = tmp_path / "evil.zip"
    archive.write_bytes(zip_bytes([("fine.txt", b"harmless", FILE), member]))
    with pytest.raises(ArchiveError, match=why):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "fine.txt").exists()


def test_an_archive_whose_files_do_not_fit_is_refused_before_writing(tmp_path: Path, monkeypatch) -> None:
    import shutil

    monkeypatch.setattr("sentry_image.downloads.disk.shutil.disk_usage", lambda p: shutil._ntuple_diskusage(1, 1, 100))
    for name, data in (("big.zip", zip_bytes([("a.bin", BLOB, FILE)])), ("big.tar", tar_bytes([(entry("a"), BLOB)]))):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(NotEnoughSpaceError):
            safe_extract(tmp_path / name, tmp_path / "out")
    assert not list((tmp_path / "out").iterdir())


def test_checksum_files_in_coreutils_and_bsd_form() -> None:
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    text = f"# published\n{sha}  a.tar.gz.00\n{md5} *./b.zip\nSHA256 (c.txt) = {sha.upper()}\n\n"
    assert parse_checksums(text) == {"a.tar.gz.00": f"sha256:{sha}", "b.zip": f"md5:{md5}", "c.txt": f"sha256:{sha}"}
    with pytest.raises(DownloadError, match="line 1: not a checksum line"):
        parse_checksums("<html>please log in</html>")
    with pytest.raises(DownloadError, match="not a checksum line"):
        parse_checksums(f"MD5 (c.txt) = {sha}")  # the named algorithm and the digest length disagree


def test_md5_checksums_verify_downloads(tmp_path: Path) -> None:
    good = f"md5:{hashlib.md5(BLOB).hexdigest()}"
    with range_server({"blob.bin": BLOB}) as (base, _):
        assert download(f"{base}/blob.bin", tmp_path / "a", digest=good).read_bytes() == BLOB
        with pytest.raises(DownloadError, match="md5 does not match"):
            download(f"{base}/blob.bin", tmp_path / "b", digest="md5:" + "0" * 32)
    assert not (tmp_path / "b").exists() and not part_path(tmp_path / "b").exists()


def test_zenodo_record_listing(tmp_path: Path) -> None:
    record = {
        "files": [
            {"key": "set.zip", "size": 3, "checksum": "md5:abc", "links": {"self": "https://z/api/f/set.zip/content"}},
            {"key": "README.md", "size": 1, "checksum": "md5:def", "links": {"self": "https://z/api/f/README.md"}},
        ]
    }
    routes = {"/api/records/42": (200, {"Content-Type": "application/json"}, json.dumps(record).encode())}
    routes["/api/records/7"] = (200, {}, b'{"hits": []}')
    with serve_handler(make_handler(routes)) as base:
        files = list_zenodo("42", base)
        assert [(f.path, f.size, f.digest) for f in files] == [("README.md", 1, "md5:def"), ("set.zip", 3, "md5:abc")]
        assert files[1].url == "https://z/api/f/set.zip/content"
        with pytest.raises(DownloadError, match="unexpected listing"):
            list_zenodo("7", base)
        with pytest.raises(DownloadError, match="HTTP 404"):
            list_zenodo("8", base)
