// Runs the DeepSeek service's pytest suite in its venv (made by setup_venv.py if missing).
// The suite runs in scripts/deepseek/.venv-mlx when that can be made: the base venv plus
// mlx[cpu] and mlx-vlm (setup_venv.py --mlx-ci), so the mlx backend's end-to-end tests run
// too. The base venv (.venv, what the app and the TypeScript tests start the service from)
// stays light. PV_SKIP_MLX_TESTS=1 skips the mlx venv (those tests then skip with a reason).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export const VENV = path.resolve('scripts/deepseek/.venv');
export const MLX_VENV = path.resolve('scripts/deepseek/.venv-mlx');
const pythonIn = (venv) => path.join(venv, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
export const VENV_PYTHON = pythonIn(VENV);
export const MLX_VENV_PYTHON = pythonIn(MLX_VENV);

let mlxVenvReady = false;

export function ensurePythonVenv() {
  const setup = spawnSync('python3', ['scripts/deepseek/setup_venv.py', '--venv', VENV], { stdio: 'inherit' });
  if (setup.status !== 0) throw new Error(`setting up the Python venv failed (exit ${setup.status})`);
  ensureMlxVenv();
}

function ensureMlxVenv() {
  if (process.env.PV_SKIP_MLX_TESTS === '1' || process.platform === 'win32') return;
  const setup = spawnSync('python3', ['scripts/deepseek/setup_venv.py', '--venv', MLX_VENV, '--mlx-ci'], { stdio: 'inherit' });
  mlxVenvReady = setup.status === 0;
  if (!mlxVenvReady) console.error(`\nthe mlx test venv could not be made (exit ${setup.status}): pytest runs in the base venv and the mlx tests skip.\n`);
}

export function runPytest(junitFile) {
  mkdirSync(path.dirname(junitFile), { recursive: true });
  const python = mlxVenvReady && existsSync(MLX_VENV_PYTHON) ? MLX_VENV_PYTHON : VENV_PYTHON;
  const result = spawnSync(python, ['-m', 'pytest', 'scripts/deepseek/tests', '-q', `--junitxml=${junitFile}`], { stdio: 'inherit' });
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
  else ensureMlxVenv();
  const service = runPytest('test-artifacts/pytest.xml');
  const client = runClientPytest('test-artifacts/pytest-client.xml');
  process.exit(service || client);
}
