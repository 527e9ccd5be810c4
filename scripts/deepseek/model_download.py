"""Download a model repository's files from a Hugging Face-style hub, resumably (stdlib only:
setup_venv.py runs it with the system Python before any venv exists).

Files go into `<dest>.partial/`, each as `<file>.part` until complete; a rerun continues a
`.part` with an HTTP Range request. When every file is there the folder is renamed to
`<dest>`, so a half-downloaded model is never mistaken for a model.

    GET {endpoint}/api/models/{repo}/revision/{revision}   -> {"siblings": [{"rfilename", "size"?}]}
    GET {endpoint}/{repo}/resolve/{revision}/{file}        -> the bytes (Range honoured)
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

DEFAULT_ENDPOINT = "https://huggingface.co"
# What an MLX model folder needs (mlx-vlm's own allow list, less code files).
WANTED_SUFFIXES = (".json", ".safetensors", ".txt", ".model", ".jinja", ".tiktoken", ".jsonl")
CHUNK = 1 << 20

Progress = Callable[[int, int, str], None]  # (bytes done, bytes total or 0, current file)


class DownloadError(Exception):
    pass


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int | None


def _open(url: str, headers: dict[str, str] | None = None, timeout: float = 60):  # type: ignore[no-untyped-def]
    request = urllib.request.Request(url, headers={"User-Agent": "parallel-vision-setup", **(headers or {})})
    token = os.environ.get("HF_TOKEN", "").strip()
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - the hub endpoint, https by default


def list_files(endpoint: str, repo: str, revision: str = "main") -> list[RemoteFile]:
    url = f"{endpoint.rstrip('/')}/api/models/{repo}/revision/{urllib.parse.quote(revision)}?blobs=true"
    try:
        with _open(url) as response:
            body = json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise DownloadError(f"cannot list the files of {repo} at {endpoint}: {error}") from error
    files = [
        RemoteFile(name=str(item["rfilename"]), size=item.get("size") if isinstance(item.get("size"), int) else None)
        for item in body.get("siblings", [])
        if isinstance(item, dict) and str(item.get("rfilename", "")).endswith(WANTED_SUFFIXES)
    ]
    if not files:
        raise DownloadError(f"{repo} lists no model files at {endpoint}")
    return files


def _download_one(endpoint: str, repo: str, revision: str, file: RemoteFile, folder: Path, on_bytes: Callable[[int], None]) -> None:
    final = folder / file.name
    if final.exists() and (file.size is None or final.stat().st_size == file.size):
        on_bytes(final.stat().st_size)
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    if file.size is not None and have > file.size:
        part.unlink()
        have = 0
    url = f"{endpoint.rstrip('/')}/{repo}/resolve/{urllib.parse.quote(revision)}/{urllib.parse.quote(file.name)}"
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with _open(url, headers) as response:
            if have and response.status != 206:
                have = 0  # the server ignored the range: start the file again
            on_bytes(have)
            with part.open("ab" if have else "wb") as out:
                while True:
                    chunk = response.read(CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    on_bytes(len(chunk))
    except urllib.error.HTTPError as error:
        if error.code == 416 and file.size is not None and have == file.size:
            pass  # already whole
        else:
            raise DownloadError(f"{file.name}: HTTP {error.code} from {url}") from error
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise DownloadError(f"{file.name}: download interrupted ({error}); run setup again to resume") from error
    size = part.stat().st_size
    if file.size is not None and size != file.size:
        raise DownloadError(f"{file.name}: got {size} of {file.size} bytes; run setup again to resume")
    part.replace(final)


def download_repo(
    repo: str,
    dest: Path,
    endpoint: str | None = None,
    revision: str = "main",
    on_progress: Progress | None = None,
) -> Path:
    """Download `repo` into `dest` (resuming a previous attempt); returns `dest`."""
    endpoint = endpoint or os.environ.get("HF_ENDPOINT", "").strip() or DEFAULT_ENDPOINT
    if dest.exists():
        return dest
    files = list_files(endpoint, repo, revision)
    total = sum(f.size or 0 for f in files)
    staging = dest.with_name(dest.name + ".partial")
    staging.mkdir(parents=True, exist_ok=True)
    done = 0
    last = [0.0]

    for file in files:
        def on_bytes(count: int, name: str = file.name) -> None:
            nonlocal done
            done += count
            now = time.monotonic()
            if on_progress is not None and now - last[0] >= 0.5:
                last[0] = now
                on_progress(done, total, name)

        _download_one(endpoint, repo, revision, file, staging, on_bytes)
    if on_progress is not None:
        on_progress(done, total, "")
    leftovers = list(staging.rglob("*.part"))
    if leftovers:
        raise DownloadError(f"unfinished files in {staging}: {', '.join(p.name for p in leftovers)}")
    if dest.exists():
        shutil.rmtree(staging)
    else:
        staging.replace(dest)
    return dest
