/** `serve` keeps its port from one start to the next (the page's settings live per origin), `--port` wins. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBrowserServer, type BrowserServer } from '../core/app/browser-server.js';
import { rememberedPortPath, startOnKnownPort } from './serve-port.js';

let dir: string;
let dataDir: string;
const open: { close(): Promise<void> }[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pv-serve-port-'));
  dataDir = path.join(dir, 'data');
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html>');
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** Browser mode's real server, as serve starts it. */
async function serve(flag?: number): Promise<{ server: BrowserServer; note: string }> {
  const started = await startOnKnownPort(dataDir, flag, (port) => startBrowserServer({ rendererDir: dir, port, dispatch: async () => ({ ok: true, value: null }), subscribe: () => () => undefined }));
  open.push(started.server);
  return started;
}

async function stop(server: BrowserServer): Promise<void> {
  open.splice(open.indexOf(server), 1);
  await server.close();
}

/** Holds a port the way another program would. */
async function occupy(port: number): Promise<net.Server> {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
  open.push({ close: () => new Promise<void>((resolve) => holder.close(() => resolve())) });
  return holder;
}

describe('serve: the port of the last start', () => {
  it('takes a free port the first time and remembers it, then starts there again', async () => {
    const first = await serve();
    expect(first.note).toBe(`Port ${first.server.port}, a free one; the next start tries it first (${rememberedPortPath(dataDir)}).`);
    expect(JSON.parse(readFileSync(rememberedPortPath(dataDir), 'utf8'))).toEqual({ port: first.server.port });
    await stop(first.server);

    const again = await serve();
    expect(again.server.port).toBe(first.server.port);
    expect(again.server.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${first.server.port}/\\?token=`));
    expect(again.note).toBe(`Port ${first.server.port}, as the last start (${rememberedPortPath(dataDir)}).`);
  });

  it('falls back to a free port when that one is taken, and tries it again the next time', async () => {
    const first = await serve();
    const home = first.server.port;
    await stop(first.server);
    await occupy(home);

    const moved = await serve();
    expect(moved.server.port).not.toBe(home);
    expect(moved.note).toContain(`Port ${home} of the last start is taken, so port ${moved.server.port} this time`);
    expect(JSON.parse(readFileSync(rememberedPortPath(dataDir), 'utf8')), 'the home port is kept').toEqual({ port: home });
  });

  it('--port wins over the remembered port and becomes the one remembered; a taken --port is an error saying so', async () => {
    const first = await serve();
    await stop(first.server);
    const holder = await occupy(0);
    const other = (holder.address() as net.AddressInfo).port;
    await expect(serve(other)).rejects.toThrow(`--port ${other}: the port is taken`);
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    open.pop();

    const given = await serve(other);
    expect([given.server.port, given.note]).toEqual([other, `Port ${other} (--port ${other}); the next start without --port tries it first.`]);
    expect(JSON.parse(readFileSync(rememberedPortPath(dataDir), 'utf8'))).toEqual({ port: other });
  });

  it('starts on a free port when the remembered file is not one it can read', async () => {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(rememberedPortPath(dataDir), '{"port": "soon"}');
    const started = await serve();
    expect(started.note).toMatch(/^Port \d+, a free one;/);
    expect(JSON.parse(readFileSync(rememberedPortPath(dataDir), 'utf8'))).toEqual({ port: started.server.port });
  });
});
