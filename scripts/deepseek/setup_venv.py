"""Create the service's virtual environment and install its requirements.

    python3 scripts/deepseek/setup_venv.py --venv VENV [--with-model] [--download-weights]      # torch backend
    python3 scripts/deepseek/setup_venv.py --venv VENV --with-mlx [--download-mlx 8bit|bf16]    # mlx backend (Apple Silicon)
    python3 scripts/deepseek/setup_venv.py --venv VENV --mlx-ci                                 # mlx backend's tests on Linux
    python3 scripts/deepseek/setup_venv.py --venv VENV --backend rapidocr|mlx|torch             # that backend's own venv: VENV, VENV-mlx, VENV-torch

Prints one progress line per event on stdout, for the app to show:

    STAGE name=<venv|pip-base|pip-model|pip-mlx|weights|verify> status=<running|done|failed> progress=<0..1> message="..."

pip's own output goes to stderr. Idempotent: a requirements file whose hash matches the
one stored in the venv after its last successful install is not installed again.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MIN_PYTHON = (3, 10)
BASE_IMPORTS = (
    "import fastapi, uvicorn, multipart, PIL, numpy, httpx, pytest, cv2, sys; sys.path.insert(0, sys.argv[1]); "
    "from deepseek_service.rapidocr_backend import RapidOcrBackend; RapidOcrBackend().load()"
)
MODEL_IMPORTS = "import torch, torchvision, transformers, tokenizers, einops, easydict, addict, huggingface_hub"
MLX_IMPORTS = "import mlx.core, mlx_vlm; from mlx_vlm.models import deepseekocr"
DEFAULT_MODEL = "deepseek-ai/DeepSeek-OCR"
MLX_REPOS = {"8bit": ("mlx-community/DeepSeek-OCR-8bit", "deepseek-ocr-mlx-8bit"), "bf16": ("mlx-community/DeepSeek-OCR-bf16", "deepseek-ocr-mlx-bf16")}


class StageFailed(Exception):
    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage


def stage(name: str, status: str, progress: float, message: str) -> None:
    quoted = message.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    print(f'STAGE name={name} status={status} progress={progress:.2f} message="{quoted}"', flush=True)


BACKENDS = ("rapidocr", "mlx", "torch")


def backend_venv(base: Path, backend: str) -> Path:
    """Each backend has its own venv (torch's remote code and mlx-vlm need different transformers):
    <base> for rapidocr, <base>-mlx, <base>-torch. The app's supervisor looks in the same places."""
    return base if backend == "rapidocr" else base.with_name(f"{base.name}-{backend}")


def mlx_needs_cpu_build(platform: str = sys.platform, machine: str | None = None) -> bool:
    """mlx's Metal build exists for Apple Silicon only: elsewhere mlx[cpu] and mlx-vlm without its extras (--mlx-ci)."""
    import platform as platform_module

    return not (platform == "darwin" and (machine or platform_module.machine()) == "arm64")


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requirement_names(requirements: Path) -> list[str]:
    names = []
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def fingerprint(requirements: Path, python: Path) -> str:
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(str(python).encode())
    return digest.hexdigest()


def marker_path(venv: Path, requirements: Path) -> Path:
    return venv / f".pv-{requirements.stem}.sha256"


def run_streaming(command: list[str], on_line=None) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    """Run a command, copy its output to stderr, hand each line to on_line, keep the tail."""
    tail: list[str] = []
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    assert process.stdout is not None
    for line in process.stdout:
        sys.stderr.write(line)
        tail = (tail + [line.rstrip()])[-20:]
        if on_line is not None:
            on_line(line)
    return process.wait(), tail


def ensure_venv(venv: Path) -> Path:
    python = venv_python(venv)
    if python.exists() and subprocess.run([str(python), "-c", "import sys"], capture_output=True).returncode == 0:
        stage("venv", "done", 1, f"using existing venv {venv}")
        return python
    stage("venv", "running", 0, f"creating venv {venv} with Python {sys.version.split()[0]}")
    result = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
    if result.returncode != 0:
        hint = " (on Debian/Ubuntu: apt-get install python3-venv)" if "ensurepip" in result.stderr else ""
        raise StageFailed("venv", f"python -m venv failed: {result.stderr.strip()[-300:]}{hint}")
    stage("venv", "done", 1, f"created {venv}")
    return python


def pip_install(name: str, python: Path, venv: Path, requirements: Path) -> None:
    marker = marker_path(venv, requirements)
    expected = fingerprint(requirements, python)
    if marker.exists() and marker.read_text().strip() == expected:
        stage(name, "done", 1, f"{requirements.name} already installed")
        return
    names = requirement_names(requirements)
    seen: set[str] = set()
    last_report = [0.0]
    stage(name, "running", 0, f"installing {requirements.name} ({len(names)} packages)")

    def on_line(line: str) -> None:
        match = re.match(r"(?:Collecting|Requirement already satisfied:)\s+([A-Za-z0-9_.\-]+)", line.strip())
        if not match:
            return
        package = match.group(1).lower().replace("_", "-")
        if package in names and package not in seen:
            seen.add(package)
            now = time.monotonic()
            if now - last_report[0] > 0.5:
                last_report[0] = now
                # Resolving is ~the first 60%; downloads and installs of dependencies the rest.
                stage(name, "running", 0.6 * len(seen) / len(names), f"resolving {package}")

    code, tail = run_streaming(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-r", str(requirements)], on_line
    )
    if code != 0:
        marker.unlink(missing_ok=True)
        raise StageFailed(name, f"pip install -r {requirements.name} failed: {' | '.join(tail[-3:])}")
    marker.write_text(expected)
    stage(name, "done", 1, f"installed {requirements.name}")


def import_check(python: Path, code: str) -> tuple[bool, str]:
    result = subprocess.run([str(python), "-c", code, str(HERE)], capture_output=True, text=True)
    return result.returncode == 0, (result.stderr.strip().splitlines() or [""])[-1]


def swap_to_headless_opencv(python: Path) -> None:
    """opencv-python (pulled in by rapidocr) needs libGL; the headless build has the same cv2 without it."""
    version = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('opencv-python'))"], capture_output=True, text=True
    ).stdout.strip()
    pin = f"opencv-python-headless=={version}" if version else "opencv-python-headless"
    for command in (["uninstall", "-y", "opencv-python"], ["install", "--disable-pip-version-check", pin]):
        code, tail = run_streaming([str(python), "-m", "pip", *command])
        if code != 0:
            raise StageFailed("verify", f"switching to {pin} failed: {' | '.join(tail[-3:])}")


def pinned(requirements: Path, name: str) -> str:
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower() == name:
            return line
    raise StageFailed("pip-mlx", f"{requirements.name} does not name {name}")


def install_mlx_for_ci(python: Path, venv: Path) -> None:
    """mlx[cpu] and the dependencies the deepseekocr model uses, then mlx-vlm without its long dependency list."""
    pip_install("pip-mlx", python, venv, HERE / "requirements-mlx-ci.txt")
    spec = pinned(HERE / "requirements-mlx.txt", "mlx-vlm")
    marker = venv / ".pv-mlx-vlm-nodeps"
    if marker.exists() and marker.read_text().strip() == spec:
        return
    stage("pip-mlx", "running", 0.8, f"installing {spec} without its dependencies")
    code, tail = run_streaming([str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--no-deps", spec])
    if code != 0:
        raise StageFailed("pip-mlx", f"pip install --no-deps {spec} failed: {' | '.join(tail[-3:])}")
    marker.write_text(spec)
    stage("pip-mlx", "done", 1, f"installed {spec}")


def download_mlx_weights(variant: str, models_dir: Path) -> Path:
    sys.path.insert(0, str(HERE))
    from model_download import DownloadError, download_repo

    repo, name = MLX_REPOS[variant]
    dest = models_dir / name
    if dest.exists():
        stage("weights", "done", 1, f"{repo} is already in {dest}")
        return dest
    stage("weights", "running", 0, f"downloading {repo} into {dest}")

    def progress(done: int, total: int, current: str) -> None:
        fraction = done / total if total else 0
        where = f" ({current})" if current else ""
        stage("weights", "running", min(fraction, 0.99), f"downloading {repo}: {done / 1e9:.2f} of {total / 1e9:.2f} GB{where}")

    try:
        download_repo(repo, dest, on_progress=progress)
    except DownloadError as error:
        raise StageFailed("weights", str(error)) from error
    stage("weights", "done", 1, f"{repo} is in {dest}")
    return dest


def default_models_dir() -> Path:
    sys.path.insert(0, str(HERE))
    from deepseek_service.model_dirs import models_dir

    return models_dir()


def verify(python: Path, venv: Path, with_model: bool, with_mlx: bool = False) -> None:
    stage("verify", "running", 0, "importing the service's packages")
    ok, error = import_check(python, BASE_IMPORTS)
    if not ok and "libGL" in error:
        stage("verify", "running", 0.3, "cv2 needs libGL here: switching to opencv-python-headless")
        swap_to_headless_opencv(python)
        ok, error = import_check(python, BASE_IMPORTS)
    if not ok:
        marker_path(venv, HERE / "requirements-base.txt").unlink(missing_ok=True)
        raise StageFailed("verify", f"base imports failed: {error}")
    if with_model:
        stage("verify", "running", 0.6, "importing torch and transformers")
        ok, error = import_check(python, MODEL_IMPORTS)
        if not ok:
            marker_path(venv, HERE / "requirements-torch.txt").unlink(missing_ok=True)
            raise StageFailed("verify", f"model imports failed: {error}")
    if with_mlx:
        stage("verify", "running", 0.8, "importing mlx and mlx-vlm")
        ok, error = import_check(python, MLX_IMPORTS)
        if not ok:
            for requirements in ("requirements-mlx.txt", "requirements-mlx-ci.txt"):
                marker_path(venv, HERE / requirements).unlink(missing_ok=True)
            (venv / ".pv-mlx-vlm-nodeps").unlink(missing_ok=True)
            raise StageFailed("verify", f"mlx imports failed: {error}")
    stage("verify", "done", 1, "all imports work")


def download_weights(python: Path, model: str, models_dir: Path) -> None:
    """The torch checkpoint into <models>/deepseek-ocr (where the app and the service look)."""
    dest = models_dir / "deepseek-ocr" if model == DEFAULT_MODEL else None
    stage("weights", "running", 0, f"downloading {model} into {dest or 'the Hugging Face cache'}")
    target = f", local_dir={str(dest)!r}" if dest else ""
    code, tail = run_streaming(
        [str(python), "-c", f"from huggingface_hub import snapshot_download; print(snapshot_download({model!r}{target}))"]
    )
    if code != 0:
        raise StageFailed("weights", f"download of {model} failed: {' | '.join(tail[-2:])}")
    stage("weights", "done", 1, f"{model} is in {dest or 'the cache'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", required=True, type=Path)
    parser.add_argument("--with-model", action="store_true", help="also install torch/transformers for the deepseek backend")
    parser.add_argument("--download-weights", action="store_true", help="also download the DeepSeek-OCR weights (implies --with-model)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--with-mlx", action="store_true", help="also install mlx-vlm for the mlx backend (Apple Silicon)")
    parser.add_argument("--mlx-ci", action="store_true", help="mlx[cpu] and mlx-vlm without its extras, for the mlx tests on Linux")
    parser.add_argument("--download-mlx", choices=sorted(MLX_REPOS), help="also download the MLX weights (implies --with-mlx)")
    parser.add_argument("--models-dir", type=Path, default=None, help="the app's models folder (default: <dataDir>/models)")
    parser.add_argument("--backend", choices=BACKENDS, default=None,
                        help="set up this backend's own venv beside --venv (VENV, VENV-mlx, VENV-torch) with what it needs")
    args = parser.parse_args(argv)
    if args.backend is not None:
        args.venv = backend_venv(args.venv, args.backend)
        if args.backend == "torch":
            args.with_model = True
        elif args.backend == "mlx":
            if mlx_needs_cpu_build():
                args.mlx_ci = True
            else:
                args.with_mlx = True
    with_model = args.with_model or args.download_weights
    with_mlx = args.with_mlx or args.mlx_ci or bool(args.download_mlx)
    current = "venv"
    try:
        if with_model and with_mlx:
            raise StageFailed(
                "venv",
                "the torch and mlx backends need different transformers versions (4.46.3 vs 5.x): "
                "set them up in two venvs (one with --with-model, one with --with-mlx)",
            )
        if sys.version_info < MIN_PYTHON:
            raise StageFailed("venv", f"Python {'.'.join(map(str, MIN_PYTHON))}+ is needed, this is {sys.version.split()[0]}")
        venv = args.venv.resolve()
        python = ensure_venv(venv)
        current = "pip-base"
        pip_install("pip-base", python, venv, HERE / "requirements-base.txt")
        if with_model:
            current = "pip-model"
            pip_install("pip-model", python, venv, HERE / "requirements-torch.txt")
        if with_mlx:
            current = "pip-mlx"
            if args.mlx_ci:
                install_mlx_for_ci(python, venv)
            else:
                pip_install("pip-mlx", python, venv, HERE / "requirements-mlx.txt")
        current = "verify"
        verify(python, venv, with_model, with_mlx)
        if args.download_weights:
            current = "weights"
            download_weights(python, args.model, args.models_dir or default_models_dir())
        if args.download_mlx:
            current = "weights"
            download_mlx_weights(args.download_mlx, args.models_dir or default_models_dir())
    except StageFailed as failure:
        stage(failure.stage, "failed", 0, str(failure))
        return 1
    except Exception as error:  # noqa: BLE001 - report any surprise as a failed stage
        stage(current, "failed", 0, f"{type(error).__name__}: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
