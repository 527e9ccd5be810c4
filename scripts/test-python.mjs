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

/** The Python client's tests (clients/python) in the same venv (it has httpx and pytest); they start the API with this Node. */
export function runClientPytest(junitFile) {
  mkdirSync(path.dirname(junitFile), { recursive: true });
  const env = { ...process.env, PARALLEL_VISION_NODE: process.execPath };
  const result = spawnSync(VENV_PYTHON, ['-m', 'pytest', 'clients/python', '-q', `--junitxml=${junitFile}`], { stdio: 'inherit', env });
  return result.status ?? 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (!existsSync(VENV_PYTHON)) ensurePythonVenv();
  const service = runPytest('test-artifacts/pytest.xml');
  const client = runClientPytest('test-artifacts/pytest-client.xml');
  process.exit(service || client);
}
