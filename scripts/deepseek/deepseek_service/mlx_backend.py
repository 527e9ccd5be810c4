"""DeepSeek-OCR on Apple Silicon through mlx-vlm (its `deepseekocr` model, since PR #541).

Weights: an MLX model folder such as `mlx-community/DeepSeek-OCR-8bit` downloaded by setup
into the models folder (see model_dirs.py), or `--model PATH`. Never fetched at run time:
a path that is not a complete model folder is an error naming the setup command.

The modes map onto the options mlx-vlm's DeepseekOCRProcessor takes, which are the remote
code's own: `base_size`, `image_size` and `cropping` (= crop_mode). The prompts are the
remote code's strings; mlx-vlm's chat template for this model is the prompt itself.
Tokens are streamed so the repetition guard can stop a loop as it starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PIL import Image

from .backend_base import DEFAULT_MAX_TOKENS, MODES, PROMPTS, RecognizeOutput, output_from_model_text
from .model_dirs import MLX_VARIANTS, find_mlx_model, is_mlx_model_dir, models_dir
from .repetition import RepetitionGuard


def _setup_hint() -> str:
    variants = " | ".join(MLX_VARIANTS)
    return f"run `python3 scripts/deepseek/setup_venv.py --venv VENV --with-mlx --download-mlx {variants}` or pass --model PATH"


class MlxBackend:
    name = "mlx"
    # One generation at a time on the GPU.
    parallelism = 1

    def __init__(
        self,
        model_path: str | None = None,
        models_dir: str | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        guard_factory: Callable[[], RepetitionGuard] = RepetitionGuard,
    ) -> None:
        self._models_dir = models_dir
        self.model_id = model_path or ""
        self.device = "gpu"
        self.max_tokens = max_tokens
        self._guard_factory = guard_factory
        self._model: Any = None
        self._processor: Any = None

    def resolve_model(self) -> Path:
        if self.model_id:
            folder = Path(self.model_id).expanduser()
            if not folder.is_dir():
                raise FileNotFoundError(f"MLX model folder {folder} does not exist; {_setup_hint()}")
            if not is_mlx_model_dir(folder):
                raise FileNotFoundError(f"{folder} is not a complete MLX model folder (config.json and *.safetensors, no *.part); {_setup_hint()}")
            return folder
        base = models_dir(self._models_dir)
        found = find_mlx_model(base)
        if found is None:
            names = ", ".join(name for _repo, name in MLX_VARIANTS.values())
            raise FileNotFoundError(f"no DeepSeek-OCR MLX weights in {base} (looked for {names}); {_setup_hint()}")
        return found

    def load(self) -> None:
        folder = self.resolve_model()
        self.model_id = str(folder)
        import mlx.core as mx
        from mlx_vlm import load

        self._model, self._processor = load(str(folder))
        on_gpu = mx.default_device() == mx.gpu
        self.device = "gpu" if on_gpu else "cpu"
        if not on_gpu and not _is_quantized(folder):
            # mlx's CPU kernel for the mixture-of-experts matmul (GatherMM) takes float32 only.
            self._model.set_dtype(mx.float32)

    def recognize(self, image: Image.Image, mode: str, task: str) -> RecognizeOutput:
        if self._model is None:
            raise RuntimeError("backend not loaded")
        from mlx_vlm import stream_generate

        base_size, image_size, crop_mode = MODES[mode]
        guard = self._guard_factory()
        looped = False
        finish_reason: str | None = None
        for result in stream_generate(
            self._model,
            self._processor,
            PROMPTS[task],
            image=[image],
            max_tokens=self.max_tokens,
            temperature=0.0,
            base_size=base_size,
            image_size=image_size,
            cropping=crop_mode,
        ):
            if result.finish_reason is not None:
                # The closing result repeats the last token (or carries the EOS): not new text.
                finish_reason = result.finish_reason
                break
            if result.token is not None and guard.push(int(result.token)):
                looped = True
                break
        tokenizer = getattr(self._processor, "tokenizer", self._processor)
        raw = tokenizer.decode(guard.kept(), skip_special_tokens=False)
        truncated = looped or finish_reason == "length"
        return output_from_model_text(raw, task, image.width, image.height, truncated=truncated, output_tokens=len(guard.tokens))


def _is_quantized(folder: Path) -> bool:
    import json

    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return "quantization" in config or "quantization_config" in config
