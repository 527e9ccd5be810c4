// `npm test`: the whole suite — TypeScript (unit, renderer, end-to-end in Chromium) and
// the Python service — ending with one summary line: "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { ensurePythonVenv, runClientPytest, runPytest } from './test-python.mjs';

const ARTIFACTS = 'test-artifacts';
mkdirSync(ARTIFACTS, { recursive: true });
const started = Date.now();

// 1. The Python venv first: the TypeScript tests of the DeepSeek engine and the supervisor start the real service.
let venvError = null;
try {
  ensurePythonVenv();
} catch (error) {
  venvError = error;
  console.error(`\n${error.message}: the Python tests and the tests that start the service will fail.\n`);
}

// 2. vitest: every project, JSON report for the summary.
const vitestJson = `${ARTIFACTS}/vitest.json`;
const vitest = spawnSync(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', '--project', 'unit', '--project', 'renderer', '--project', 'e2e', '--project', 'reliability', '--reporter=default', '--reporter=json', `--outputFile=${vitestJson}`],
  { stdio: 'inherit' },
);

// 3. pytest.
const pytestXml = `${ARTIFACTS}/pytest.xml`;
const pytestStatus = venvError ? 1 : runPytest(pytestXml);
// 3b. The Python client against the real API.
const clientXml = `${ARTIFACTS}/pytest-client.xml`;
const clientStatus = venvError ? 1 : runClientPytest(clientXml);

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(vitestJson)) {
  const report = JSON.parse(readFileSync(vitestJson, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  // Files that failed to load count as failures even with no test inside.
  failed += report.testResults.filter((file) => file.status === 'failed' && file.assertionResults.length === 0).length;
}
for (const xmlFile of [pytestXml, clientXml]) {
  if (!existsSync(xmlFile)) continue;
  const xml = readFileSync(xmlFile, 'utf8');
  const suite = /<testsuite [^>]*>/.exec(xml)?.[0] ?? '';
  const attr = (name) => Number(new RegExp(`${name}="(\\d+)"`).exec(suite)?.[1] ?? 0);
  const total = attr('tests');
  const bad = attr('failures') + attr('errors');
  const skip = attr('skipped');
  passed += total - bad - skip;
  failed += bad;
  skipped += skip;
}
const vitestOk = vitest.status === 0;
const pytestOk = pytestStatus === 0 && clientStatus === 0;
if (!vitestOk && failed === 0) failed = 1; // vitest failed outside any test (e.g. a type error in a test-d file)
if (!pytestOk && failed === 0) failed = 1;
console.log(`\nvitest: ${vitestOk ? 'ok' : 'FAILED'}, pytest: ${pytestOk ? 'ok' : 'FAILED'}, ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(vitestOk && pytestOk ? 0 : 1);
