// Runs the DeepSeek service's pytest suite in its venv (made by setup_venv.py if missing).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export const VENV = path.resolve('scripts/deepseek/.venv');
export const VENV_PYTHON = path.join(VENV, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');

export function ensurePythonVenv() {
  const setup = spawnSync('python3', ['scripts/deepseek/setup_venv.py', '--venv', VENV], { stdio: 'inherit' });
  if (setup.status !== 0) throw new Error(`setting up the Python venv failed (exit ${setup.status})`);
}

export function runPytest(junitFile) {
  mkdirSync(path.dirname(junitFile), { recursive: true });
  const result = spawnSync(VENV_PYTHON, ['-m', 'pytest', 'scripts/deepseek/tests', '-q', `--junitxml=${junitFile}`], { stdio: 'inherit' });
  // pytest exits 5 when it collected nothing: that is a failure here, not a pass.
  return result.status ?? 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (!existsSync(VENV_PYTHON)) ensurePythonVenv();
  process.exit(runPytest('test-artifacts/pytest.xml'));
}
