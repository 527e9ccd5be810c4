/**
 * A local image host for API tests and the API benchmark: `/ad-<n>.png` is a small PNG
 * that differs per n (so no two ads share a hash), `/text.png` an ad with known text.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

export const KNOWN_TEXT = 'SUMMER SALE\n50% OFF today';

export async function renderTextAd(lines: Array<{ text: string; y: number; size: number }> = [{ text: 'SUMMER SALE', y: 55, size: 34 }, { text: '50% OFF today', y: 120, size: 30 }], width = 420, height = 160): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/>${lines
    .map((line) => `<text x="20" y="${line.y}" font-family="DejaVu Sans, sans-serif" font-size="${line.size}" fill="#111">${line.text}</text>`)
    .join('')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

export function solidAd(n: number): Promise<Buffer> {
  return sharp({ create: { width: 48, height: 32, channels: 3, background: { r: n % 256, g: Math.floor(n / 256) % 256, b: Math.floor(n / 65536) % 256 } } })
    .png()
    .toBuffer();
}

export interface AdImageServer {
  url(n: number): string;
  textUrl: string;
  requests: number;
  close(): Promise<void>;
}

export async function startAdImageServer(): Promise<AdImageServer> {
  const cache = new Map<number, Buffer>();
  const text = await renderTextAd();
  const state = { requests: 0 };
  const server = http.createServer((request, response) => {
    state.requests++;
    const match = /^\/ad-(\d+)\.png$/.exec(request.url ?? '');
    if (request.url === '/text.png') return void response.writeHead(200, { 'Content-Type': 'image/png' }).end(text);
    if (!match) return void response.writeHead(404).end();
    const n = Number(match[1]);
    const cached = cache.get(n);
    if (cached) return void response.writeHead(200, { 'Content-Type': 'image/png' }).end(cached);
    void solidAd(n).then((png) => {
      if (cache.size < 5000) cache.set(n, png);
      response.writeHead(200, { 'Content-Type': 'image/png' }).end(png);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (n) => `${base}/ad-${n}.png`,
    textUrl: `${base}/text.png`,
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
