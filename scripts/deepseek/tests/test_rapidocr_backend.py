"""The CPU backend uses the PP-OCRv6 files inside the rapidocr wheel and never downloads."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from conftest import draw_text_image
from deepseek_service.rapidocr_backend import RAPIDOCR_MODEL_FILES, RapidOcrBackend, shipped_model_paths


def test_the_shipped_v6_models_are_found_in_the_wheel() -> None:
    paths = shipped_model_paths()
    assert paths["Det"].name == "PP-OCRv6_det_small.onnx" and paths["Rec"].name == "PP-OCRv6_rec_small.onnx"
    assert all(path.is_file() and path.stat().st_size > 100_000 for path in paths.values())
    assert set(paths) == set(RAPIDOCR_MODEL_FILES)


def test_load_and_read_without_any_download(monkeypatch: pytest.MonkeyPatch) -> None:
    from rapidocr.utils import download_file

    def no_network(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("rapidocr tried to download a model file")

    monkeypatch.setattr(download_file.DownloadFile, "run", classmethod(lambda cls, *a, **k: no_network()))
    backend = RapidOcrBackend()
    backend.load()
    image = Image.open(io.BytesIO(draw_text_image(["FREE DELIVERY"], size=(520, 110)))).convert("RGB")
    out = backend.recognize(image, "base", "ocr")
    assert "".join(out.text.upper().split()) == "FREEDELIVERY", out.text
    assert backend.model_id == "rapidocr/PP-OCRv6-small"
