"""The deepseek backend's plumbing, with stand-ins for torch and transformers.

The real model needs a GPU and gigabytes of weights; these tests pin down what the
backend asks of the remote code (prompt, sizes, eval_mode, device redirection) and what
it makes of the answer.
"""

from __future__ import annotations

import contextlib
import os
import sys
import types
from typing import Any, Iterator

import pytest
from PIL import Image

from deepseek_service.backends import MODES, PROMPTS, DeepSeekBackend


class FakeTensor:
    def cuda(self, *args: Any, **kwargs: Any) -> str:
        raise AssertionError("Torch not compiled with CUDA enabled")

    def to(self, device: str) -> str:
        return f"on:{device}"


class FakeModel:
    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []
        self.moved: list[Any] = []

    def eval(self) -> "FakeModel":
        return self

    def to(self, target: Any) -> "FakeModel":
        self.moved.append(target)
        return self

    def infer(self, tokenizer: Any, **kwargs: Any) -> str:
        with Image.open(kwargs["image_file"]) as image:
            size = image.size
        # The remote code moves its inputs with .cuda(); that must land on the chosen device.
        placed = FakeTensor().cuda()
        self.calls.append({**kwargs, "tokenizer": tokenizer, "size": size, "placed": placed})
        return self.answer


@pytest.fixture
def fake_torch(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    torch = types.ModuleType("torch")
    torch.Tensor = FakeTensor  # type: ignore[attr-defined]
    torch.bfloat16 = "bfloat16"  # type: ignore[attr-defined]
    torch.float32 = "float32"  # type: ignore[attr-defined]
    torch.inference_mode = contextlib.nullcontext  # type: ignore[attr-defined]
    torch.backends = types.SimpleNamespace(mps=types.SimpleNamespace(is_available=lambda: True))  # type: ignore[attr-defined]
    torch.cuda = types.SimpleNamespace(is_available=lambda: False)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", torch)
    yield torch


@pytest.fixture
def fake_transformers(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    model = FakeModel("<|ref|>SALE<|/ref|><|det|>[[0, 0, 499, 999]]<|/det|>")

    class AutoTokenizer:
        @staticmethod
        def from_pretrained(name: str, **kwargs: Any) -> str:
            seen["tokenizer"] = (name, kwargs)
            return "tokenizer"

    class AutoModel:
        @staticmethod
        def from_pretrained(name: str, **kwargs: Any) -> FakeModel:
            seen["model"] = (name, kwargs)
            return model

    transformers = types.ModuleType("transformers")
    transformers.AutoTokenizer = AutoTokenizer  # type: ignore[attr-defined]
    transformers.AutoModel = AutoModel  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "transformers", transformers)
    seen["instance"] = model
    return seen


def test_load_picks_mps_uses_eager_attention_local_weights_and_bfloat16(
    fake_torch: types.ModuleType, fake_transformers: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PV_DEEPSEEK_DEVICE", raising=False)
    monkeypatch.delenv("PV_DEEPSEEK_ALLOW_DOWNLOAD", raising=False)
    backend = DeepSeekBackend(model_path="/models/DeepSeek-OCR")
    backend.load()
    assert backend.device == "mps"
    assert os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK") == "1"
    name, kwargs = fake_transformers["model"]
    assert name == "/models/DeepSeek-OCR"
    assert kwargs["trust_remote_code"] is True and kwargs["_attn_implementation"] == "eager"
    assert kwargs["local_files_only"] is True
    assert fake_transformers["instance"].moved == ["mps", "bfloat16"]


@pytest.mark.parametrize("mode", list(MODES))
def test_recognize_passes_mode_sizes_and_grounding_prompt_and_scales_boxes(
    fake_torch: types.ModuleType, fake_transformers: dict[str, Any], mode: str
) -> None:
    backend = DeepSeekBackend(device="mps")
    backend.load()
    out = backend.recognize(Image.new("RGB", (200, 100), "white"), mode, "ocr")
    call = fake_transformers["instance"].calls[-1]
    base_size, image_size, crop_mode = MODES[mode]
    assert (call["base_size"], call["image_size"], call["crop_mode"]) == (base_size, image_size, crop_mode)
    assert call["prompt"] == PROMPTS["ocr"] and call["eval_mode"] is True and call["save_results"] is False
    assert call["size"] == (200, 100) and call["placed"] == "on:mps"
    assert out.text == "SALE"
    assert out.blocks[0].box == (0.0, 0.0, 99.9, 100.0)
    # The redirection is undone after the call.
    with pytest.raises(AssertionError, match="CUDA"):
        fake_torch.Tensor().cuda()


def test_describe_answer_becomes_the_description(fake_torch: types.ModuleType, fake_transformers: dict[str, Any]) -> None:
    backend = DeepSeekBackend(device="mps")
    backend.load()
    fake_transformers["instance"].answer = "A blue banner for a summer sale."
    out = backend.recognize(Image.new("RGB", (10, 10)), "tiny", "describe")
    assert fake_transformers["instance"].calls[-1]["prompt"] == PROMPTS["describe"]
    assert out.description == "A blue banner for a summer sale." and out.text == ""


def test_tensor_cuda_is_restored_when_the_model_raises(fake_torch: types.ModuleType, fake_transformers: dict[str, Any]) -> None:
    backend = DeepSeekBackend(device="mps")
    backend.load()

    def boom(tokenizer: Any, **kwargs: Any) -> str:
        raise RuntimeError("MPS backend out of memory")

    fake_transformers["instance"].infer = boom
    with pytest.raises(RuntimeError, match="out of memory"):
        backend.recognize(Image.new("RGB", (10, 10)), "base", "ocr")
    with pytest.raises(AssertionError, match="CUDA"):
        fake_torch.Tensor().cuda()
