"""Inference backends. A backend loads once and recognises one image at a time.

- `rapidocr`: PP-OCR ONNX models shipped inside the rapidocr-onnxruntime wheel, on CPU.
  Real OCR anywhere, so the service runs and is tested without a GPU.
- `deepseek`: deepseek-ai/DeepSeek-OCR through transformers' remote code, on mps > cuda > cpu.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image

from .grounding import parse_grounding
from .reading_order import Detection, reading_order_text

MODES: dict[str, tuple[int, int, bool]] = {
    # mode: (base_size, image_size, crop_mode), as in DeepSeek-OCR's model card.
    "tiny": (512, 512, False),
    "small": (640, 640, False),
    "base": (1024, 1024, False),
    "large": (1280, 1280, False),
    "gundam": (1024, 640, True),
}
TASKS = ("ocr", "free", "describe")
BACKENDS = ("rapidocr", "deepseek")


class UnsupportedOption(ValueError):
    """The request asks for something this backend cannot do (answered as 400)."""


@dataclass
class RecognizeOutput:
    text: str
    blocks: list[Detection] = field(default_factory=list)
    description: str | None = None


class Backend(Protocol):
    name: str
    device: str
    model_id: str

    def load(self) -> None: ...

    def recognize(self, image: Image.Image, mode: str, task: str) -> RecognizeOutput: ...


def _quad_to_box(points: list[list[float]]) -> tuple[float, float, float, float]:
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return (round(min(xs), 1), round(min(ys), 1), round(max(xs), 1), round(max(ys), 1))


RAPIDOCR_MIN_LONG_SIDE = 800
RAPIDOCR_MAX_UPSCALE = 4.0


def upscale_factor(width: int, height: int, min_long_side: int = RAPIDOCR_MIN_LONG_SIDE) -> float:
    """How much to enlarge a small image so its longer side reaches min_long_side (at most 4x)."""
    longest = max(width, height)
    if longest <= 0 or longest >= min_long_side:
        return 1.0
    return min(min_long_side / longest, RAPIDOCR_MAX_UPSCALE)


class RapidOcrBackend:
    name = "rapidocr"
    device = "cpu"
    model_id = "rapidocr-onnxruntime/PP-OCRv4"

    def __init__(self) -> None:
        self._engine: object | None = None

    def load(self) -> None:
        from rapidocr_onnxruntime import RapidOCR

        # RapidOCR's default scales an image until its *shorter* side is 736 px: a small
        # banner grows 3-4x and the recogniser then drops the spaces between words. We
        # detect with the longer side capped at 1280 and bring small ads up to a longer
        # side of 800 ourselves (word F1 on ICDAR 2013 born-digital ads: 0.37 -> ~0.65).
        self._engine = RapidOCR(det_limit_side_len=1280, det_limit_type="max", det_unclip_ratio=2.0)

    def recognize(self, image: Image.Image, mode: str, task: str) -> RecognizeOutput:
        if task == "describe":
            raise UnsupportedOption("the rapidocr backend reads text only; task=describe needs the deepseek backend")
        if self._engine is None:
            raise RuntimeError("backend not loaded")
        scale = upscale_factor(image.width, image.height)
        if scale > 1:
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC)
        result, _elapsed = self._engine(image)  # type: ignore[operator]
        detections = [
            Detection(text=str(text), box=_quad_to_box([[x / scale, y / scale] for x, y in points]), confidence=round(float(score), 4))
            for points, text, score in (result or [])
            if str(text).strip()
        ]
        return RecognizeOutput(text=reading_order_text(detections), blocks=detections)


PROMPTS = {
    "ocr": "<image>\n<|grounding|>OCR this image. ",
    "free": "<image>\nFree OCR. ",
    "describe": "<image>\nDescribe this image in detail. ",
}


def pick_device() -> str:
    import torch

    if torch.backends.mps.is_available():
        return "mps"
    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


class DeepSeekBackend:
    """DeepSeek-OCR with transformers. Needs requirements-deepseek.txt and the weights.

    The model's remote code calls `.cuda()` and autocasts for CUDA; on MPS/CPU we
    redirect `Tensor.cuda` to the chosen device while it runs (no patched copy of
    their code to keep in sync).
    """

    name = "deepseek"

    def __init__(self, model_path: str | None = None, device: str | None = None) -> None:
        self.model_id = model_path or os.environ.get("PV_DEEPSEEK_MODEL", "deepseek-ai/DeepSeek-OCR")
        self.device = device or os.environ.get("PV_DEEPSEEK_DEVICE", "") or "auto"
        self._model: object | None = None
        self._tokenizer: object | None = None

    def load(self) -> None:
        os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer

        if self.device == "auto":
            self.device = pick_device()
        dtype_name = os.environ.get("PV_DEEPSEEK_DTYPE", "bfloat16" if self.device != "cpu" else "float32")
        dtype = getattr(torch, dtype_name)
        # Weights come from the local Hugging Face cache or a folder; never download at run time
        # unless the user allowed it (setup does the download).
        local_only = os.environ.get("PV_DEEPSEEK_ALLOW_DOWNLOAD", "0") != "1"
        self._tokenizer = AutoTokenizer.from_pretrained(self.model_id, trust_remote_code=True, local_files_only=local_only)
        model = AutoModel.from_pretrained(
            self.model_id,
            trust_remote_code=True,
            use_safetensors=True,
            _attn_implementation="eager",
            local_files_only=local_only,
        )
        self._model = model.eval().to(self.device).to(dtype)

    def recognize(self, image: Image.Image, mode: str, task: str) -> RecognizeOutput:
        if self._model is None:
            raise RuntimeError("backend not loaded")
        import torch

        base_size, image_size, crop_mode = MODES[mode]
        original_cuda = torch.Tensor.cuda
        device = self.device
        with tempfile.TemporaryDirectory(prefix="pv-deepseek-") as workdir:
            path = os.path.join(workdir, "input.png")
            image.save(path)
            try:
                if device != "cuda":
                    torch.Tensor.cuda = lambda tensor, *args, **kwargs: tensor.to(device)  # type: ignore[method-assign]
                with torch.inference_mode():
                    raw = self._model.infer(  # type: ignore[attr-defined]
                        self._tokenizer,
                        prompt=PROMPTS[task],
                        image_file=path,
                        output_path=workdir,
                        base_size=base_size,
                        image_size=image_size,
                        crop_mode=crop_mode,
                        save_results=False,
                        test_compress=False,
                        eval_mode=True,
                    )
            finally:
                torch.Tensor.cuda = original_cuda  # type: ignore[method-assign]
        return output_from_model_text(str(raw or ""), task, image.width, image.height)


def output_from_model_text(raw: str, task: str, width: int, height: int) -> RecognizeOutput:
    text, grounded = parse_grounding(raw, width, height)
    if task == "describe":
        return RecognizeOutput(text="", blocks=[], description=text)
    return RecognizeOutput(text=text, blocks=[Detection(text=b.text, box=b.box) for b in grounded])


def make_backend(name: str, model_path: str | None = None) -> Backend:
    if name == "rapidocr":
        return RapidOcrBackend()
    if name == "deepseek":
        return DeepSeekBackend(model_path=model_path)
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
