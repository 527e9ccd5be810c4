"""The deepseek backend's plumbing, with stand-ins for torch and transformers.

The real model needs a GPU and gigabytes of weights; these tests pin down what the
backend asks of the remote code (prompt, sizes, eval_mode, device redirection) and what
it makes of the answer.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import types
from typing import Any, Iterator

import pytest
from PIL import Image

from deepseek_service.backends import MODES, PROMPTS, DeepSeekBackend
from deepseek_service.torch_backend import GenerationRecord, capped_generate, dtype_for_device


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
        # The remote code moves its inputs with .cuda() and autocasts for CUDA; both must
        # land on the chosen device.
        placed = FakeTensor().cuda()
        with sys.modules["torch"].autocast("cuda", dtype="bfloat16"):
            pass
        self.calls.append({**kwargs, "tokenizer": tokenizer, "size": size, "placed": placed})
        return self.answer


@pytest.fixture
def fake_torch(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    torch = types.ModuleType("torch")
    torch.Tensor = FakeTensor  # type: ignore[attr-defined]
    torch.bfloat16 = "bfloat16"  # type: ignore[attr-defined]
    torch.float32 = "float32"  # type: ignore[attr-defined]
    torch.inference_mode = contextlib.nullcontext  # type: ignore[attr-defined]
    torch.autocast_calls = []  # type: ignore[attr-defined]

    def autocast(device_type: str, *args: Any, **kwargs: Any) -> contextlib.AbstractContextManager[None]:
        torch.autocast_calls.append(device_type)  # type: ignore[attr-defined]
        return contextlib.nullcontext()

    torch.autocast = autocast  # type: ignore[attr-defined]
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


def test_autocast_for_cuda_is_inert_off_cuda_and_restored_after(fake_torch: types.ModuleType, fake_transformers: dict[str, Any]) -> None:
    backend = DeepSeekBackend(device="mps")
    backend.load()
    backend.recognize(Image.new("RGB", (10, 10)), "tiny", "ocr")
    # The remote code's autocast("cuda") never reached torch on MPS ...
    assert fake_torch.autocast_calls == []  # type: ignore[attr-defined]
    # ... and torch.autocast is torch's own again afterwards.
    with fake_torch.autocast("cuda"):  # type: ignore[attr-defined]
        pass
    assert fake_torch.autocast_calls == ["cuda"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("device", ["mps", "cuda", "cpu"])
def test_weights_are_bfloat16_on_every_device(device: str) -> None:
    # The remote code casts image tensors to bfloat16 whatever the device.
    assert dtype_for_device(device) == "bfloat16"


def test_a_dtype_the_remote_code_cannot_use_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="casts its image tensors to bfloat16"):
        dtype_for_device("cpu", "float32")


def test_generate_is_capped_at_the_token_budget_and_reports_hitting_it() -> None:
    class Ids:
        def __init__(self, n: int, last: int) -> None:
            self.shape = (1, n)
            self.last = last

        def __getitem__(self, index: Any) -> int:
            return self.last

    seen: dict[str, Any] = {}

    def generate(input_ids: Ids, **kwargs: Any) -> Ids:
        seen.update(kwargs)
        return Ids(input_ids.shape[1] + kwargs["max_new_tokens"], last=7)

    record = GenerationRecord()
    capped_generate(generate, 100, record, eos_token_id=1)(Ids(30, 0), max_new_tokens=8192, no_repeat_ngram_size=35)
    assert seen["max_new_tokens"] == 100 and seen["no_repeat_ngram_size"] == 35
    assert record.new_tokens == 100 and record.hit_budget is True


TORCH_MISSING = importlib.util.find_spec("torch") is None


@pytest.mark.skipif(TORCH_MISSING, reason="torch is not installed in this venv: it is in scripts/deepseek/.venv-torch (npm run setup:python -- --backend torch; CI does not install it)")
def test_real_torch_tiny_module_with_the_remote_codes_casts_runs_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    class TinyRemoteLike(torch.nn.Module):
        """Makes the remote code's moves: bfloat16 images, .cuda() inputs, autocast("cuda")."""

        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 2)
            self.head = torch.nn.Linear(4, 3)

        def generate(self, input_ids: Any, images: Any = None, max_new_tokens: int = 8192, **_: Any) -> Any:
            features = self.conv(images).mean(dim=(2, 3))
            token = int(self.head(features).argmax())
            return torch.cat([input_ids, torch.full((1, min(max_new_tokens, 5)), token)], dim=1)

        def infer(self, tokenizer: Any, image_file: str = "", **_: Any) -> str:
            with Image.open(image_file) as image:
                pixels = torch.tensor(list(image.convert("RGB").getdata()), dtype=torch.float32)
                tensor = pixels.reshape(image.height, image.width, 3).permute(2, 0, 1)[None].to(torch.bfloat16)
            input_ids = torch.zeros((1, 3), dtype=torch.long)
            with torch.autocast("cuda", dtype=torch.bfloat16), torch.no_grad():
                out = self.generate(input_ids.cuda(), images=tensor.cuda(), max_new_tokens=8192)
            return "<|ref|>ok<|/ref|><|det|>[[0, 0, 999, 999]]<|/det|>" if out.shape[1] > 3 else ""

    tiny = TinyRemoteLike()

    class AutoModel:
        @staticmethod
        def from_pretrained(name: str, **kwargs: Any) -> Any:
            return tiny

    class AutoTokenizer:
        @staticmethod
        def from_pretrained(name: str, **kwargs: Any) -> Any:
            # Outside the head's 3 classes: with eos 1, a random head that picked token 1 ended "on eos",
            # not truncated (1 run in 3 failed once torch was installed).
            return types.SimpleNamespace(eos_token_id=99)

    transformers = types.ModuleType("transformers")
    transformers.AutoModel = AutoModel  # type: ignore[attr-defined]
    transformers.AutoTokenizer = AutoTokenizer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "transformers", transformers)
    backend = DeepSeekBackend(device="cpu", max_tokens=4)
    backend.load()
    assert tiny.conv.weight.dtype == torch.bfloat16
    out = backend.recognize(Image.new("RGB", (8, 8), "white"), "tiny", "ocr")
    assert out.text == "ok" and out.output_tokens == 4 and out.truncated is True
