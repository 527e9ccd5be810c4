"""RapidOCR 3.x on CPU: the PP-OCRv6 (small) detector and recogniser shipped in the wheel.

The same model generation as the app's embedded engine, so the two lanes are comparable.
The model files are passed by path: rapidocr would otherwise look its defaults up in
`default_models.yaml` and fetch any file it does not find, and nothing may be downloaded
at run time. The recogniser's character list is stored in its ONNX metadata.
"""

from __future__ import annotations

import os
import queue
import threading
import time
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
# Like the app's embedded engine: more single-threaded engines than this only add memory.
MAX_RAPIDOCR_WORKERS = 8


def default_workers(cpu_count: int | None = None) -> int:
    """One single-threaded engine per core (at most MAX_RAPIDOCR_WORKERS)."""
    return max(1, min(cpu_count or os.cpu_count() or 1, MAX_RAPIDOCR_WORKERS))


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
    """`workers` engines, each run by one request at a time on its own thread(s).

    One engine per core with one onnxruntime thread each, not one engine on all cores:
    onnxruntime's intra-op threads spin and scale poorly on these small models (one
    request used ~1.6x the CPU per image), and the app counts one request in flight as
    one core of the machine's budget, which is then true. Engines beyond the first are
    built when requests first overlap, so memory follows the concurrency clients use.
    """

    name = "rapidocr"
    device = "cpu"
    model_id = "rapidocr/PP-OCRv6-small"

    def __init__(self, workers: int | None = None) -> None:
        self.parallelism = default_workers() if workers is None else workers
        if self.parallelism < 1:
            raise ValueError(f"workers must be at least 1, got {self.parallelism}")
        self._threads = max(1, (os.cpu_count() or 1) // self.parallelism)
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._built = 0
        self._build_lock = threading.Lock()

    @property
    def engines_built(self) -> int:
        return self._built

    def _build(self) -> Any:
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
            "EngineConfig.onnxruntime.intra_op_num_threads": self._threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        for task, path in paths.items():
            params[f"{task}.model_path"] = str(path)
        return RapidOCR(params=params)

    def load(self) -> None:
        with self._build_lock:
            if self._built == 0:
                self._idle.put(self._build())
                self._built = 1

    def _acquire(self) -> tuple[Any, float]:
        """An idle engine, or a new one while fewer than `parallelism` exist; and the ms spent building it."""
        try:
            return self._idle.get_nowait(), 0.0
        except queue.Empty:
            pass
        with self._build_lock:
            if self._built < self.parallelism:
                self._built += 1
                build = True
            else:
                build = False
        if not build:
            return self._idle.get(), 0.0
        started = time.perf_counter()
        try:
            return self._build(), (time.perf_counter() - started) * 1000
        except BaseException:
            with self._build_lock:
                self._built -= 1
            raise

    def recognize(self, image: Image.Image, mode: str, task: str) -> RecognizeOutput:
        if task == "describe":
            raise UnsupportedOption("the rapidocr backend reads text only; task=describe needs a DeepSeek-OCR backend (mlx or torch)")
        if self._built == 0:
            raise RuntimeError("backend not loaded")
        import numpy as np

        scale = upscale_factor(image.width, image.height)
        if scale > 1:
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC)
        # rapidocr takes BGR arrays (OpenCV's order).
        pixels = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        engine, load_ms = self._acquire()
        try:
            result = engine(pixels)
        finally:
            self._idle.put(engine)
        boxes = result.boxes if result.boxes is not None else []
        detections = [
            Detection(text=str(text), box=_quad_to_box([[x / scale, y / scale] for x, y in points]), confidence=round(float(score), 4))
            for points, text, score in zip(boxes, result.txts or (), result.scores or ())
            if str(text).strip()
        ]
        return RecognizeOutput(text=reading_order_text(detections), blocks=detections, load_ms=load_ms)
