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


def test_overlapping_requests_get_an_engine_each_up_to_workers() -> None:
    backend = RapidOcrBackend(workers=2)
    backend.load()
    assert backend.parallelism == 2 and backend.engines_built == 1
    image = Image.open(io.BytesIO(draw_text_image(["FREE DELIVERY"], size=(520, 110)))).convert("RGB")
    warm = backend.recognize(image, "base", "ocr")
    assert "".join(warm.text.upper().split()) == "FREEDELIVERY"
    assert warm.load_ms == 0, "the engine built at load is warm"
    assert backend.engines_built == 1, "requests one after the other share the first engine"
    held, _ = backend._acquire()  # a request in flight
    try:
        out = backend.recognize(image, "base", "ocr")
    finally:
        backend._idle.put(held)
    assert "".join(out.text.upper().split()) == "FREEDELIVERY"
    assert backend.engines_built == 2, "an overlapping request builds a second engine"
    assert out.load_ms > 0, "the request that built it says so (the app does not count its time as the service's speed)"
    (first, _), (second, _) = backend._acquire(), backend._acquire()
    assert first is not second
    backend._idle.put(first)
    backend._idle.put(second)
    assert backend.engines_built == 2, "never more than workers"


def test_workers_default_to_one_per_core_and_must_be_positive() -> None:
    from deepseek_service.rapidocr_backend import MAX_RAPIDOCR_WORKERS, default_workers

    assert default_workers(2) == 2 and default_workers(64) == MAX_RAPIDOCR_WORKERS and default_workers(None) >= 1
    with pytest.raises(ValueError, match="workers must be at least 1"):
        RapidOcrBackend(workers=0)
