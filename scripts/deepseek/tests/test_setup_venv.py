import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import setup_venv  # noqa: E402


def test_stage_line_is_machine_readable(capsys: pytest.CaptureFixture[str]) -> None:
    setup_venv.stage("pip-base", "running", 0.25, 'got "numpy" 2.0')
    assert capsys.readouterr().out == 'STAGE name=pip-base status=running progress=0.25 message="got \\"numpy\\" 2.0"\n'


def test_requirement_names_ignore_comments_pins_and_extras(tmp_path: Path) -> None:
    requirements = tmp_path / "r.txt"
    requirements.write_text("# comment\nfastapi>=0.115,<1\n\nuvicorn[standard]==0.30  # inline\nRapidOCR_onnxruntime==1.4.4\n")
    assert setup_venv.requirement_names(requirements) == ["fastapi", "uvicorn", "rapidocr-onnxruntime"]


def test_install_is_skipped_when_the_stored_hash_matches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    requirements = tmp_path / "requirements-x.txt"
    requirements.write_text("definitely-not-a-real-package-pv==9.9\n")
    python = tmp_path / "bin" / "python"
    setup_venv.marker_path(tmp_path, requirements).write_text(setup_venv.fingerprint(requirements, python))
    setup_venv.pip_install("pip-base", python, tmp_path, requirements)  # would fail if it ran pip
    assert "already installed" in capsys.readouterr().out
    requirements.write_text("definitely-not-a-real-package-pv==9.8\n")
    assert setup_venv.fingerprint(requirements, python) != setup_venv.marker_path(tmp_path, requirements).read_text()


def test_existing_venv_is_reused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    assert setup_venv.ensure_venv(venv) == venv / "bin" / "python"
    assert "using existing venv" in capsys.readouterr().out


def test_each_backend_has_its_own_venv_beside_the_base_one(tmp_path: Path) -> None:
    base = tmp_path / ".venv"
    assert [setup_venv.backend_venv(base, name) for name in setup_venv.BACKENDS] == [base, tmp_path / ".venv-mlx", tmp_path / ".venv-torch"]
    # mlx's Metal build is for Apple Silicon; elsewhere the CPU build the tests use.
    assert setup_venv.mlx_needs_cpu_build("darwin", "arm64") is False
    assert setup_venv.mlx_needs_cpu_build("linux", "x86_64") is True
    assert setup_venv.mlx_needs_cpu_build("darwin", "x86_64") is True


def test_backend_torch_and_mlx_together_are_refused_before_any_venv_is_made(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert setup_venv.main(["--venv", str(tmp_path / ".venv"), "--backend", "torch", "--with-mlx"]) == 1
    assert "two venvs" in capsys.readouterr().out
    assert not (tmp_path / ".venv-torch").exists()
