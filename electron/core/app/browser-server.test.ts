import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { VisionHandlers } from '../../../shared/api.js';
import { createDispatcher } from './dispatch.js';
import { EventBus } from './events.js';
import { startBrowserServer, type BrowserServer } from './browser-server.js';

const rendererDir = mkdtempSync(path.join(tmpdir(), 'pv-renderer-'));
writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Parallel Vision</title>');
mkdirSync(path.join(rendererDir, 'assets'));
writeFileSync(path.join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
const secretOutside = path.join(path.dirname(rendererDir), 'secret.txt');
writeFileSync(secretOutside, 'secret');

const handlers = new Proxy({} as VisionHandlers, { get: (_t, channel) => async (request: unknown) => ({ channel, request }) });
const bus = new EventBus();
let server: BrowserServer;

function get(pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port: server.port, path: pathname, headers: { host: `127.0.0.1:${server.port}`, ...headers } }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
    });
    request.on('error', reject);
    request.end();
  });
}

function openSocket(query: string, origin?: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api${query}`, { origin: origin ?? `http://127.0.0.1:${server.port}`, headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

beforeAll(async () => {
  server = await startBrowserServer({ rendererDir, dispatch: createDispatcher(handlers), subscribe: (l) => bus.subscribe(l) });
});
afterAll(() => server.close());

describe('browser mode server', () => {
  it('listens on 127.0.0.1 only, on a free port, and prints a URL with the token', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
    expect(server.token.length).toBeGreaterThanOrEqual(32);
  });

  it('serves the page with the token, setting an HttpOnly cookie and a CSP', async () => {
    const page = await get(`/?token=${server.token}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('Parallel Vision');
    expect(String(page.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    const asset = await get('/assets/app.js', { cookie: `pv_token=${server.token}` });
    expect(asset.status).toBe(200);
  });

  it('refuses requests without the right token, from a foreign Origin or Host, and paths outside the folder', async () => {
    expect((await get('/')).status).toBe(403);
    expect((await get('/?token=wrong')).status).toBe(403);
    expect((await get(`/?token=${server.token}`, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await get(`/?token=${server.token}`, { host: 'evil.example' })).status).toBe(403);
    const traversal = await get(`/..%2fsecret.txt?token=${server.token}`);
    expect(traversal.status).not.toBe(200);
    expect(traversal.body).not.toContain('secret');
  });

  it('lets a second tab in by its cookie, also when it sends an empty token', async () => {
    const cookie = { cookie: `pv_token=${server.token}` };
    expect((await get('/', cookie)).status).toBe(200);
    for (const query of ['', '?token=']) (await openSocket(query, undefined, cookie)).close();
    await expect(openSocket('?token=')).rejects.toThrow('HTTP 403');
    // A tab reloaded after a restart on the same port: the old token it kept, the new link's cookie.
    (await openSocket('?token=wrong', undefined, cookie)).close();
    await expect(openSocket('?token=wrong', undefined, { cookie: 'pv_token=stale' })).rejects.toThrow('HTTP 403');
  });

  it('carries the VisionApi over the WebSocket, validating every frame', async () => {
    const ws = await openSocket(`?token=${server.token}`);
    const replies: unknown[] = [];
    ws.on('message', (data) => replies.push(JSON.parse(String(data))));
    ws.send(JSON.stringify({ id: 1, channel: 'services.start', payload: { name: 'deepseek' } }));
    ws.send(JSON.stringify({ id: 2, channel: 'services.start', payload: { name: 'rm -rf' } }));
    ws.send('not json');
    bus.emit('app.error', { message: 'hello' });
    await expect.poll(() => replies.length).toBe(4);
    expect(replies).toContainEqual({ type: 'reply', id: 1, reply: { ok: true, value: { channel: 'services.start', request: { name: 'deepseek' } } } });
    expect(replies).toContainEqual(expect.objectContaining({ type: 'reply', id: 2, reply: expect.objectContaining({ ok: false }) }));
    expect(replies).toContainEqual(expect.objectContaining({ type: 'reply', id: -1 }));
    expect(replies).toContainEqual({ type: 'event', event: 'app.error', payload: { message: 'hello' } });
    ws.close();
  });

  it('refuses WebSocket upgrades without the token or from another Origin', async () => {
    await expect(openSocket('')).rejects.toThrow();
    await expect(openSocket('?token=nope')).rejects.toThrow();
    await expect(openSocket(`?token=${server.token}`, 'https://evil.example')).rejects.toThrow();
  });
});

describe('browser mode server, hostile requests', () => {
  it('answers a malformed %-escape with 400 and keeps serving', async () => {
    const bad = await get(`/%E0%A4%A?token=${server.token}`);
    expect(bad.status).toBe(400);
    expect((await get(`/?token=${server.token}`)).status).toBe(200);
  });

  it('answers a malformed frame on the id the caller gave', async () => {
    const ws = await openSocket(`?token=${server.token}`);
    const replies: { id: number; reply: { ok: boolean } }[] = [];
    ws.on('message', (data) => replies.push(JSON.parse(String(data))));
    ws.send(JSON.stringify({ id: 7, channel: 'services.list', payload: {}, extra: true }));
    await expect.poll(() => replies.length).toBe(1);
    expect(replies[0]).toMatchObject({ id: 7, reply: { ok: false } });
    ws.close();
  });
});
