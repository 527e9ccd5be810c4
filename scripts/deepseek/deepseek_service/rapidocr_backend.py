"""RapidOCR 3.x on CPU: the PP-OCRv6 (small) detector and recogniser shipped in the wheel.

The same model generation as the app's embedded engine, so the two lanes are comparable.
The model files are passed by path: rapidocr would otherwise look its defaults up in
`default_models.yaml` and fetch any file it does not find, and nothing may be downloaded
at run time. The recogniser's character list is stored in its ONNX metadata.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from .backend_base import RecognizeOutput, UnsupportedOption
from .reading_order import Detection, reading_order_text

RAPIDOCR_MODEL_FILES = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}
RAPIDOCR_MIN_LONG_SIDE = 800
RAPIDOCR_MAX_UPSCALE = 4.0


def _quad_to_box(points: Any) -> tuple[float, float, float, float]:
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return (round(min(xs), 1), round(min(ys), 1), round(max(xs), 1), round(max(ys), 1))


def upscale_factor(width: int, height: int, min_long_side: int = RAPIDOCR_MIN_LONG_SIDE) -> float:
    """How much to enlarge a small image so its longer side reaches min_long_side (at most 4x)."""
    longest = max(width, height)
    if longest <= 0 or longest >= min_long_side:
        return 1.0
    return min(min_long_side / longest, RAPIDOCR_MAX_UPSCALE)


def shipped_model_paths() -> dict[str, Path]:
    """The ONNX files inside the installed rapidocr wheel; a clear error when one is missing."""
    import rapidocr

    models = Path(rapidocr.__file__).resolve().parent / "models"
    paths = {task: models / name for task, name in RAPIDOCR_MODEL_FILES.items()}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise FileNotFoundError(
            f"rapidocr's shipped models are missing: {', '.join(missing)}; reinstall with "
            f"`pip install --force-reinstall rapidocr==3.10.0` (or rerun scripts/deepseek/setup_venv.py)"
        )
    return paths


class RapidOcrBackend:
    name = "rapidocr"
    device = "cpu"
    model_id = "rapidocr/PP-OCRv6-small"

    def __init__(self) -> None:
        self._engine: Any = None

    def load(self) -> None:
        from rapidocr import RapidOCR

        paths = shipped_model_paths()
        params: dict[str, object] = {
            "Global.log_level": "warning",
            # Ads: the longer side capped at 1280 and never scaled up by rapidocr (its default
            # scales the *shorter* side to 736 px, which blows small banners up 3-4x); small ads
            # are brought to a longer side of 800 here instead.
            "Det.limit_side_len": 1280,
            "Det.limit_type": "max",
            "Det.unclip_ratio": 2.0,
        }
        for task, path in paths.items():
            params[f"{task}.model_path"] = str(path)
        self._engine = RapidOCR(params=params)

    def recognize(self, image: Image.Image, mode: str, task: str) -> RecognizeOutput:
        if task == "describe":
            raise UnsupportedOption("the rapidocr backend reads text only; task=describe needs a DeepSeek-OCR backend (mlx or torch)")
        if self._engine is None:
            raise RuntimeError("backend not loaded")
        import numpy as np

        scale = upscale_factor(image.width, image.height)
        if scale > 1:
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC)
        # rapidocr takes BGR arrays (OpenCV's order).
        result = self._engine(np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1]))
        boxes = result.boxes if result.boxes is not None else []
        detections = [
            Detection(text=str(text), box=_quad_to_box([[x / scale, y / scale] for x, y in points]), confidence=round(float(score), 4))
            for points, text, score in zip(boxes, result.txts or (), result.scores or ())
            if str(text).strip()
        ]
        return RecognizeOutput(text=reading_order_text(detections), blocks=detections)
