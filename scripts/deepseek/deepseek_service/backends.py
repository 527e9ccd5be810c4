"""Inference backends. A backend loads once; it recognises `parallelism` images at a time.

- `rapidocr`: PP-OCRv6 ONNX models shipped inside the rapidocr wheel, on CPU. Real OCR
  anywhere, so the service runs and is tested without a GPU.
- `mlx`: DeepSeek-OCR on Apple Silicon through mlx-vlm (MLX weights in the models folder).
- `torch`: DeepSeek-OCR through transformers' remote code, on mps > cuda > cpu.
- `deepseek`: whichever DeepSeek-OCR backend this machine runs best (see `pick_deepseek_backend`).
"""

from __future__ import annotations

from .backend_base import DEFAULT_MAX_TOKENS, MODES, PROMPTS, TASKS, Backend, RecognizeOutput, UnsupportedOption, output_from_model_text
from .model_dirs import pick_deepseek_backend
from .rapidocr_backend import RapidOcrBackend, upscale_factor
from .torch_backend import TorchBackend

BACKENDS = ("rapidocr", "deepseek", "mlx", "torch")
# The name the app used before the MLX route existed.
DeepSeekBackend = TorchBackend

__all__ = [
    "BACKENDS", "DEFAULT_MAX_TOKENS", "MODES", "PROMPTS", "TASKS", "Backend", "DeepSeekBackend", "RapidOcrBackend",
    "RecognizeOutput", "TorchBackend", "UnsupportedOption", "make_backend", "output_from_model_text", "upscale_factor",
]


def make_backend(
    name: str, model_path: str | None = None, models_dir: str | None = None, max_tokens: int = DEFAULT_MAX_TOKENS, workers: int | None = None
) -> Backend:
    if name == "deepseek":
        name, found = pick_deepseek_backend(model_path, models_dir)
        model_path = model_path or found
    if name == "rapidocr":
        return RapidOcrBackend(workers=workers)
    if name == "torch":
        return TorchBackend(model_path=model_path, max_tokens=max_tokens, models_dir=models_dir)
    if name == "mlx":
        from .mlx_backend import MlxBackend

        return MlxBackend(model_path=model_path, models_dir=models_dir, max_tokens=max_tokens)
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
