/**
 * Writes the bad-input corpus (test/fixtures/bad-inputs/corpus.ts) to a folder, for trying
 * the app by hand: lists/ holds the malformed lists, images/ the served image bodies,
 * urls.txt the dangerous URLs, cases.json what each case must give.
 *
 *   npx tsx scripts/make-bad-inputs.ts --out /tmp/bad-inputs
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { imageCases, listCases, urlCases } from '../test/fixtures/bad-inputs/corpus.js';

const { values } = parseArgs({ options: { out: { type: 'string' } } });
if (!values.out) {
  console.error('usage: tsx scripts/make-bad-inputs.ts --out DIR');
  process.exit(2);
}
const out = resolve(values.out);
mkdirSync(join(out, 'lists'), { recursive: true });
mkdirSync(join(out, 'images'), { recursive: true });

const summary: Record<string, unknown>[] = [];
for (const testCase of listCases()) {
  const file = join('lists', `${testCase.name}-${testCase.filename}`);
  writeFileSync(join(out, file), testCase.bytes);
  summary.push({ kind: 'list', name: testCase.name, file, expect: { ...testCase.expect, reason: testCase.expect.reason?.source }, knownBug: testCase.knownBug });
}
writeFileSync(join(out, 'urls.txt'), `${urlCases().map((testCase) => testCase.url).join('\n')}\n`);
for (const testCase of urlCases()) summary.push({ kind: 'url', name: testCase.name, url: testCase.url, rejectedWith: testCase.rejectedWith?.source ?? null, knownBug: testCase.knownBug });
for (const testCase of await imageCases()) {
  const route = testCase.routes[testCase.name];
  let file: string | undefined;
  if (route && (route.type === 'bytes' || route.type === 'raw' || route.type === 'trickle' || route.type === 'stall-mid-body' || route.type === 'reset-mid-body')) {
    file = join('images', `${testCase.name}.bin`);
    writeFileSync(join(out, file), route.body);
  }
  const expect = testCase.expect.ok ? testCase.expect : { ...testCase.expect, error: testCase.expect.error.source };
  summary.push({ kind: 'image', name: testCase.name, behaviour: route?.type, file, expect, knownBug: testCase.knownBug });
}
writeFileSync(join(out, 'cases.json'), `${JSON.stringify(summary, null, 2)}\n`);
console.log(`wrote ${summary.length} cases to ${out}`);
