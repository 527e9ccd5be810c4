/**
 * The reliability suite starts the real DeepSeek service: on a fresh clone its venv is made
 * first, as `npm test` does, so `npm run test:reliability` works in README order.
 */
import { existsSync } from 'node:fs';
import { ensurePythonVenv, VENV_PYTHON } from '../../scripts/test-python.mjs';

export default function setup(): void {
  if (existsSync(VENV_PYTHON)) return;
  console.log(`reliability: ${VENV_PYTHON} is missing: making the DeepSeek service's venv (npm run setup:python), once`);
  try {
    ensurePythonVenv();
  } catch (error) {
    console.error(`reliability: the venv could not be made (${error instanceof Error ? error.message : String(error)}): run \`npm run setup:python\` first`);
  }
}
