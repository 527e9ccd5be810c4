/**
 * Browser mode: the built renderer and the VisionApi (over a WebSocket) on 127.0.0.1,
 * behind a per-launch token. A page gets in with `/?token=…` once and then carries an
 * HttpOnly same-site cookie; anything without the token, from another Origin, or with a
 * foreign Host header (DNS rebinding) is refused.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { WsClientFrame, type WsServerFrame } from '../../../shared/api.js';
import type { Dispatch } from './dispatch.js';
import { MIME_TYPES, contentSecurityPolicy, fileWithin } from './web-assets.js';

const COOKIE = 'pv_token';
const MAX_FRAME_BYTES = 96 * 1024 * 1024;


export interface BrowserServerOptions {
  rendererDir: string;
  dispatch: Dispatch;
  /** Subscribe to backend events; returns an unsubscribe function. */
  subscribe(listener: (event: string, payload: unknown) => void): () => void;
  /** Files under this folder are downloadable at /downloads/<name> (exports). */
  downloadsDir?: string;
  port?: number;
  token?: string;
}

export interface BrowserServer {
  url: string;
  port: number;
  host: string;
  token: string;
  close(): Promise<void>;
}

/** The page may connect back to this server's WebSocket only. */
function browserModeCsp(port: number): string {
  return contentSecurityPolicy([`ws://127.0.0.1:${port}`, `ws://localhost:${port}`]);
}

function tokensEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function cookieToken(request: IncomingMessage): string | null {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === COOKIE) return rest.join('=');
  }
  return null;
}

export async function startBrowserServer(options: BrowserServerOptions): Promise<BrowserServer> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const host = '127.0.0.1';
  let port = 0;
  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const allowedOrigins = () => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);

  /** Why a request is refused, or null when it may pass. */
  const refusal = (request: IncomingMessage, url: URL, requireOrigin: boolean): string | null => {
    if (!allowedHosts().has(request.headers.host ?? '')) return 'foreign Host header';
    const origin = request.headers.origin;
    if (origin !== undefined ? !allowedOrigins().has(origin) : requireOrigin) return 'foreign Origin';
    // Either proof will do: the link's token, or the cookie a page opened with it was given. A tab
    // opened without the token (empty `token=`) has only the cookie; a tab reloaded after a restart
    // on the same port still sends the old token it kept, while the cookie is the new link's.
    const presented = [url.searchParams.get('token'), cookieToken(request)];
    if (!presented.some((candidate) => candidate && tokensEqual(candidate, token))) return 'missing or wrong token';
    return null;
  };

  const sendFile = async (response: ServerResponse, file: string, extraHeaders: Record<string, string> = {}) => {
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new Error('not a file');
      response.writeHead(200, {
        'Content-Type': MIME_TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Content-Length': info.size,
        'Content-Security-Policy': browserModeCsp(port),
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': 'no-store',
        ...extraHeaders,
      });
      createReadStream(file).pipe(response);
    } catch {
      response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found');
    }
  };

  const refuse = (response: ServerResponse, status: number, message: string) =>
    response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${message}\n`);

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', `http://${host}:${port}`);
    const refused = refusal(request, url, false);
    if (refused || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' });
      response.end(`Refused (${refused ?? 'method not allowed'}). Open the link that "parallel-vision serve" printed, with its token.\n`);
      return;
    }
    const cookie = `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    if (url.pathname.startsWith('/downloads/') && options.downloadsDir) {
      const file = fileWithin(options.downloadsDir, url.pathname.slice('/downloads'.length));
      if (!file) return void refuse(response, 400, 'Bad path');
      void sendFile(response, file, { 'Content-Disposition': `attachment; filename="${path.basename(file).replace(/"/g, '')}"` });
      return;
    }
    const file = fileWithin(options.rendererDir, url.pathname === '/' ? '/index.html' : url.pathname);
    if (!file) return void refuse(response, 400, 'Bad path');
    void sendFile(response, file, { 'Set-Cookie': cookie });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', `http://${host}:${port}`);
    const refused = url.pathname !== '/api' ? 'unknown path' : refusal(request, url, true);
    if (refused) {
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nRefused (${refused}).\n`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => serveSocket(ws));
  });

  const serveSocket = (ws: WebSocket) => {
    const send = (frame: WsServerFrame) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
    };
    const unsubscribe = options.subscribe((event, payload) => send({ type: 'event', event, payload }));
    ws.on('message', (data) => {
      let raw: unknown;
      try {
        raw = JSON.parse(String(data));
      } catch {
        raw = undefined;
      }
      const frame = WsClientFrame.safeParse(raw);
      if (!frame.success) {
        // Answer on the caller's id when it gave one, so its pending call ends with the reason.
        const id = typeof (raw as { id?: unknown })?.id === 'number' && Number.isInteger((raw as { id: number }).id) ? (raw as { id: number }).id : -1;
        send({ type: 'reply', id, reply: { ok: false, error: { code: 'invalid-request', message: 'Malformed frame: expected {"id", "channel", "payload"}' } } });
        return;
      }
      const { id, channel, payload } = frame.data;
      void options.dispatch(channel, payload).then((reply) => send({ type: 'reply', id, reply }));
    });
    ws.on('close', unsubscribe);
    ws.on('error', unsubscribe);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${port}/?token=${token}`,
    port,
    host,
    token,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
