"""The MLX weights download against a local hub stand-in: listing, progress, resume by Range."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from model_download import DownloadError, download_repo  # noqa: E402

FILES = {"config.json": b'{"model_type": "deepseekocr"}', "model.safetensors": bytes(range(256)) * 400, "README.md": b"skipped"}


class Hub:
    def __init__(self) -> None:
        self.ranges: list[str | None] = []
        self.cut_after: int | None = None  # drop the connection after this many bytes of the weights, once

    def handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path.startswith("/api/models/org/tiny/revision/main"):
                    body = json.dumps({"siblings": [{"rfilename": n, "size": len(b)} for n, b in FILES.items()]}).encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                name = self.path.rsplit("/", 1)[-1]
                data = FILES.get(name)
                if data is None or "/org/tiny/resolve/main/" not in self.path:
                    self.send_error(404)
                    return
                requested = self.headers.get("Range")
                if name == "model.safetensors":
                    hub.ranges.append(requested)
                start = int(requested.split("=")[1].rstrip("-")) if requested else 0
                chunk = data[start:]
                self.send_response(206 if requested else 200)
                self.send_header("Content-Length", str(len(chunk)))
                self.end_headers()
                if name == "model.safetensors" and hub.cut_after is not None:
                    self.wfile.write(chunk[: hub.cut_after])
                    hub.cut_after = None
                    self.wfile.flush()
                    self.connection.shutdown(2)  # the transfer breaks mid-file
                    return
                self.wfile.write(chunk)

        return Handler


@pytest.fixture
def hub() -> Iterator[tuple[Hub, str]]:
    state = Hub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), state.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_download_lists_fetches_and_reports_progress(hub: tuple[Hub, str], tmp_path: Path) -> None:
    _state, endpoint = hub
    seen: list[tuple[int, int]] = []
    dest = download_repo("org/tiny", tmp_path / "deepseek-ocr-mlx-8bit", endpoint=endpoint, on_progress=lambda d, t, _n: seen.append((d, t)))
    assert (dest / "model.safetensors").read_bytes() == FILES["model.safetensors"]
    assert not (dest / "README.md").exists() and not (tmp_path / "deepseek-ocr-mlx-8bit.partial").exists()
    total = len(FILES["config.json"]) + len(FILES["model.safetensors"])
    assert seen[-1] == (total, total)


def test_an_interrupted_download_resumes_where_it_stopped(hub: tuple[Hub, str], tmp_path: Path) -> None:
    state, endpoint = hub
    state.cut_after = 30_000
    dest = tmp_path / "deepseek-ocr-mlx-8bit"
    with pytest.raises(DownloadError, match="run setup again to resume"):
        download_repo("org/tiny", dest, endpoint=endpoint)
    assert not dest.exists()  # never a half model under the real name
    part = tmp_path / "deepseek-ocr-mlx-8bit.partial" / "model.safetensors.part"
    assert part.stat().st_size == 30_000
    download_repo("org/tiny", dest, endpoint=endpoint)
    assert state.ranges == [None, "bytes=30000-"]
    assert (dest / "model.safetensors").read_bytes() == FILES["model.safetensors"]


def test_an_unknown_repository_is_a_clear_error(hub: tuple[Hub, str], tmp_path: Path) -> None:
    _state, endpoint = hub
    with pytest.raises(DownloadError, match="cannot list the files of org/none"):
        download_repo("org/none", tmp_path / "x", endpoint=endpoint)
