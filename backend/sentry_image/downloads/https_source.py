"""Files of a dataset published over plain HTTPS: a folder URL with a checksum file (``SHA256SUMS``,
``MD5SUMS``, coreutils or BSD format) that lists the files, or a Zenodo record (its API lists each
file's size and md5). The bytes then go through ``resumable.download`` like any other."""

from __future__ import annotations

import re
from urllib.parse import quote, urljoin

import requests

from sentry_image.downloads.remote import RemoteFile
from sentry_image.downloads.resumable import DownloadError

ZENODO = "https://zenodo.org"
_HEX_ALGORITHM = {32: "md5", 40: "sha1", 64: "sha256"}
_COREUTILS = re.compile(r"^(?P<hex>[0-9a-fA-F]{32,64}) [ *](?P<name>.+)$")  # "HEX  name" / "HEX *name"
_BSD = re.compile(r"^(?P<algo>[A-Za-z0-9]+) \((?P<name>.+)\) = (?P<hex>[0-9a-fA-F]{32,64})$")


def parse_checksums(text: str) -> dict[str, str]:
    """``{file name: "ALGO:HEX"}`` from a checksum file; blank and comment lines are skipped, any other
    line that is not a checksum is an error (a login page served in place of the file, say)."""
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _COREUTILS.match(line) or _BSD.match(line)
        algorithm = _HEX_ALGORITHM.get(len(m["hex"])) if m else None
        if m is None or algorithm is None or ("algo" in m.groupdict() and m["algo"].lower() != algorithm):
            raise DownloadError(f"checksum file, line {number}: not a checksum line: {line[:80]!r}")
        out[m["name"].removeprefix("./")] = f"{algorithm}:{m['hex'].lower()}"
    return out


def _get(url: str, timeout: float = 30.0) -> requests.Response:
    try:
        resp = requests.get(url, timeout=timeout)
    except requests.RequestException as exc:
        raise DownloadError(f"cannot reach {url}: {exc}") from exc
    if resp.status_code != 200:
        raise DownloadError(f"{url}: HTTP {resp.status_code}")
    return resp


def _size(url: str, timeout: float = 30.0) -> int | None:
    """The file's size from a HEAD request, or None where the server does not say."""
    try:
        resp = requests.head(url, allow_redirects=True, timeout=timeout)
    except requests.RequestException as exc:
        raise DownloadError(f"cannot reach {url}: {exc}") from exc
    length = resp.headers.get("Content-Length", "")
    return int(length) if resp.status_code == 200 and length.isdigit() else None


def list_https(base: str, checksums: str, files: list[str] | None = None) -> list[RemoteFile]:
    """The files under the folder URL ``base``: those named in ``files``, else every file the checksum
    file ``checksums`` (relative to ``base``) lists; each with its size (HEAD) and published checksum."""
    base = base if base.endswith("/") else base + "/"
    published = parse_checksums(_get(urljoin(base, checksums)).text)
    names = files if files is not None else sorted(published)
    unlisted = [n for n in names if n not in published]
    if unlisted:
        raise DownloadError(f"{checksums} lists no checksum for {', '.join(unlisted)}")
    out = []
    for name in names:
        url = urljoin(base, quote(name))
        out.append(RemoteFile(name, url, _size(url), published[name]))
    return out


def list_zenodo(record: str, api: str = ZENODO) -> list[RemoteFile]:
    """Every file of a Zenodo record, with the size and md5 the record publishes."""
    resp = _get(f"{api.rstrip('/')}/api/records/{record}")
    try:
        entries = resp.json()["files"]
        return [
            RemoteFile(e["key"], e["links"]["self"], int(e["size"]), e.get("checksum") or None)
            for e in sorted(entries, key=lambda e: e["key"])
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise DownloadError(f"Zenodo record {record}: unexpected listing ({exc})") from exc
