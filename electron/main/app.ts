/**
 * The Electron edge: lifecycle, window, IPC wiring. Everything it calls lives in
 * electron/core; the Electron modules are passed in so tests can hand over mocks.
 */
import path from 'node:path';
import type * as Electron from 'electron';
import { createDispatcher } from '../core/app/dispatch.js';
import type { Backend } from '../core/app/backend.js';
import { startApiServer, type ApiServer } from '../core/api/server.js';
import { appMenuTemplate } from './menu.js';
import { registerIpcHandlers, sendEvent } from './ipc.js';
import { serveRendererFile } from './protocol.js';
import { APP_ORIGIN, APP_SCHEME, installNavigationGuards, secureWindowOptions } from './security.js';

export type ElectronModules = Pick<typeof Electron, 'app' | 'BrowserWindow' | 'ipcMain' | 'Menu' | 'shell' | 'protocol' | 'dialog'>;

export interface MainAppOptions {
  /** Folder of the built main/preload bundles (dist/electron). */
  distDir: string;
  createBackend(dataDir: string, chooseExportPath: (suggestedName: string) => Promise<string | null>): Promise<Backend>;
}

/** Must run before the app is ready: our renderer scheme behaves like https (secure, standard origin). */
export function registerAppScheme(electron: Pick<ElectronModules, 'protocol'>): void {
  electron.protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

export async function startMainApp(electron: ElectronModules, options: MainAppOptions): Promise<void> {
  const { app, BrowserWindow, ipcMain, Menu, shell, protocol, dialog } = electron;
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }

  let window: Electron.BrowserWindow | null = null;
  const rendererDir = path.join(options.distDir, '..', 'renderer');

  await app.whenReady();
  protocol.handle(APP_SCHEME, (request) => serveRendererFile(rendererDir, request.url));
  Menu.setApplicationMenu(Menu.buildFromTemplate(appMenuTemplate(app.getName(), process.platform === 'darwin')));

  const backend = await options.createBackend(app.getPath('userData'), async (suggestedName) => {
    const result = await dialog.showSaveDialog({ defaultPath: suggestedName });
    return result.canceled || !result.filePath ? null : result.filePath;
  });
  registerIpcHandlers(ipcMain, createDispatcher(backend.handlers), (sender) => sender === window?.webContents);
  // The local API for scripts; the window works without it (e.g. a port it cannot bind).
  let api: ApiServer | null = null;
  if (backend.core) {
    api = await startApiServer({ backend: { ...backend, core: backend.core }, dataDir: app.getPath('userData'), version: app.getVersion() }).catch((error: unknown) => {
      console.error('The local API could not start:', error);
      return null;
    });
  }
  backend.subscribe((event, payload) => sendEvent(window?.webContents, event, payload));

  const createWindow = () => {
    window = new BrowserWindow(secureWindowOptions(path.join(options.distDir, 'preload.cjs')));
    installNavigationGuards(window.webContents, shell, APP_ORIGIN);
    window.once('ready-to-show', () => window?.show());
    window.on('closed', () => (window = null));
    void window.loadURL(`${APP_ORIGIN}/index.html`);
  };
  createWindow();

  app.on('second-instance', () => {
    if (!window) return createWindow();
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  // macOS: closing the window keeps the app (and its runs) alive; the Dock icon brings it back.
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (!window) createWindow();
  });
  // Quit (Cmd-Q) stops the services the app started, then really quits.
  let stopped = false;
  app.on('before-quit', (event) => {
    if (stopped) return;
    event.preventDefault();
    void Promise.resolve(api?.close())
      .catch(() => undefined)
      .then(() => backend.dispose())
      .finally(() => {
        stopped = true;
        app.quit();
      });
  });
}
