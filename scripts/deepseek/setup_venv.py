"""Create the service's virtual environment and install its requirements.

    python3 scripts/deepseek/setup_venv.py --venv scripts/deepseek/.venv [--with-model] [--download-weights]

Prints one progress line per event on stdout, for the app to show:

    STAGE name=<venv|pip-base|pip-model|weights|verify> status=<running|done|failed> progress=<0..1> message="..."

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
BASE_IMPORTS = "import fastapi, uvicorn, multipart, PIL, numpy, httpx, pytest, cv2; from rapidocr_onnxruntime import RapidOCR; RapidOCR()"
MODEL_IMPORTS = "import torch, torchvision, transformers, tokenizers, einops, easydict, addict, huggingface_hub"
DEFAULT_MODEL = "deepseek-ai/DeepSeek-OCR"


class StageFailed(Exception):
    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage


def stage(name: str, status: str, progress: float, message: str) -> None:
    quoted = message.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    print(f'STAGE name={name} status={status} progress={progress:.2f} message="{quoted}"', flush=True)


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
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
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


def verify(python: Path, venv: Path, with_model: bool) -> None:
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
            marker_path(venv, HERE / "requirements-deepseek.txt").unlink(missing_ok=True)
            raise StageFailed("verify", f"model imports failed: {error}")
    stage("verify", "done", 1, "all imports work")


def download_weights(python: Path, model: str) -> None:
    stage("weights", "running", 0, f"downloading {model} into the Hugging Face cache")
    code, tail = run_streaming(
        [str(python), "-c", f"from huggingface_hub import snapshot_download; print(snapshot_download({model!r}))"]
    )
    if code != 0:
        raise StageFailed("weights", f"download of {model} failed: {' | '.join(tail[-2:])}")
    stage("weights", "done", 1, f"{model} is in the cache")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", required=True, type=Path)
    parser.add_argument("--with-model", action="store_true", help="also install torch/transformers for the deepseek backend")
    parser.add_argument("--download-weights", action="store_true", help="also download the DeepSeek-OCR weights (implies --with-model)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    with_model = args.with_model or args.download_weights
    current = "venv"
    try:
        if sys.version_info < MIN_PYTHON:
            raise StageFailed("venv", f"Python {'.'.join(map(str, MIN_PYTHON))}+ is needed, this is {sys.version.split()[0]}")
        venv = args.venv.resolve()
        python = ensure_venv(venv)
        current = "pip-base"
        pip_install("pip-base", python, venv, HERE / "requirements-base.txt")
        if with_model:
            current = "pip-model"
            pip_install("pip-model", python, venv, HERE / "requirements-deepseek.txt")
        current = "verify"
        verify(python, venv, with_model)
        if args.download_weights:
            current = "weights"
            download_weights(python, args.model)
    except StageFailed as failure:
        stage(failure.stage, "failed", 0, str(failure))
        return 1
    except Exception as error:  # noqa: BLE001 - report any surprise as a failed stage
        stage(current, "failed", 0, f"{type(error).__name__}: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
