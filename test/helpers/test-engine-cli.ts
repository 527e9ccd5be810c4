/** How tests start the CLI as a child process with the test engine injected (test/fixtures/cli-with-test-engine.ts). */
import { fileURLToPath } from 'node:url';
import type { TestEngineSettingsInput } from '../../electron/core/engines/test-engine.js';

const TEST_ENGINE_CLI = fileURLToPath(new URL('../fixtures/cli-with-test-engine.ts', import.meta.url));

/** Node arguments (after `--import tsx`) for `parallel-vision <args>` with the test engine. */
export function testEngineCliArgs(settings: TestEngineSettingsInput, args: readonly string[]): string[] {
  return [TEST_ENGINE_CLI, '--test-engine', JSON.stringify(settings), ...args];
}
