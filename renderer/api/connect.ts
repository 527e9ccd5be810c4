/**
 * Picks the VisionApi transport: the preload bridge inside Electron, the WebSocket of
 * browser mode otherwise. Same UI, same code above this file.
 */
import type { VisionApi } from '../../shared/api.js';
import { createVisionApi } from '../../shared/client.js';
import './bridge.js';
import { createWebSocketTransport } from './websocket.js';

const TOKEN_KEY = 'parallel-vision-token';

/** Reads the per-launch token from the URL once, then keeps it out of the address bar. */
function browserModeToken(): string {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.toString());
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function connectVisionApi(): { api: VisionApi; mode: 'electron' | 'browser' } {
  if (window.visionBridge) return { api: createVisionApi(window.visionBridge), mode: 'electron' };
  const wsUrl = new URL('api', window.location.href);
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  // A tab opened without the link (a bookmark, a duplicated tab) has no token: its cookie lets it in.
  const token = browserModeToken();
  if (token) wsUrl.searchParams.set('token', token);
  return { api: createVisionApi(createWebSocketTransport(wsUrl.toString())), mode: 'browser' };
}
