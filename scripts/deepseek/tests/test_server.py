"""The real service as the app runs it: a child process, READY line, HTTP, SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from conftest import draw_text_image

SERVER = Path(__file__).resolve().parents[1] / "server.py"


class RunningServer:
    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if line.startswith(("READY", "ERROR")):
                self._ready.set()
        self._ready.set()

    def wait_for_line(self, timeout: float = 60) -> str:
        assert self._ready.wait(timeout), f"no READY line; stdout so far: {self.lines}"
        return next((line for line in self.lines if line.startswith(("READY", "ERROR"))), "")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[RunningServer, str]]:
    running = RunningServer("--host", "127.0.0.1", "--port", "0", "--backend", "rapidocr", "--queue-size", "16")
    try:
        line = running.wait_for_line()
        match = re.match(r"READY port=(\d+) backend=rapidocr device=cpu", line)
        assert match, line
        yield running, f"http://127.0.0.1:{match.group(1)}"
    finally:
        running.stop()


def test_ready_line_comes_after_listening_and_health_agrees(server: tuple[RunningServer, str]) -> None:
    running, base = server
    assert running.lines[0].startswith("LISTENING port=")
    health = httpx.get(f"{base}/health").json()
    assert health["status"] == "ready" and health["backend"] == "rapidocr"


def test_concurrent_requests_are_all_answered(server: tuple[RunningServer, str]) -> None:
    _running, base = server
    images = [draw_text_image([f"PRICE {n}0"], size=(360, 90)) for n in range(1, 9)]
    with httpx.Client(base_url=base, timeout=60) as client, ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda img: client.post("/ocr", content=img, headers={"content-type": "image/png"}), images))
    assert [r.status_code for r in responses] == [200] * 8
    for n, response in enumerate(responses, start=1):
        assert f"{n}0" in response.json()["text"].replace(" ", "")
    # One worker: some requests must have waited behind others.
    assert max(r.json()["timings"]["queue_ms"] for r in responses) > 0


def test_second_server_on_a_busy_port_says_why_and_exits(server: tuple[RunningServer, str]) -> None:
    _running, base = server
    port = base.rsplit(":", 1)[1]
    second = subprocess.run(
        [sys.executable, str(SERVER), "--port", port, "--backend", "rapidocr"], capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 2
    assert second.stdout.startswith(f"ERROR port={port}") and "cannot bind" in second.stdout


def test_non_loopback_host_is_refused() -> None:
    result = subprocess.run([sys.executable, str(SERVER), "--host", "0.0.0.0", "--port", "0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "loopback" in result.stdout


def test_sigterm_during_a_request_finishes_it_and_exits_cleanly() -> None:
    running = RunningServer("--port", "0", "--backend", "rapidocr")
    port = re.search(r"port=(\d+)", running.wait_for_line()).group(1)  # type: ignore[union-attr]
    image = draw_text_image(["GOODBYE"] * 4, size=(800, 600), font_size=48)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(httpx.post, f"http://127.0.0.1:{port}/ocr", content=image, headers={"content-type": "image/png"}, timeout=60)
        deadline = time.monotonic() + 10
        while httpx.get(f"http://127.0.0.1:{port}/health").json()["queue_depth"] == 0 and not pending.done():
            assert time.monotonic() < deadline
            time.sleep(0.005)
        code = running.stop()
        response = pending.result(30)
    assert code == 0
    assert response.status_code == 200 and "GOODBYE" in response.text
    assert running.lines[-1].startswith("STOPPED")


def test_sigterm_while_the_model_loads_exits_at_once(tmp_path: Path) -> None:
    """A backend whose load never ends (like big weights on a slow disk) must not block shutdown."""
    slow = tmp_path / "slow_server.py"
    slow.write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {str(SERVER.parent)!r})\n"
        "import deepseek_service.backends as backends\n"
        "class Slow(backends.RapidOcrBackend):\n"
        "    def load(self):\n"
        "        time.sleep(600)\n"
        "backends.make_backend = lambda name, model_path=None, **_: Slow()\n"
        "import server\n"
        "server.make_backend = backends.make_backend\n"
        "sys.exit(server.main())\n"
    )
    process = subprocess.Popen([sys.executable, str(slow), "--port", "0", "--backend", "rapidocr"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        port = re.search(r"LISTENING port=(\d+)", line).group(1)  # type: ignore[union-attr]
        assert httpx.get(f"http://127.0.0.1:{port}/health").json()["status"] == "loading"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        assert time.monotonic() - started < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
