"""DeepSeek-OCR through transformers' remote code (`trust_remote_code`), on mps > cuda > cpu.

The remote code (modeling_deepseekocr.py, `infer`) is written for one CUDA GPU:
- it casts every image tensor to bfloat16 (`image_transform(...).to(torch.bfloat16)`);
- it wraps generation in `torch.autocast("cuda", dtype=torch.bfloat16)`, which does nothing
  off CUDA (torch warns and disables it), so there nothing casts the weights for it;
- it moves its inputs with `Tensor.cuda()` (input ids, images, the image-token mask, and
  the mask again inside `forward`);
- it generates up to 8192 tokens with `no_repeat_ngram_size=35` and no way to pass a budget.

So the weights are bfloat16 on every device (float32 weights meet bfloat16 images in the
first convolution and fail with a dtype mismatch), and while `infer` runs we redirect
`Tensor.cuda` to the chosen device, turn `torch.autocast("cuda")` into a no-op context off
CUDA, and cap `generate`'s `max_new_tokens` at our budget. The cached remote code is used
unmodified: nothing to keep in sync with its updates.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from typing import Any, Callable, Iterator

from PIL import Image

from .model_dirs import find_torch_model
from .model_dirs import models_dir as default_models_dir
from .backend_base import DEFAULT_MAX_TOKENS, MODES, PROMPTS, RecognizeOutput, output_from_model_text
from .repetition import trim_text_loop

DEFAULT_TORCH_MODEL = "deepseek-ai/DeepSeek-OCR"
# The only dtype the remote code's casts agree with, on every device.
REMOTE_CODE_DTYPE = "bfloat16"


def pick_device(torch: Any) -> str:
    if torch.backends.mps.is_available():
        return "mps"
    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def dtype_for_device(device: str, requested: str | None = None) -> str:
    """bfloat16 everywhere: the remote code casts its image tensors to it unconditionally."""
    if requested and requested != REMOTE_CODE_DTYPE:
        raise ValueError(
            f"PV_DEEPSEEK_DTYPE={requested} cannot work on {device}: DeepSeek-OCR's remote code casts its image "
            f"tensors to bfloat16, so the weights must be bfloat16 too (unset PV_DEEPSEEK_DTYPE)"
        )
    return REMOTE_CODE_DTYPE


@contextlib.contextmanager
def cuda_redirected(torch: Any, device: str) -> Iterator[None]:
    """While the remote code runs: `.cuda()` goes to `device`, `autocast("cuda")` is inert off CUDA."""
    if device == "cuda":
        yield
        return
    original_cuda = torch.Tensor.cuda
    original_autocast = torch.autocast

    def to_device(tensor: Any, *_args: Any, **_kwargs: Any) -> Any:
        return tensor.to(device)

    def autocast(device_type: str = "cuda", *args: Any, **kwargs: Any) -> Any:
        if device_type == "cuda":
            # The weights are already bfloat16; autocast for a device we are not on would
            # only warn ("CUDA is not available. Disabling") and do nothing.
            return contextlib.nullcontext()
        return original_autocast(device_type, *args, **kwargs)

    torch.Tensor.cuda = to_device
    torch.autocast = autocast
    try:
        yield
    finally:
        torch.Tensor.cuda = original_cuda
        torch.autocast = original_autocast


class GenerationRecord:
    """What the capped `generate` saw: how many tokens it made and whether it ended itself."""

    def __init__(self) -> None:
        self.new_tokens = 0
        self.hit_budget = False


def capped_generate(generate: Callable[..., Any], max_tokens: int, record: GenerationRecord, eos_token_id: int | None) -> Callable[..., Any]:
    @functools.wraps(generate)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["max_new_tokens"] = min(int(kwargs.get("max_new_tokens") or max_tokens), max_tokens)
        output = generate(*args, **kwargs)
        input_ids = args[0] if args else kwargs.get("input_ids")
        try:
            prompt_len = int(input_ids.shape[1]) if input_ids is not None else 0
            record.new_tokens = int(output.shape[1]) - prompt_len
            last = int(output[0, -1])
        except (AttributeError, IndexError, TypeError, ValueError):
            return output
        record.hit_budget = record.new_tokens >= kwargs["max_new_tokens"] and last != eos_token_id
        return output

    return wrapper


class TorchBackend:
    """DeepSeek-OCR with transformers. Needs requirements-torch.txt and the weights."""

    name = "torch"
    # One generation at a time: the weights are not thread-safe and the GPU is one device.
    parallelism = 1

    def __init__(
        self, model_path: str | None = None, device: str | None = None, max_tokens: int = DEFAULT_MAX_TOKENS, models_dir: str | None = None
    ) -> None:
        # --model, else $PV_DEEPSEEK_MODEL, else <models>/deepseek-ocr when setup put it there, else the HF cache id.
        local = find_torch_model(default_models_dir(models_dir))
        self.model_id = model_path or os.environ.get("PV_DEEPSEEK_MODEL") or (str(local) if local else DEFAULT_TORCH_MODEL)
        self.device = device or os.environ.get("PV_DEEPSEEK_DEVICE", "") or "auto"
        self.max_tokens = max_tokens
        self.dtype = REMOTE_CODE_DTYPE
        self._model: Any = None
        self._tokenizer: Any = None

    def load(self) -> None:
        # Must be set before torch initialises MPS: ops MPS lacks fall back to the CPU.
        os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer

        if self.device == "auto":
            self.device = pick_device(torch)
        self.dtype = dtype_for_device(self.device, os.environ.get("PV_DEEPSEEK_DTYPE") or None)
        # Weights come from a local folder or the Hugging Face cache; never downloaded at run
        # time unless the user allowed it (setup does the download).
        local_only = os.environ.get("PV_DEEPSEEK_ALLOW_DOWNLOAD", "0") != "1"
        self._tokenizer = AutoTokenizer.from_pretrained(self.model_id, trust_remote_code=True, local_files_only=local_only)
        model = AutoModel.from_pretrained(
            self.model_id,
            trust_remote_code=True,
            use_safetensors=True,
            # flash-attention is CUDA-only; eager attention runs everywhere.
            _attn_implementation="eager",
            local_files_only=local_only,
        )
        self._model = model.eval().to(self.device).to(getattr(torch, self.dtype))

    def recognize(self, image: Image.Image, mode: str, task: str) -> RecognizeOutput:
        if self._model is None:
            raise RuntimeError("backend not loaded")
        import torch

        base_size, image_size, crop_mode = MODES[mode]
        record = GenerationRecord()
        model = self._model
        # An instance attribute shadows the class's generate for this call only.
        capped = hasattr(model, "generate") and "generate" not in vars(model)
        if capped:
            model.generate = capped_generate(model.generate, self.max_tokens, record, getattr(self._tokenizer, "eos_token_id", None))
        with tempfile.TemporaryDirectory(prefix="pv-deepseek-") as workdir:
            path = os.path.join(workdir, "input.png")
            image.save(path)
            try:
                with cuda_redirected(torch, self.device), torch.inference_mode():
                    raw = model.infer(
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
                if capped:
                    del model.generate
        text, looped = trim_text_loop(str(raw or ""))
        return output_from_model_text(
            text, task, image.width, image.height, truncated=looped or record.hit_budget, output_tokens=record.new_tokens or None
        )
