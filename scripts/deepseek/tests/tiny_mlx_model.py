"""A tiny, randomly initialised DeepSeek-OCR built from mlx-vlm's own model classes.

Saved as an MLX model folder (config.json, model.safetensors, a small byte-level BPE
tokenizer with DeepSeek-OCR's special tokens, processor_config.json) that `mlx_vlm.load`
and the service's mlx backend load like the real `mlx-community/DeepSeek-OCR-*` folders.

mlx-vlm builds the SAM image encoder from `SAMViTConfig()`'s defaults (ViT-B: 768 wide,
12 layers), not from config.json, and mlx's CPU matmul here runs at well under
1 GFLOP/s: one 512 px image took 550 s. `small_sam()` shrinks that encoder's width, depth
and heads (its output grid and channels stay those of the real model, so the processor's
image-token counts still match); everything else is the real code path.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Iterator

SPECIAL_TOKENS = [
    "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>", "<image>",
    "<|ref|>", "<|/ref|>", "<|det|>", "<|/det|>", "<|grounding|>", "<|User|>", "<|Assistant|>",
]
# Whole-string tokens, so the looping model can write a grounding line in a few distinct tokens.
LOOP_WORDS = ["SALE", "[[100, 200, 300, 400]]"]
LOOP_LINE = ["<|ref|>", "SALE", "<|/ref|>", "<|det|>", "[[100, 200, 300, 400]]", "<|/det|>", "\n"]


@contextlib.contextmanager
def small_sam() -> Iterator[None]:
    from mlx_vlm.models.deepseekocr import config as config_module
    from mlx_vlm.models.deepseekocr import deepseekocr as model_module

    real = model_module.SAMViTConfig

    def small() -> object:
        return config_module.SAMViTConfig(width=32, layers=1, heads=1, global_attn_indexes=())

    model_module.SAMViTConfig = small
    try:
        yield
    finally:
        model_module.SAMViTConfig = real


def _write_tokenizer(folder: Path) -> int:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tokenizer.train_from_iterator(["OCR this image. Free OCR. Describe this image in detail. 50% OFF"] * 4, trainer)
    tokenizer.add_tokens(LOOP_WORDS)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=SPECIAL_TOKENS[0], eos_token=SPECIAL_TOKENS[1], pad_token=SPECIAL_TOKENS[2])
    fast.save_pretrained(folder)
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "LlamaTokenizerFast"  # what DeepseekOCRProcessor loads
    config_path.write_text(json.dumps(config), encoding="utf-8")
    return len(fast)


def model_config(vocab_size: int) -> dict[str, object]:
    return {
        "model_type": "deepseekocr",
        "architectures": ["DeepseekOCRForCausalLM"],
        "bos_token_id": 0,
        "eos_token_id": 1,
        "tile_tag": "2D",
        "global_view_pos": "head",
        "text_config": {
            # DeepSeek-V2 MoE with plain multi-head attention (qk_nope_head_dim 0), as DeepSeek-OCR's 3B decoder.
            "model_type": "deepseek_v2", "vocab_size": vocab_size, "hidden_size": 64, "intermediate_size": 128,
            "moe_intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
            "n_shared_experts": 1, "n_routed_experts": 4, "num_experts_per_tok": 2, "first_k_dense_replace": 1,
            "kv_lora_rank": None, "q_lora_rank": None, "qk_rope_head_dim": 0, "qk_nope_head_dim": 0, "v_head_dim": 16,
            "topk_method": "greedy", "max_position_embeddings": 8192, "bos_token_id": 0, "eos_token_id": 1,
        },
        # CLIP-L's width (the SAM neck hands it 1024 channels), one layer.
        "vision_config": {
            "model_type": "vision", "layers": 1, "width": 1024, "hidden_size": 1024, "intermediate_size": 64,
            "num_attention_heads": 16, "image_size": 224, "patch_size": 14, "layer_norm_eps": 1e-5,
        },
        "projector_config": {"projector_type": "linear", "input_dim": 2048, "n_embed": 64},
    }


PROCESSOR_CONFIG = {
    "processor_class": "DeepseekOCRProcessor", "candidate_resolutions": [[1024, 1024]], "patch_size": 16,
    "downsample_ratio": 4, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "normalize": True,
    "image_token": "<image>", "pad_token": "<｜▁pad▁｜>", "add_special_token": False, "sft_format": "deepseek",
    "mask_prompt": False, "ignore_id": -100,
}


def build_tiny_model(folder: Path, looping: bool = False, seed: int = 0) -> Path:
    """Write the folder; with looping=True the decoder writes LOOP_LINE over and over."""
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_vlm.models.deepseekocr import Model, ModelConfig

    folder.mkdir(parents=True, exist_ok=True)
    vocab_size = _write_tokenizer(folder)
    config = model_config(vocab_size)
    (folder / "config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    (folder / "processor_config.json").write_text(json.dumps(PROCESSOR_CONFIG), encoding="utf-8")
    mx.random.seed(seed)
    model = Model(ModelConfig.from_dict(json.loads(json.dumps(config))))
    weights = dict(tree_flatten(model.parameters()))
    if looping:
        weights = _looping_weights(weights, folder, config)
    mx.save_safetensors(str(folder / "model.safetensors"), weights, metadata={"format": "mlx"})
    return folder


def _looping_weights(weights: dict, folder: Path, config: dict) -> dict:  # type: ignore[type-arg]
    """Zero every block's output so the last hidden state is the last token's embedding, then
    wire embedding and lm_head so token LOOP_LINE[i] is followed by LOOP_LINE[i + 1]."""
    import mlx.core as mx
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
    ids = [tokenizer.convert_tokens_to_ids(t) if t != "\n" else tokenizer.encode("\n", add_special_tokens=False)[0] for t in LOOP_LINE]
    assert len(set(ids)) == len(ids), ids
    out = {}
    for key, value in weights.items():
        zero = key.endswith(("o_proj.weight", "down_proj.weight")) or ".down_proj." in key
        out[key] = mx.zeros_like(value) if zero else value
    hidden = config["text_config"]["hidden_size"]  # type: ignore[index]
    vocab = config["text_config"]["vocab_size"]  # type: ignore[index]
    embed = [[0.0] * hidden for _ in range(vocab)]
    head = [[0.0] * hidden for _ in range(vocab)]
    last = len(ids) - 1
    for token in range(vocab):
        embed[token][last] = 1.0  # anything else leads into the line's first token
    for i, token in enumerate(ids):
        embed[token] = [0.0] * hidden
        embed[token][i] = 1.0
        head[ids[(i + 1) % len(ids)]][i] = 10.0
    out["language_model.model.embed_tokens.weight"] = mx.array(embed)
    out["language_model.lm_head.weight"] = mx.array(head)
    return out
