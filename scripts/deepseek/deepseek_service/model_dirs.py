"""Where DeepSeek-OCR weights live, and which DeepSeek backend this machine should run.

The app's models folder is `<dataDir>/models` (dataDir as in electron/core/paths.ts:
`$PARALLEL_VISION_DATA_DIR`, else the OS's per-user application-data folder). Inside it:

    deepseek-ocr-mlx-8bit/   mlx-community/DeepSeek-OCR-8bit   (mlx backend, the default)
    deepseek-ocr-mlx-bf16/   mlx-community/DeepSeek-OCR-bf16   (mlx backend)
    deepseek-ocr/            deepseek-ai/DeepSeek-OCR          (torch backend)

The TypeScript side detects the same folder names to show which route is available.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
from pathlib import Path

MLX_VARIANTS: dict[str, tuple[str, str]] = {
    # variant: (hub repository, folder name in the models folder)
    "8bit": ("mlx-community/DeepSeek-OCR-8bit", "deepseek-ocr-mlx-8bit"),
    "bf16": ("mlx-community/DeepSeek-OCR-bf16", "deepseek-ocr-mlx-bf16"),
}
TORCH_REPO = "deepseek-ai/DeepSeek-OCR"
TORCH_DIR_NAME = "deepseek-ocr"


def default_data_dir(env: dict[str, str] | None = None, system: str | None = None, home: Path | None = None) -> Path:
    """The app's data folder, computed as electron/core/paths.ts does."""
    env = dict(os.environ) if env is None else env
    system = system or sys.platform
    home = home or Path.home()
    override = env.get("PARALLEL_VISION_DATA_DIR", "").strip()
    if override:
        return Path(override)
    if system == "darwin":
        return home / "Library" / "Application Support" / "Parallel Vision"
    if system == "win32":
        return Path(env.get("APPDATA", "").strip() or home / "AppData" / "Roaming") / "Parallel Vision"
    xdg = env.get("XDG_DATA_HOME", "").strip()
    return Path(xdg or home / ".local" / "share") / "parallel-vision"


def models_dir(explicit: str | None = None) -> Path:
    """`--models-dir`, else `$PV_MODELS_DIR`, else `<dataDir>/models`."""
    chosen = explicit or os.environ.get("PV_MODELS_DIR", "").strip()
    return Path(chosen) if chosen else default_data_dir() / "models"


def is_mlx_model_dir(folder: Path) -> bool:
    """A complete MLX model folder: its config and at least one safetensors file (no partial downloads)."""
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors")) and not any(folder.glob("*.part"))


def find_mlx_model(base: Path) -> Path | None:
    for _repo, name in MLX_VARIANTS.values():
        if is_mlx_model_dir(base / name):
            return base / name
    return None


def find_torch_model(base: Path) -> Path | None:
    folder = base / TORCH_DIR_NAME
    return folder if (folder / "config.json").is_file() else None


def is_apple_silicon() -> bool:
    return sys.platform == "darwin" and platform.machine() == "arm64"


def mlx_importable() -> bool:
    return importlib.util.find_spec("mlx") is not None and importlib.util.find_spec("mlx_vlm") is not None


def pick_deepseek_backend(model_path: str | None = None, explicit_models_dir: str | None = None) -> tuple[str, str | None]:
    """(backend, model folder or None) for `--backend deepseek`.

    MLX on Apple Silicon when mlx-vlm is installed and MLX weights are present (or `--model`
    is an MLX folder); otherwise torch, with its folder when present (else the HF cache id).
    """
    if model_path:
        folder = Path(model_path)
        if is_mlx_model_dir(folder) and _is_mlx_folder(folder) and mlx_importable():
            return "mlx", model_path
        return "torch", model_path
    base = models_dir(explicit_models_dir)
    if (is_apple_silicon() or os.environ.get("PV_PREFER_MLX") == "1") and mlx_importable():
        mlx = find_mlx_model(base)
        if mlx is not None:
            return "mlx", str(mlx)
    torch_folder = find_torch_model(base)
    return "torch", str(torch_folder) if torch_folder else None


def _is_mlx_folder(folder: Path) -> bool:
    # mlx-community conversions carry no remote code; the torch checkpoint does.
    return not (folder / "modeling_deepseekocr.py").is_file()
