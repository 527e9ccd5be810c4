from pathlib import Path

import pytest

from deepseek_service import model_dirs
from deepseek_service.backends import make_backend
from deepseek_service.mlx_backend import MlxBackend
from deepseek_service.torch_backend import TorchBackend


def mlx_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text("{}")
    (path / "model.safetensors").write_bytes(b"")
    return path


def test_data_dir_follows_the_apps_rules(tmp_path: Path) -> None:
    assert model_dirs.default_data_dir({"PARALLEL_VISION_DATA_DIR": str(tmp_path)}, "darwin") == tmp_path
    home = Path("/Users/u")
    assert model_dirs.default_data_dir({}, "darwin", home) == home / "Library/Application Support/Parallel Vision"
    assert model_dirs.default_data_dir({}, "linux", Path("/home/u")) == Path("/home/u/.local/share/parallel-vision")


def test_a_partial_download_is_not_a_model(tmp_path: Path) -> None:
    folder = mlx_folder(tmp_path / "deepseek-ocr-mlx-8bit")
    assert model_dirs.find_mlx_model(tmp_path) == folder
    (folder / "model-00002.safetensors.part").write_bytes(b"x")
    assert model_dirs.find_mlx_model(tmp_path) is None


def test_deepseek_picks_mlx_on_apple_silicon_with_weights_else_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_dirs, "mlx_importable", lambda: True)
    monkeypatch.setattr(model_dirs, "is_apple_silicon", lambda: True)
    assert model_dirs.pick_deepseek_backend(None, str(tmp_path)) == ("torch", None)
    torch_dir = tmp_path / "deepseek-ocr"
    torch_dir.mkdir()
    (torch_dir / "config.json").write_text("{}")
    assert model_dirs.pick_deepseek_backend(None, str(tmp_path)) == ("torch", str(torch_dir))
    bf16 = mlx_folder(tmp_path / "deepseek-ocr-mlx-bf16")
    assert model_dirs.pick_deepseek_backend(None, str(tmp_path)) == ("mlx", str(bf16))
    monkeypatch.setattr(model_dirs, "is_apple_silicon", lambda: False)
    assert model_dirs.pick_deepseek_backend(None, str(tmp_path))[0] == "torch"


def test_make_backend_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_dirs, "is_apple_silicon", lambda: False)
    assert isinstance(make_backend("torch"), TorchBackend)
    assert isinstance(make_backend("mlx", models_dir=str(tmp_path)), MlxBackend)
    assert isinstance(make_backend("deepseek", models_dir=str(tmp_path)), TorchBackend)
    with pytest.raises(ValueError, match="unknown backend"):
        make_backend("tpu")


def test_mlx_backend_without_weights_names_the_setup_command(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="--download-mlx"):
        MlxBackend(models_dir=str(tmp_path)).resolve_model()
