"""What every backend shares: the request options, the prompts, the answer's shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image

from .grounding import parse_grounding
from .reading_order import Detection

MODES: dict[str, tuple[int, int, bool]] = {
    # mode: (base_size, image_size, crop_mode), as in DeepSeek-OCR's model card.
    "tiny": (512, 512, False),
    "small": (640, 640, False),
    "base": (1024, 1024, False),
    "large": (1280, 1280, False),
    "gundam": (1024, 640, True),
}
TASKS = ("ocr", "free", "describe")

# DeepSeek-OCR's own prompts (model card); the `<image>` placeholder comes first.
PROMPTS = {
    "ocr": "<image>\n<|grounding|>OCR this image. ",
    "free": "<image>\nFree OCR. ",
    "describe": "<image>\nDescribe this image in detail. ",
}

# Output tokens per image. An ad holds far fewer; the budget bounds a model that loops
# past what the repetition guard catches (the remote code's own default is 8192).
DEFAULT_MAX_TOKENS = 2048


class UnsupportedOption(ValueError):
    """The request asks for something this backend cannot do (answered as 400)."""


@dataclass
class RecognizeOutput:
    text: str
    blocks: list[Detection] = field(default_factory=list)
    description: str | None = None
    # The model was stopped (token budget or repetition guard) before it ended its answer.
    truncated: bool = False
    output_tokens: int | None = None
    # Time this request spent building an engine or loading weights first (0: it ran on a warm one).
    load_ms: float = 0.0


class Backend(Protocol):
    name: str
    device: str
    model_id: str
    # How many recognize() calls may run at once (each on its own thread).
    parallelism: int

    def load(self) -> None: ...

    def recognize(self, image: Image.Image, mode: str, task: str) -> RecognizeOutput: ...


def output_from_model_text(
    raw: str, task: str, width: int, height: int, truncated: bool = False, output_tokens: int | None = None
) -> RecognizeOutput:
    text, grounded = parse_grounding(raw, width, height)
    if task == "describe":
        return RecognizeOutput(text="", blocks=[], description=text, truncated=truncated, output_tokens=output_tokens)
    blocks = [Detection(text=b.text, box=b.box) for b in grounded]
    return RecognizeOutput(text=text, blocks=blocks, truncated=truncated, output_tokens=output_tokens)
