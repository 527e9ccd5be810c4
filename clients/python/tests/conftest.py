"""Starts the real API (`parallel-vision api`) for the tests, with a temporary data folder:
one server with the real engines (the embedded PaddleOCR reads the images) and one with
the deterministic test engine (slow enough to cancel a run midway). Ad images are served
from a local HTTP server, as a scraper's would be."""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path
from typing import Iterator, List, NamedTuple, Optional

import pytest
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[3]
START_TIMEOUT_S = 180


class Server(NamedTuple):
    url: str
    key: str
    data_dir: Path


class Ads(NamedTuple):
    base: str
    ads: List[dict]


def _node() -> str:
    node = os.environ.get("PARALLEL_VISION_NODE") or shutil.which("node")
    if not node:
        pytest.fail("no node executable (set PARALLEL_VISION_NODE)")
    return node


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_api(data_dir: Path, test_engine: Optional[dict]) -> Iterator[Server]:
    env = dict(os.environ)
    env.pop("PARALLEL_VISION_DATA_DIR", None)
    # Ports of their own for the model services: an Ollama running on this machine's 11434 would read the ads.
    env["PARALLEL_VISION_DEEPSEEK_PORT"] = str(_free_port())
    env["PARALLEL_VISION_OLLAMA_PORT"] = str(_free_port())
    # The deterministic test engine is injected by the test fixture's entry; the product never picks it.
    entry = ["test/fixtures/cli-with-test-engine.ts", "--test-engine", json.dumps(test_engine)] if test_engine is not None else ["electron/cli/index.ts"]
    child = subprocess.Popen(
        [_node(), str(REPO / "node_modules/tsx/dist/cli.mjs"), *entry, "api", "--data-dir", str(data_dir), "--port", "0"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    lines: List[str] = []
    found = threading.Event()
    url = {}

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line)
            match = re.search(r"Parallel Vision API at (http://127\.0\.0\.1:\d+)/v1", line)
            if match:
                url["value"] = match.group(1)
                found.set()
        found.set()

    threading.Thread(target=read, daemon=True).start()
    if not found.wait(START_TIMEOUT_S) or "value" not in url:
        os.killpg(child.pid, signal.SIGKILL)
        pytest.fail("the API did not start:\n" + "".join(lines[-40:]))
    key = (data_dir / "api-key").read_text().strip()
    try:
        yield Server(url["value"], key, data_dir)
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start_api(tmp_path_factory.mktemp("pv-real"), None)


@pytest.fixture(scope="session")
def fake_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start_api(tmp_path_factory.mktemp("pv-fake"), {"delayMs": 300})


def _font(size: int) -> ImageFont.ImageFont:
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "/Library/Fonts/Arial.ttf"):
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def ad_words(n: int) -> str:
    return f"SALE {n + 10}"


def make_ad_image(path: Path, n: int) -> None:
    image = Image.new("RGB", (360, 140), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.text((20, 40), ad_words(n), fill=(20, 20, 20), font=_font(44))
    image.save(path)


@pytest.fixture(scope="session")
def ad_images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ads]:
    folder = tmp_path_factory.mktemp("ads")
    for n in range(20):
        make_ad_image(folder / f"ad-{n}.png", n)
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    ads = [{"creative_id": f"cr{n}", "image_url": f"{base}/ad-{n}.png", "ad_text": f"ad number {n}", "page": f"p{n % 4}"} for n in range(20)]
    try:
        yield Ads(base, ads)
    finally:
        server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass
