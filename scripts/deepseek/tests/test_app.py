"""The HTTP contract, in process (FastAPI TestClient runs the app's lifespan)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from conftest import draw_text_image, png_with_claimed_size
from deepseek_service.app import Settings, create_app
from deepseek_service.backends import RapidOcrBackend, RecognizeOutput
from deepseek_service.reading_order import Detection


def wait_until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


@pytest.fixture(scope="module")
def rapid_client() -> Iterator[TestClient]:
    app = create_app(RapidOcrBackend(), Settings(max_body_bytes=200_000, max_pixels=5_000_000))
    with TestClient(app) as client:
        wait_until(lambda: client.get("/health").json()["status"] == "ready", timeout=60)
        yield client


def has_words_in_order(text: str, words: list[str]) -> bool:
    """The PP-OCR models often drop the space between words, so look for each word in order."""
    squashed = "".join(text.upper().split())
    position = 0
    for word in words:
        found = squashed.find(word, position)
        if found < 0:
            return False
        position = found + len(word)
    return True


def test_health_reports_ready_backend_and_queue(rapid_client: TestClient) -> None:
    body = rapid_client.get("/health").json()
    assert body["status"] == "ready" and body["backend"] == "rapidocr" and body["device"] == "cpu"
    assert body["queue_depth"] == 0 and body["queue_capacity"] == 8 and body["version"]


def test_ocr_reads_the_drawn_words_raw_body(rapid_client: TestClient) -> None:
    response = rapid_client.post("/ocr", content=draw_text_image(["HELLO WORLD", "SUMMER SALE 50"]), headers={"content-type": "image/png"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert has_words_in_order(body["text"], ["HELLO", "WORLD", "SUMMER", "SALE", "50"]), body["text"]
    assert len(body["text"].splitlines()) == 2
    assert body["backend"] == "rapidocr" and body["width"] == 640 and body["height"] == 240
    assert set(body["timings"]) >= {"queue_ms", "infer_ms"}
    for block in body["blocks"]:
        x1, y1, x2, y2 = block["box"]
        assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 240


def test_ocr_multipart_with_options_and_jpeg(rapid_client: TestClient) -> None:
    image = draw_text_image(["OPEN TODAY"], size=(420, 120), fmt="JPEG")
    response = rapid_client.post("/ocr", files={"image": ("ad.jpg", image, "image/jpeg")}, data={"task": "free", "mode": "small"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert has_words_in_order(body["text"], ["OPEN", "TODAY"]) and body["task"] == "free" and body["mode"] == "small"


def test_blocks_sit_where_the_words_were_drawn(rapid_client: TestClient) -> None:
    # Text only in the lower-right quadrant of a bigger canvas.
    canvas = Image.new("RGB", (800, 600), "white")
    patch = Image.open(__import__("io").BytesIO(draw_text_image(["CORNER"], size=(300, 90))))
    canvas.paste(patch, (480, 480))
    buffer = __import__("io").BytesIO()
    canvas.save(buffer, format="PNG")
    body = rapid_client.post("/ocr", content=buffer.getvalue(), headers={"content-type": "image/png"}).json()
    corner = [b for b in body["blocks"] if "CORNER" in b["text"].upper()]
    assert corner, body
    x1, y1, _x2, _y2 = corner[0]["box"]
    assert x1 >= 480 and y1 >= 480


@pytest.mark.parametrize(
    ("content", "content_type", "status", "kind"),
    [
        (b"", "application/octet-stream", 422, "bad-image"),
        (b"name,url\nad1,http://x\n", "application/octet-stream", 422, "bad-image"),
        (draw_text_image(["TRUNCATED"])[:200], "image/png", 422, "bad-image"),
        (png_with_claimed_size(60_000, 60_000), "image/png", 422, "bad-image"),
        (b"\x89PNG" + b"\0" * 300_000, "image/png", 413, "too-large"),
        (b"hello", "text/plain", 415, "unsupported-media-type"),
        (b'{"image": "x"}', "application/json", 415, "unsupported-media-type"),
    ],
    ids=["empty", "text-file", "truncated-png", "huge-dimensions", "oversize-body", "text-plain", "json"],
)
def test_bad_inputs_get_a_clear_error_and_the_service_keeps_working(
    rapid_client: TestClient, content: bytes, content_type: str, status: int, kind: str
) -> None:
    response = rapid_client.post("/ocr", content=content, headers={"content-type": content_type})
    assert response.status_code == status, response.text
    assert response.json()["kind"] == kind and response.json()["detail"]
    assert rapid_client.get("/health").json()["status"] == "ready"


def test_bad_options_and_missing_file_field(rapid_client: TestClient, hello_png: bytes) -> None:
    response = rapid_client.post("/ocr?mode=huge", content=hello_png, headers={"content-type": "image/png"})
    assert response.status_code == 400 and response.json()["kind"] == "bad-option"
    response = rapid_client.post("/ocr?task=describe", content=hello_png, headers={"content-type": "image/png"})
    assert response.status_code == 400 and "describe" in response.json()["detail"]
    response = rapid_client.post("/ocr", files={"other": ("x.png", hello_png, "image/png")})
    assert response.status_code == 422


def test_openapi_docs_are_served(rapid_client: TestClient) -> None:
    assert rapid_client.get("/docs").status_code == 200
    assert "/ocr" in rapid_client.get("/openapi.json").json()["paths"]


class GatedBackend:
    """Blocks every recognition until released, so queue states can be set up exactly."""

    name = "gated"
    device = "cpu"
    model_id = "gated-test-backend"
    parallelism = 1

    def __init__(self) -> None:
        self.release = threading.Event()
        self.loaded = threading.Event()

    def load(self) -> None:
        self.loaded.wait(10)

    def recognize(self, image: Image.Image, mode: str, task: str) -> RecognizeOutput:
        self.release.wait(10)
        return RecognizeOutput(text=f"{image.width}x{image.height}", blocks=[Detection("t", (0, 0, 1, 1))])


def test_health_says_loading_until_the_backend_is_loaded(hello_png: bytes) -> None:
    backend = GatedBackend()
    with TestClient(create_app(backend, Settings())) as client:
        assert client.get("/health").json()["status"] == "loading"
        response = client.post("/ocr", content=hello_png, headers={"content-type": "image/png"})
        assert response.status_code == 503 and response.headers["retry-after"]
        backend.loaded.set()
        wait_until(lambda: client.get("/health").json()["status"] == "ready")


def test_load_failure_is_reported_not_fatal(hello_png: bytes) -> None:
    class Broken(GatedBackend):
        def load(self) -> None:
            raise FileNotFoundError("weights not found in the Hugging Face cache")

    with TestClient(create_app(Broken(), Settings())) as client:
        wait_until(lambda: client.get("/health").json()["status"] == "error")
        assert "weights not found" in client.get("/health").json()["message"]
        assert client.post("/ocr", content=hello_png, headers={"content-type": "image/png"}).status_code == 503


def test_full_queue_answers_429_with_retry_after_then_recovers() -> None:
    backend = GatedBackend()
    backend.loaded.set()
    image = draw_text_image(["Q"], size=(32, 16))
    with TestClient(create_app(backend, Settings(queue_capacity=2))) as client, ThreadPoolExecutor(2) as pool:
        wait_until(lambda: client.get("/health").json()["status"] == "ready")
        post = lambda: client.post("/ocr", content=image, headers={"content-type": "image/png"})  # noqa: E731
        first = pool.submit(post)
        wait_until(lambda: client.get("/health").json()["queue_depth"] == 1)
        second = pool.submit(post)
        wait_until(lambda: client.get("/health").json()["queue_depth"] == 2)
        rejected = post()
        assert rejected.status_code == 429 and rejected.json()["kind"] == "queue-full"
        assert int(rejected.headers["retry-after"]) >= 1
        backend.release.set()
        assert first.result(10).status_code == 200 and second.result(10).status_code == 200
        assert first.result().json()["text"] == "32x16"
        assert client.get("/health").json()["queue_depth"] == 0
        assert post().status_code == 200


def test_a_backend_with_two_workers_runs_two_requests_at_once() -> None:
    class TwoAtOnce(GatedBackend):
        parallelism = 2

        def __init__(self) -> None:
            super().__init__()
            self.running = 0
            self.most = 0
            self.lock = threading.Lock()

        def recognize(self, image: Image.Image, mode: str, task: str) -> RecognizeOutput:
            with self.lock:
                self.running += 1
                self.most = max(self.most, self.running)
            try:
                return super().recognize(image, mode, task)
            finally:
                with self.lock:
                    self.running -= 1

    backend = TwoAtOnce()
    backend.loaded.set()
    image = draw_text_image(["Q"], size=(32, 16))
    with TestClient(create_app(backend, Settings(queue_capacity=4))) as client, ThreadPoolExecutor(3) as pool:
        wait_until(lambda: client.get("/health").json()["status"] == "ready")
        assert client.get("/health").json()["workers"] == 2
        post = lambda: client.post("/ocr", content=image, headers={"content-type": "image/png"})  # noqa: E731
        calls = [pool.submit(post) for _ in range(3)]
        wait_until(lambda: backend.running == 2 and client.get("/health").json()["queue_depth"] == 3)
        backend.release.set()
        assert all(call.result(10).status_code == 200 for call in calls)
        assert backend.most == 2, "two at once, never the third"


def test_a_request_that_built_an_engine_reports_its_load_time(hello_png: bytes) -> None:
    class BuildsOnFirstCall(GatedBackend):
        calls = 0

        def recognize(self, image: Image.Image, mode: str, task: str) -> RecognizeOutput:
            BuildsOnFirstCall.calls += 1
            return RecognizeOutput(text="ok", load_ms=1234.5 if BuildsOnFirstCall.calls == 1 else 0.0)

    backend = BuildsOnFirstCall()
    backend.loaded.set()
    with TestClient(create_app(backend, Settings())) as client:
        wait_until(lambda: client.get("/health").json()["status"] == "ready")
        post = lambda: client.post("/ocr", content=hello_png, headers={"content-type": "image/png"}).json()  # noqa: E731
        assert post()["timings"]["load_ms"] == 1234.5
        assert "load_ms" not in post()["timings"], "a warm request has no load time"


def test_inference_exception_is_a_500_for_that_request_only(hello_png: bytes) -> None:
    class Flaky(GatedBackend):
        calls = 0

        def recognize(self, image: Image.Image, mode: str, task: str) -> RecognizeOutput:
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise RuntimeError("MPS out of memory")
            return RecognizeOutput(text="ok")

    backend = Flaky()
    backend.loaded.set()
    with TestClient(create_app(backend, Settings())) as client:
        wait_until(lambda: client.get("/health").json()["status"] == "ready")
        failed = client.post("/ocr", content=hello_png, headers={"content-type": "image/png"})
        assert failed.status_code == 500 and "MPS out of memory" in failed.json()["detail"]
        assert client.post("/ocr", content=hello_png, headers={"content-type": "image/png"}).json()["text"] == "ok"


def test_a_queued_request_whose_client_left_is_never_run() -> None:
    """Needs a real server: only a real socket can be closed by the client."""
    import socket

    import httpx
    import uvicorn

    backend = GatedBackend()
    backend.loaded.set()
    ran: list[int] = []
    original = backend.recognize

    def counting(image: Image.Image, mode: str, task: str) -> RecognizeOutput:
        ran.append(image.width)
        return original(image, mode, task)

    backend.recognize = counting  # type: ignore[method-assign]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(backend, Settings(queue_capacity=4)), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: server.started)
        depth = lambda: httpx.get(f"{base}/health").json()["queue_depth"]  # noqa: E731
        post = lambda width, timeout: httpx.post(  # noqa: E731
            f"{base}/ocr", content=draw_text_image(["Q"], size=(width, 16)), headers={"content-type": "image/png"}, timeout=timeout
        )
        with ThreadPoolExecutor(2) as pool:
            running = pool.submit(post, 40, 30)
            wait_until(lambda: depth() == 1)
            with pytest.raises(httpx.ReadTimeout):
                post(50, 0.5)  # queued behind the first, then the client gives up
            wait_until(lambda: depth() == 1, timeout=5)  # its slot is freed while the first still runs
            backend.release.set()
            assert running.result(10).json()["text"] == "40x16"
        assert post(60, 10).json()["text"] == "60x16"
        assert ran == [40, 60]
    finally:
        backend.release.set()
        server.should_exit = True
        thread.join(10)
