"""Files of a Hugging Face Hub dataset, listed and addressed through ``huggingface_hub`` (which honours
``HF_ENDPOINT`` for mirrors and ``HF_TOKEN`` for gated sets). The bytes themselves go through
``resumable.download`` so that an interrupted transfer resumes from its ``.part`` file."""

from __future__ import annotations

import os

from sentry_image.downloads.remote import RemoteFile
from sentry_image.downloads.resumable import DownloadError


def endpoint() -> str:
    """The Hub address: ``HF_ENDPOINT`` when set (read now, not at import), else the public Hub."""
    from huggingface_hub import constants

    return os.environ.get("HF_ENDPOINT") or constants.ENDPOINT


def auth_headers() -> dict[str, str]:
    """Authorization for gated datasets when ``HF_TOKEN`` (or a saved login) is there."""
    from huggingface_hub.utils import build_hf_headers

    return dict(build_hf_headers())


def list_files(repo: str, paths: list[str], revision: str = "main", recursive: bool = True) -> list[RemoteFile]:
    """Every file under ``paths`` of the dataset repository (``""``: its root; only the folder itself, not
    its sub-folders, unless ``recursive``), with sizes and (LFS) sha256s."""
    try:
        from huggingface_hub import HfApi, hf_hub_url
        from huggingface_hub.hf_api import RepoFile
    except ImportError as exc:  # the bundled app leaves it out
        raise DownloadError("dataset downloads need huggingface_hub: pip install -r requirements.txt") from exc

    base = endpoint()
    api = HfApi(endpoint=base)
    out: list[RemoteFile] = []
    try:
        for path in paths:
            for entry in api.list_repo_tree(
                repo, path or None, recursive=recursive, revision=revision, repo_type="dataset"
            ):
                if not isinstance(entry, RepoFile):
                    continue
                url = hf_hub_url(repo, entry.path, repo_type="dataset", revision=revision, endpoint=base)
                digest = f"sha256:{entry.lfs.sha256}" if entry.lfs is not None else None
                out.append(RemoteFile(entry.path, url, entry.size, digest))
    except Exception as exc:  # noqa: BLE001 - huggingface_hub raises many kinds (HTTP, offline, gated)
        raise DownloadError(f"cannot list {repo} on {base}: {exc}") from exc
    return sorted(out, key=lambda f: f.path)
