/** Truncated images and URLs with credentials (found by the reliability suite's bad-input corpus). */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageFetcher, prepareImage, redactCredentials } from './index.js';
import { hasCredentials } from './url-credentials.js';
import { failure } from '../../../test/helpers/engine-error.js';

const text = (label: string) =>
  Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="240" height="80"><rect width="240" height="80" fill="white"/><text x="8" y="50" font-size="30">${label}</text></svg>`);
let png: Buffer;
let jpeg: Buffer;

beforeAll(async () => {
  png = await sharp(text('SALE 50%')).png().toBuffer();
  jpeg = await sharp(text('SALE 50%')).jpeg().toBuffer();
});

describe('prepareImage refuses truncated images that need no resize', () => {
  it('PNG and JPEG cut at half, 90 % and one byte short fail as permanent "cannot decode"', async () => {
    for (const [name, whole] of [['png', png], ['jpeg', jpeg]] as const) {
      // A PNG's last 12 bytes are its end chunk, not pixels: cut into the pixel data (see the next test).
      for (const length of [Math.floor(whole.length / 2), Math.floor(whole.length * 0.9), whole.length - 20]) {
        const error = await failure(prepareImage(whole.subarray(0, length), { maxSide: 2048 }));
        expect([name, length, error.kind]).toEqual([name, length, 'permanent']);
        expect(error.message).toMatch(/^cannot decode image/);
      }
    }
  });

  it('still hands whole images over untouched, trailing bytes after the image included', async () => {
    expect((await prepareImage(png, { maxSide: 2048 })).bytes).toBe(png);
    expect((await prepareImage(jpeg)).bytes).toBe(jpeg);
    const polyglot = Buffer.concat([png, Buffer.from('<html><body>hi</body></html>')]);
    expect(await prepareImage(polyglot)).toMatchObject({ bytes: polyglot, mime: 'image/png', width: 240, height: 80 });
  });

  it('re-encodes a PNG whose pixels are complete but whose end chunk is cut off', async () => {
    const withoutEnd = png.subarray(0, png.length - 13);
    const prepared = await prepareImage(withoutEnd, { maxSide: 2048 });
    expect(prepared).toMatchObject({ mime: 'image/png', width: 240, height: 80 });
    expect(prepared.bytes).not.toBe(withoutEnd);
    expect(Buffer.from(prepared.bytes).subarray(-8).toString('latin1')).toBe(Buffer.from([0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]).toString('latin1'));
    const [before, after] = await Promise.all([sharp(png).raw().toBuffer(), sharp(prepared.bytes).raw().toBuffer()]);
    expect(after.equals(before)).toBe(true);
  });

  it('checks images above 16 megapixels too (the streaming decode)', async () => {
    const big = await sharp({ create: { width: 4200, height: 4000, channels: 3, background: '#336699' } }).png({ compressionLevel: 1 }).toBuffer();
    expect((await prepareImage(big)).bytes).toBe(big);
    const error = await failure(prepareImage(big.subarray(0, Math.floor(big.length * 0.8))));
    expect(error.message).toMatch(/^cannot decode image/);
  });
});

describe('URLs with credentials', () => {
  const requests: string[] = [];
  let base: string;
  const server = createServer((req, res) => {
    requests.push(`${req.url} ${req.headers.authorization ?? ''}`);
    if (req.url === '/to-credentials') {
      res.writeHead(302, { location: `http://user:hunter2@${req.headers.host}/a.png` });
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'image/png' });
    res.end(png);
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('are refused before any request, permanently, without the password in the message', async () => {
    const fetcher = createImageFetcher({ retries: 0 });
    try {
      for (const url of [`http://user:hunter2@${base}/a.png`, `http://hunter2@${base}/a.png`]) {
        const error = await failure(fetcher.fetchImage(url));
        expect(error.kind).toBe('permanent');
        expect(error.message).toMatch(/contains credentials/);
        expect(error.message).toContain(`http://${base}/a.png`);
        expect(error.message).not.toContain('hunter2');
      }
      expect(requests).toEqual([]);
      expect((await fetcher.fetchImage(`http://${base}/a.png`)).mime).toBe('image/png');
    } finally {
      await fetcher.close();
    }
  });

  it('are refused as redirect targets', async () => {
    const fetcher = createImageFetcher({ retries: 0 });
    try {
      requests.length = 0;
      const error = await failure(fetcher.fetchImage(`http://${base}/to-credentials`));
      expect([error.kind, error.message.includes('hunter2')]).toEqual(['permanent', false]);
      expect(error.message).toMatch(/contains credentials/);
      expect(requests).toEqual(['/to-credentials ']);
    } finally {
      await fetcher.close();
    }
  });

  it('hasCredentials and redactCredentials', () => {
    expect(hasCredentials(new URL('https://a:b@x.test/'))).toBe(true);
    expect(hasCredentials(new URL('https://a@x.test/'))).toBe(true);
    expect(hasCredentials(new URL('https://@x.test/'))).toBe(false);
    expect(hasCredentials(new URL('https://x.test/a@b.png'))).toBe(false);
    expect(redactCredentials('c1,https://me:p@ss@x.test/a.png?u=a@b,"x@y"')).toBe('c1,https://***@x.test/a.png?u=a@b,"x@y"');
    expect(redactCredentials('see HTTP://tok@x.test and http:\\\\u:p@y.test\\a')).toBe('see HTTP://***@x.test and http:\\\\***@y.test\\a');
    expect(redactCredentials('mailto:a@b.test https://x.test/a@b')).toBe('mailto:a@b.test https://x.test/a@b');
    expect(redactCredentials('http://us\ter:pw@x.test/')).toBe('http://***@x.test/');
  });

  it('redactCredentials is linear on a 16 MB line (no regular-expression backtracking)', () => {
    const giant = `javascript:${'x'.repeat(16 * 1024 * 1024)}`;
    const manySchemes = 'a://b'.repeat(1_000_000);
    expect(redactCredentials(giant)).toBe(giant);
    expect(redactCredentials(manySchemes)).toBe(manySchemes);
    expect(redactCredentials(`${manySchemes}@x`).endsWith('a://***@x')).toBe(true);
    // Linear: well under a second; the backtracking version did not finish in 10 minutes, far past the test's timeout.
  });
});
