import { describe, expect, it } from 'vitest';
import { createFakeElectron } from '../../test/helpers/fake-electron.js';
import { COMMAND_NAMES, IPC_EVENT_CHANNEL, ipcChannel, type VisionHandlers } from '../../shared/api.js';
import type { Backend } from '../core/app/backend.js';
import { EventBus } from '../core/app/events.js';
import { startMainApp } from './app.js';
import { CONTENT_SECURITY_POLICY } from './security.js';

function fakeBackend() {
  const bus = new EventBus();
  let disposed = 0;
  const handlers = new Proxy({} as VisionHandlers, {
    get: (_target, channel) => async (request: unknown) => ({ echoed: channel, request }),
  });
  const backend: Backend = { handlers, subscribe: (listener) => bus.subscribe(listener), dispose: async () => void disposed++ };
  return { backend, bus, disposed: () => disposed };
}

async function start() {
  const fake = createFakeElectron();
  const { backend, bus, disposed } = fakeBackend();
  await startMainApp(fake.electron, { distDir: '/app/dist/electron', createBackend: async () => backend });
  const window = fake.windows[0]!;
  return { ...fake, bus, disposed, window };
}

describe('Electron main', () => {
  it('opens one window with isolation, sandbox and no Node in the page', async () => {
    const { windows, window } = await start();
    expect(windows).toHaveLength(1);
    const prefs = window.options.webPreferences as Record<string, unknown>;
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      preload: '/app/dist/electron/preload.cjs',
    });
    expect(window.loadedUrl).toBe('app://renderer/index.html');
  });

  it('denies navigation away and window.open, sending http(s) links to the OS browser', async () => {
    const { window, opened } = await start();
    expect(window.webContents.navigate('will-navigate', 'https://evil.example/')).toBe(true);
    expect(window.webContents.navigate('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(window.webContents.navigate('will-navigate', 'app://renderer/index.html#results')).toBe(false);
    expect(window.webContents.navigate('will-redirect', 'https://elsewhere.example/')).toBe(true);
    expect(window.webContents.windowOpenHandler!({ url: 'https://docs.example/help' })).toEqual({ action: 'deny' });
    expect(window.webContents.windowOpenHandler!({ url: 'javascript:alert(1)' })).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://evil.example/', 'https://docs.example/help']);
  });

  it('has a strict Content-Security-Policy', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-eval');
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
  });

  it('registers one IPC handler per command, validating payloads before they reach core', async () => {
    const { ipcHandlers, window } = await start();
    expect([...ipcHandlers.keys()].sort()).toEqual(COMMAND_NAMES.map(ipcChannel).sort());
    const sender = window.webContents;
    const good = await ipcHandlers.get(ipcChannel('services.start'))!({ sender }, { name: 'ollama' });
    expect(good).toEqual({ ok: true, value: { echoed: 'services.start', request: { name: 'ollama' } } });
    const bad = (await ipcHandlers.get(ipcChannel('runs.setLaneWorkers'))!({ sender }, { runId: 'r1', laneId: 'l1', workers: 0 })) as {
      ok: boolean;
      error: { code: string; message: string };
    };
    expect(bad.ok).toBe(false);
    expect(bad.error.code).toBe('invalid-request');
    expect(bad.error.message).toMatch(/workers/);
  });

  it('refuses IPC from anything but its own window', async () => {
    const { ipcHandlers } = await start();
    const reply = (await ipcHandlers.get(ipcChannel('services.list'))!({ sender: {} }, {})) as { ok: boolean };
    expect(reply.ok).toBe(false);
  });

  it('forwards backend events to the window on one channel', async () => {
    const { bus, window } = await start();
    bus.emit('app.error', { message: 'disk full', where: 'store' });
    expect(window.webContents.sent).toEqual([{ channel: IPC_EVENT_CHANNEL, payload: { event: 'app.error', payload: { message: 'disk full', where: 'store' } } }]);
  });

  it('keeps running when the window closes on macOS, and stops services before quitting', async () => {
    const { app, disposed } = await start();
    const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
    Object.defineProperty(process, 'platform', { value: 'darwin' });
    try {
      app.emit('window-all-closed');
      expect(app.quitCalls).toBe(0);
    } finally {
      Object.defineProperty(process, 'platform', platform);
    }
    let prevented = false;
    app.emit('before-quit', { preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(disposed()).toBe(1);
    expect(app.quitCalls).toBe(1);
    // The second before-quit (from our own app.quit()) goes through.
    let preventedAgain = false;
    app.emit('before-quit', { preventDefault: () => (preventedAgain = true) });
    expect(preventedAgain).toBe(false);
  });

  it('quits at once when another instance holds the lock', async () => {
    const fake = createFakeElectron({ gotLock: false });
    await startMainApp(fake.electron, { distDir: '/x', createBackend: async () => fakeBackend().backend });
    expect(fake.app.quitCalls).toBe(1);
    expect(fake.windows).toHaveLength(0);
  });
});
