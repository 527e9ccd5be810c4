"""The mlx backend end to end on a tiny random DeepSeek-OCR built from mlx-vlm's classes.

Runs where `mlx` (on Linux: `mlx[cpu]`) and `mlx-vlm` import: the venv made with
`setup_venv.py --with-mlx` (CI: `npm run test:python` makes scripts/deepseek/.venv-mlx).
The text is noise; the point is that the real code path runs: mlx_vlm.load of an MLX model
folder, the mode options, streamed generation, the grounding parser, the repetition guard.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Iterator

import pytest

from deepseek_service.backend_base import MODES

MLX_MISSING = importlib.util.find_spec("mlx") is None or importlib.util.find_spec("mlx_vlm") is None
pytestmark = pytest.mark.skipif(
    MLX_MISSING, reason="mlx / mlx-vlm are not installed in this venv (setup_venv.py --with-mlx; CI uses scripts/deepseek/.venv-mlx)"
)

if not MLX_MISSING:
    from fastapi.testclient import TestClient

    from conftest import draw_text_image
    from deepseek_service.app import create_app
    from deepseek_service.mlx_backend import MlxBackend
    from tiny_mlx_model import build_tiny_model, small_sam


def wait_ready(client: "TestClient", timeout: float = 300) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while True:
        body = client.get("/health").json()
        if body["status"] != "loading" or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


@pytest.fixture(scope="module")
def sam_shrunk() -> Iterator[None]:
    with small_sam():
        yield


@pytest.fixture(scope="module")
def tiny_client(tmp_path_factory: pytest.TempPathFactory, sam_shrunk: None) -> Iterator["TestClient"]:
    folder = build_tiny_model(tmp_path_factory.mktemp("mlx") / "deepseek-ocr-mlx-8bit")
    with TestClient(create_app(MlxBackend(model_path=str(folder), max_tokens=6))) as client:
        body = wait_ready(client)
        assert body["status"] == "ready", body
        yield client


@pytest.fixture(scope="module")
def looping_client(tmp_path_factory: pytest.TempPathFactory, sam_shrunk: None) -> Iterator["TestClient"]:
    folder = build_tiny_model(tmp_path_factory.mktemp("mlx-loop") / "looping", looping=True)
    with TestClient(create_app(MlxBackend(model_path=str(folder), max_tokens=300))) as client:
        body = wait_ready(client)
        assert body["status"] == "ready", body
        yield client


def test_health_names_the_mlx_backend_and_its_folder(tiny_client: "TestClient") -> None:
    body = tiny_client.get("/health").json()
    assert body["backend"] == "mlx" and body["device"] in ("cpu", "gpu") and body["model"].endswith("deepseek-ocr-mlx-8bit")


@pytest.mark.parametrize("mode", list(MODES))
def test_ocr_generates_tokens_in_every_mode(tiny_client: "TestClient", mode: str) -> None:
    image = draw_text_image(["SALE 50% OFF"], size=(320, 120))
    response = tiny_client.post("/ocr", params={"mode": mode, "task": "ocr"}, content=image, headers={"content-type": "image/png"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["backend"] == "mlx" and body["mode"] == mode and (body["width"], body["height"]) == (320, 120)
    assert 1 <= body["output_tokens"] <= 6
    assert isinstance(body["text"], str) and isinstance(body["truncated"], bool)
    for block in body["blocks"]:
        x1, y1, x2, y2 = block["box"]
        assert 0 <= x1 <= x2 <= 320 and 0 <= y1 <= y2 <= 120


def test_describe_goes_to_the_description(tiny_client: "TestClient") -> None:
    response = tiny_client.post("/ocr", params={"mode": "tiny", "task": "describe"}, content=draw_text_image(["A"]), headers={"content-type": "image/png"})
    assert response.status_code == 200, response.text
    assert response.json()["text"] == "" and isinstance(response.json()["description"], str)


def test_repetition_guard_stops_a_looping_model_and_keeps_the_first_line(looping_client: "TestClient") -> None:
    response = looping_client.post("/ocr", params={"mode": "tiny", "task": "ocr"}, content=draw_text_image(["SALE"], size=(999, 999)), headers={"content-type": "image/png"})
    assert response.status_code == 200, response.text
    body = response.json()
    # The loop is a 7-token grounding line; the guard stops after 6 copies (>= 40 tokens), far below the budget.
    assert body["truncated"] is True and body["output_tokens"] < 60
    assert body["text"] == "SALE"
    assert body["blocks"] == [{"text": "SALE", "box": [100.0, 200.0, 300.0, 400.0], "confidence": None}]


def test_a_missing_model_folder_is_a_load_error_naming_setup(tmp_path: Path) -> None:
    with TestClient(create_app(MlxBackend(model_path=str(tmp_path / "nowhere")))) as client:
        body = wait_ready(client)
    assert body["status"] == "error" and "--download-mlx" in body["message"]
