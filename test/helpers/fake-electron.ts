/**
 * A recording stand-in for the parts of Electron that main uses, so the main process
 * runs in plain Node under test. It records what main asks of Electron (window options,
 * IPC handlers, navigation listeners) and lets tests fire Electron's events.
 */
import { EventEmitter } from 'node:events';
import type { ElectronModules } from '../../electron/main/app.js';

type Handler = (event: { sender: unknown }, payload: unknown) => unknown;

class FakeWebContents extends EventEmitter {
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;
  sent: { channel: string; payload: unknown }[] = [];
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }) {
    this.windowOpenHandler = handler;
  }
  send(channel: string, payload: unknown) {
    this.sent.push({ channel, payload });
  }
  isDestroyed() {
    return false;
  }
  /** Fires a navigation event the way Electron does; answers whether main prevented it. */
  navigate(kind: 'will-navigate' | 'will-redirect', url: string): boolean {
    let prevented = false;
    this.emit(kind, { preventDefault: () => (prevented = true) }, url);
    return prevented;
  }
}

export function createFakeElectron(options: { gotLock?: boolean } = {}) {
  const ipcHandlers = new Map<string, Handler>();
  const windows: { options: Record<string, unknown>; webContents: FakeWebContents; loadedUrl?: string }[] = [];
  const opened: string[] = [];
  const app = Object.assign(new EventEmitter(), {
    quitCalls: 0,
    requestSingleInstanceLock: () => options.gotLock ?? true,
    quit() {
      app.quitCalls++;
    },
    exit() {},
    whenReady: () => Promise.resolve(),
    getName: () => 'Parallel Vision',
    getVersion: () => '0.0.0-test',
    getPath: () => '/tmp/parallel-vision-test',
  });

  class BrowserWindow extends EventEmitter {
    readonly webContents = new FakeWebContents();
    constructor(windowOptions: Record<string, unknown>) {
      super();
      windows.push({ options: windowOptions, webContents: this.webContents });
    }
    loadURL(url: string) {
      windows.find((w) => w.webContents === this.webContents)!.loadedUrl = url;
      return Promise.resolve();
    }
    show() {}
    isMinimized() {
      return false;
    }
    restore() {}
    focus() {}
  }

  const electron = {
    app,
    BrowserWindow,
    ipcMain: {
      handle: (channel: string, handler: Handler) => ipcHandlers.set(channel, handler),
      removeHandler: (channel: string) => ipcHandlers.delete(channel),
    },
    Menu: { buildFromTemplate: (template: unknown) => template, setApplicationMenu: () => undefined },
    shell: { openExternal: (url: string) => (opened.push(url), Promise.resolve()) },
    protocol: { handle: () => undefined, registerSchemesAsPrivileged: () => undefined },
    dialog: { showSaveDialog: () => Promise.resolve({ canceled: true }), showErrorBox: () => undefined },
  };
  return { electron: electron as unknown as ElectronModules, app, ipcHandlers, windows, opened };
}
