import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SetupStage } from '../../../shared/domain.js';
import { parseDownloadPercent, parseStageLine, runDeepSeekSetup } from './setup.js';

describe('parseStageLine', () => {
  it('reads the fields of setup_venv.py lines, unescaping the message', () => {
    expect(parseStageLine('STAGE name=pip-base status=running progress=0.30 message="resolving \\"numpy\\" C:\\\\x"')).toEqual({
      stage: 'pip-base',
      status: 'running',
      progress: 0.3,
      message: 'resolving "numpy" C:\\x',
    });
    expect(parseStageLine('Collecting numpy')).toBeNull();
    expect(parseStageLine('STAGE name=venv status=bogus progress=0 message=""')).toBeNull();
  });

  it('reads tqdm percentages', () => {
    expect(parseDownloadPercent('Fetching 12 files:  42%|████      | 5/12 [00:03<00:04]')).toBe(0.42);
    expect(parseDownloadPercent('no bar here 42%')).toBeNull();
  });
});

describe('runDeepSeekSetup with a scripted stand-in for setup_venv.py', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pv-setup-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  async function script(body: string): Promise<string> {
    const path = join(dir, 'setup_venv.mjs');
    await writeFile(path, body);
    return path;
  }

  it('streams stages, weight download progress and pip output; passes the flags', async () => {
    const path = await script(`
      const stage = (n, s, p, m) => console.log('STAGE name=' + n + ' status=' + s + ' progress=' + p + ' message="' + m + '"');
      console.error('args ' + process.argv.slice(2).join(' '));
      for (const n of ['venv', 'pip-base', 'pip-model', 'verify']) { stage(n, 'running', 0, n); stage(n, 'done', 1, n + ' ok'); }
      stage('weights', 'running', 0, 'downloading');
      // stdout and stderr are separate pipes: space the events out as a real download would.
      setTimeout(() => process.stderr.write('Fetching 4 files:  25%|██ | 1/4\\rFetching 4 files:  75%|██████ | 3/4\\r'), 150);
      setTimeout(() => stage('weights', 'done', 1, 'cached'), 300);
    `);
    const events: SetupStage[] = [];
    const logs: string[] = [];
    const final = await runDeepSeekSetup({ python: process.execPath, script: path, venvDir: join(dir, 'venv'), withModel: true, downloadWeights: true, onStage: (event) => events.push(event), onLines: (lines) => logs.push(...lines) });
    expect(final.map((stage) => [stage.stage, stage.status])).toEqual([['venv', 'done'], ['pip-base', 'done'], ['pip-model', 'done'], ['verify', 'done'], ['weights', 'done']]);
    expect(events.filter((event) => event.stage === 'weights').map((event) => event.progress)).toEqual([null, 0, 0.25, 0.75, 1]);
    expect(logs.find((line) => line.startsWith('args '))).toBe(`args --venv ${join(dir, 'venv')} --with-model --download-weights`);
  });

  it('names the stage that failed and keeps the last lines when the script dies without saying', async () => {
    const path = await script(`
      console.log('STAGE name=venv status=done progress=1 message="ok"');
      console.log('STAGE name=pip-base status=running progress=0 message="installing"');
      console.error('ERROR: No matching distribution found for torch==9.9');
      process.exit(1);
    `);
    const final = await runDeepSeekSetup({ python: process.execPath, script: path, venvDir: join(dir, 'venv'), withModel: false, downloadWeights: false, onStage: () => undefined });
    expect(final.find((stage) => stage.stage === 'pip-base')).toMatchObject({ status: 'failed', message: expect.stringMatching(/exited with code 1: .*No matching distribution found for torch==9\.9/) });
    expect(final.find((stage) => stage.stage === 'verify')?.status).toBe('pending');
    expect(final.some((stage) => stage.stage === 'pip-model' || stage.stage === 'weights')).toBe(false);
  });

  it('fails the first stage when the interpreter does not exist', async () => {
    const final = await runDeepSeekSetup({ python: join(dir, 'no-python'), script: 'x.py', venvDir: dir, withModel: false, downloadWeights: false, onStage: () => undefined });
    expect(final[0]).toMatchObject({ stage: 'venv', status: 'failed' });
    expect(final[0]?.message).toContain('no-python');
  });
});
