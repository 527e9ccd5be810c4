import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBmp24 } from './bmp.js';
import { createImageFetcher, prepareImage, sniffImageMime, type ImageFetcherOptions } from './index.js';
import { failure } from '../../../test/helpers/engine-error.js';

let png: Buffer;
let otherPng: Buffer;
let rotatedJpeg: Buffer;
let baseUrl: string;
const hits = new Map<string, number>();
let concurrent = 0;
let maxConcurrent = 0;
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  hits.set(path, (hits.get(path) ?? 0) + 1);
  const send = (status: number, body: Buffer | string, type = 'image/png') => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };
  if (path === '/a.png' || path === '/copy-of-a.png') return send(200, png);
  if (path === '/b.png') return send(200, otherPng);
  if (path === '/rotated.jpg') return send(200, rotatedJpeg, 'image/jpeg');
  if (path.startsWith('/hop/')) {
    const left = Number(path.split('/')[2]);
    res.writeHead(302, { location: left > 0 ? `/hop/${left - 1}` : '/a.png' });
    return res.end();
  }
  if (path === '/loop') {
    res.writeHead(301, { location: '/loop' });
    return res.end();
  }
  if (path === '/to-file') {
    res.writeHead(302, { location: 'file:///etc/passwd' });
    return res.end();
  }
  if (path === '/html-as.png') return send(200, '<!DOCTYPE html><html><body>Not found</body></html>');
  if (path === '/missing.png') return send(404, 'no');
  if (path === '/error.png') return send(500, 'boom');
  if (path === '/flaky.png') return (hits.get(path) ?? 0) < 2 ? send(503, 'busy') : send(200, png);
  if (path === '/huge-chunked.png') {
    // No Content-Length: the limit must hold while streaming.
    res.writeHead(200, { 'content-type': 'image/png' });
    const chunk = Buffer.alloc(64 * 1024, 1);
    let sent = 0;
    const pump = () => {
      while (sent < 4 * 1024 * 1024) {
        sent += chunk.length;
        if (!res.write(chunk)) return res.once('drain', pump);
      }
      res.end();
    };
    return pump();
  }
  if (path === '/short-body.png') {
    // Claims more bytes than it sends, then hangs up.
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(png.length * 4) });
    res.write(png);
    return setTimeout(() => res.destroy(), 20);
  }
  if (path === '/trickle.png') {
    res.writeHead(200, { 'content-type': 'image/png' });
    let i = 0;
    const timer = setInterval(() => {
      if (res.destroyed || i >= png.length) {
        clearInterval(timer);
        return res.end();
      }
      res.write(png.subarray(i, i + 1));
      i++;
    }, 30);
    res.on('close', () => clearInterval(timer));
    return;
  }
  if (path.startsWith('/slow/')) {
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    return setTimeout(() => {
      concurrent--;
      send(200, path.endsWith('b') ? otherPng : png);
    }, 60);
  }
  send(404, 'unknown');
});

beforeAll(async () => {
  png = await sharp({ create: { width: 30, height: 20, channels: 3, background: '#ff0000' } }).png().toBuffer();
  otherPng = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#00ff00' } }).png().toBuffer();
  rotatedJpeg = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#0000ff' } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function fetcher(options: ImageFetcherOptions = {}) {
  return createImageFetcher({ retries: 2, retryDelayMs: 5, ...options });
}

describe('fetchImage', () => {
  it('downloads an image and decides its type and size from the bytes', async () => {
    const f = fetcher();
    const image = await f.fetchImage(`${baseUrl}/a.png`);
    expect(image).toMatchObject({ mime: 'image/png', width: 30, height: 20, fromCache: false });
    expect(Buffer.from(image.bytes).equals(png)).toBe(true);
    expect(image.hash).toMatch(/^[0-9a-f]{64}$/);
    await f.close();
  });

  it('follows up to 5 redirects and refuses more, loops and non-http targets', async () => {
    const f = fetcher();
    expect((await f.fetchImage(`${baseUrl}/hop/4`)).width).toBe(30);
    expect((await failure(f.fetchImage(`${baseUrl}/hop/5`))).message).toMatch(/too many redirects/);
    expect((await failure(f.fetchImage(`${baseUrl}/loop`))).kind).toBe('permanent');
    const toFile = await failure(f.fetchImage(`${baseUrl}/to-file`));
    expect([toFile.kind, toFile.message]).toEqual(['permanent', 'image URL must be http(s), got file:']);
    await f.close();
  });

  it('fails HTML served as image.png with a clear reason', async () => {
    const f = fetcher();
    const error = await failure(f.fetchImage(`${baseUrl}/html-as.png`));
    expect([error.kind, error.message]).toEqual(['permanent', 'not an image (an HTML page)']);
    await f.close();
  });

  it('enforces the size limit while streaming, whatever the headers say', async () => {
    const f = fetcher({ maxBytes: 1024 * 1024 });
    const error = await failure(f.fetchImage(`${baseUrl}/huge-chunked.png`));
    expect([error.kind, error.message]).toEqual(['permanent', 'image is larger than 1.0 MB']);
    await f.close();
  });

  it('treats a body shorter than its Content-Length as transient, after retries', async () => {
    hits.delete('/short-body.png');
    const f = fetcher({ retries: 1 });
    expect((await failure(f.fetchImage(`${baseUrl}/short-body.png`))).kind).toBe('transient');
    expect(hits.get('/short-body.png')).toBe(2);
    await f.close();
  });

  it('gives up on a trickling server at the total timeout', async () => {
    const f = fetcher({ retries: 0, timeouts: { totalMs: 300 } });
    const error = await failure(f.fetchImage(`${baseUrl}/trickle.png`));
    expect(error.kind).toBe('transient');
    expect(error.message).toMatch(/timed out/);
    await f.close();
  });

  it('maps 4xx to permanent and retries 5xx before giving up', async () => {
    hits.delete('/error.png');
    hits.delete('/missing.png');
    const f = fetcher({ retries: 2 });
    const missing = await failure(f.fetchImage(`${baseUrl}/missing.png`));
    expect([missing.kind, missing.options.status, hits.get('/missing.png')]).toEqual(['permanent', 404, 1]);
    const broken = await failure(f.fetchImage(`${baseUrl}/error.png`));
    expect([broken.kind, broken.options.status, hits.get('/error.png')]).toEqual(['transient', 500, 3]);
    expect(broken.message).toMatch(/^HTTP 500 from .+ \(3 tries\)$/);
    await f.close();
  });

  it('recovers when a retry succeeds', async () => {
    hits.delete('/flaky.png');
    const f = fetcher({ retries: 2 });
    expect((await f.fetchImage(`${baseUrl}/flaky.png`)).width).toBe(30);
    expect(hits.get('/flaky.png')).toBe(2);
    await f.close();
  });

  it('refuses bad and non-http URLs without a request, and file: unless allowed', async () => {
    const f = fetcher();
    expect((await failure(f.fetchImage('not a url'))).kind).toBe('permanent');
    expect((await failure(f.fetchImage('ftp://example.test/a.png'))).message).toMatch(/must be http/);
    expect((await failure(f.fetchImage('file:///etc/passwd'))).message).toMatch(/must be http/);
    await f.close();
  });

  it('reports a refused connection as transient and an abort as aborted', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const f = fetcher({ retries: 0 });
    expect((await failure(f.fetchImage(`http://127.0.0.1:${closedPort}/a.png`))).kind).toBe('transient');
    const controller = new AbortController();
    const pending = f.fetchImage(`${baseUrl}/trickle.png`, controller.signal);
    setTimeout(() => controller.abort(), 50);
    expect((await failure(pending)).kind).toBe('aborted');
    await f.close();
  });

  it('keeps at most perHostConcurrency requests in flight per host', async () => {
    maxConcurrent = 0;
    const f = fetcher({ perHostConcurrency: 2 });
    await Promise.all([1, 2, 3, 4, 5, 6].map((n) => f.fetchImage(`${baseUrl}/slow/${n}${n % 2 ? 'a' : 'b'}`)));
    expect(maxConcurrent).toBe(2);
    await f.close();
  });

  it('caches by content hash: one file for two URLs, no second request', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'pv-cache-'));
    try {
      hits.delete('/a.png');
      const first = fetcher({ cacheDir });
      const a = await first.fetchImage(`${baseUrl}/a.png`);
      const copy = await first.fetchImage(`${baseUrl}/copy-of-a.png`);
      expect(copy.hash).toBe(a.hash);
      await first.close();
      const blobs = (await readdir(cacheDir, { recursive: true })).filter((name) => /[0-9a-f]{64}$/.test(name));
      expect(blobs).toHaveLength(1);
      // A new fetcher (next launch) reads the same URL from disk.
      const second = fetcher({ cacheDir });
      const again = await second.fetchImage(`${baseUrl}/a.png`);
      expect([again.fromCache, again.hash, hits.get('/a.png')]).toEqual([true, a.hash, 1]);
      await second.close();
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it('reads dropped images from file: URLs when allowed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pv-drop-'));
    try {
      const path = join(dir, 'drop.png');
      await writeFile(path, png);
      const f = fetcher({ allowFileUrls: true });
      expect((await f.fetchImage(pathToFileURL(path).href)).width).toBe(30);
      await f.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('prepareImage', () => {
  it('returns PNG and JPEG untouched when no change is needed', async () => {
    const prepared = await prepareImage(png);
    expect(prepared.bytes).toBe(png);
    expect(prepared).toMatchObject({ mime: 'image/png', width: 30, height: 20 });
  });

  it('applies the EXIF orientation', async () => {
    const prepared = await prepareImage(rotatedJpeg);
    expect(prepared).toMatchObject({ mime: 'image/jpeg', width: 20, height: 40 });
    const meta = await sharp(prepared.bytes).metadata();
    expect([meta.width, meta.height, meta.orientation ?? 1]).toEqual([20, 40, 1]);
  });

  it('shrinks to the longest side without upscaling', async () => {
    expect(await prepareImage(png, { maxSide: 15 })).toMatchObject({ width: 15, height: 10, mime: 'image/png' });
    expect((await prepareImage(png, { maxSide: 100 })).bytes).toBe(png);
  });

  it('refuses images above the pixel limit and bytes that are not an image', async () => {
    const error = await failure(prepareImage(png, { maxPixels: 100 }));
    expect([error.kind, error.message]).toEqual(['permanent', 'image is too large: 30×20 pixels']);
    expect((await failure(prepareImage(new TextEncoder().encode('<html></html>')))).message).toBe('not an image (an HTML page)');
    expect((await failure(prepareImage(png.subarray(0, 40)))).kind).toBe('permanent');
  });

  it('converts GIF, WebP, TIFF and BMP to PNG', async () => {
    const base = sharp({ create: { width: 12, height: 6, channels: 3, background: '#123456' } });
    const rgb = new Uint8Array(12 * 6 * 3).map((_, i) => [0x12, 0x34, 0x56][i % 3]!);
    const inputs = [await base.clone().gif().toBuffer(), await base.clone().webp().toBuffer(), await base.clone().tiff().toBuffer(), encodeBmp24(12, 6, rgb)];
    expect(inputs.map((bytes) => sniffImageMime(bytes))).toEqual(['image/gif', 'image/webp', 'image/tiff', 'image/bmp']);
    for (const bytes of inputs) {
      const prepared = await prepareImage(bytes);
      expect(prepared).toMatchObject({ mime: 'image/png', width: 12, height: 6 });
      const { data } = await sharp(prepared.bytes).raw().toBuffer({ resolveWithObject: true });
      // GIF and WebP are lossy: allow a small colour error.
      [0x12, 0x34, 0x56].forEach((expected, channel) => expect(Math.abs(data[channel]! - expected)).toBeLessThanOrEqual(4));
    }
  });
});
