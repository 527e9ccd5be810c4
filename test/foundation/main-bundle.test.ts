import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, ipcChannel } from '../../shared/api.js';

/**
 * The built Electron main bundle (what `npm start` and the packaged app run) loads and wires
 * the app with a stand-in for `electron`: no top-level crash in the bundle, one secure
 * window on app://, the preload beside it, every IPC channel registered.
 */
describe('built main bundle', () => {
  it('starts with a stand-in Electron: window, preload, scheme and IPC channels', async () => {
    execFileSync(process.execPath, ['scripts/build-electron.mjs'], { stdio: 'pipe' });
    expect(existsSync('dist/electron/preload.cjs')).toBe(true);
    // The embedded OCR worker loads the runner and its lib modules beside the bundle: every
    // relative import of the worker files must be there.
    for (const file of ['embedded-worker.mjs', 'embedded-ocr-runner.mjs']) {
      const source = readFileSync(path.join('electron/core/engines', file), 'utf8');
      const imports = [...source.matchAll(/(?:from |import\()'(\.\/[^']+\.mjs)'/g)].map((m) => m[1] ?? '');
      expect(imports.length).toBeGreaterThan(0);
      for (const dir of ['dist/electron', 'dist/cli']) for (const imported of [file, ...imports]) expect(existsSync(path.join(dir, imported)), `${dir}/${imported}`).toBe(true);
    }
    const userData = mkdtempSync(path.join(tmpdir(), 'pv-main-bundle-'));
    const child = spawn(process.execPath, ['--import', './test/fixtures/fake-electron/register.mjs', 'dist/electron/main.mjs'], {
      env: { ...process.env, FAKE_ELECTRON_USER_DATA: userData },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    try {
      await expect.poll(() => /FAKE_ELECTRON (.*)/.exec(stdout)?.[1], { timeout: 30_000 }).toBeTruthy();
      const record = JSON.parse(/FAKE_ELECTRON (.*)/.exec(stdout)![1]!) as {
        schemes: string[];
        protocols: string[];
        windows: { url: string; webPreferences: { preload: string; sandbox: boolean; contextIsolation: boolean } }[];
        ipcChannels: string[];
        menu: boolean;
      };
      expect(record.schemes).toEqual(['app']);
      expect(record.protocols).toEqual(['app']);
      expect(record.menu).toBe(true);
      expect(record.windows).toHaveLength(1);
      expect(record.windows[0]!.url).toBe('app://renderer/index.html');
      expect(record.windows[0]!.webPreferences).toMatchObject({ sandbox: true, contextIsolation: true });
      expect(path.resolve(record.windows[0]!.webPreferences.preload)).toBe(path.resolve('dist/electron/preload.cjs'));
      expect(record.ipcChannels.sort()).toEqual(COMMAND_NAMES.map(ipcChannel).sort());
    } catch (error) {
      throw new Error(`${(error as Error).message}\nstderr:\n${stderr}`);
    } finally {
      child.kill('SIGKILL');
      rmSync(userData, { recursive: true, force: true });
    }
  });
});
