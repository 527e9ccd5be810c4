/**
 * The window's security settings in one place, so tests can assert them:
 * isolation, sandbox, no Node in the page, a strict CSP, no navigation away, no popups.
 */
import type { BrowserWindowConstructorOptions, Shell, WebContents } from 'electron';
import { contentSecurityPolicy } from '../core/app/web-assets.js';

export const APP_SCHEME = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://renderer`;

/** The packaged renderer's CSP: see web-assets.ts; no connections beyond the app itself. */
export const CONTENT_SECURITY_POLICY = contentSecurityPolicy();

export function secureWindowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Parallel Vision',
    titleBarStyle: 'hiddenInset',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  };
}

/** Only http(s) links leave the app, and they go to the OS browser. */
function isExternalLink(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

export function installNavigationGuards(contents: WebContents, shell: Pick<Shell, 'openExternal'>, appOrigin = APP_ORIGIN): void {
  // Node's URL gives custom schemes an opaque origin, so compare scheme and host.
  const app = new URL(appOrigin);
  const leavesApp = (url: string) => {
    try {
      const target = new URL(url);
      return target.protocol !== app.protocol || target.host !== app.host;
    } catch {
      return true;
    }
  };
  contents.on('will-navigate', (event, url) => {
    if (!leavesApp(url)) return;
    event.preventDefault();
    if (isExternalLink(url)) void shell.openExternal(url);
  });
  contents.on('will-redirect', (event, url) => {
    if (leavesApp(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isExternalLink(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
}
