import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Ad } from '../../../shared/domain.js';
import { EngineError } from '../engines/types.js';
import { failure } from '../../../test/helpers/engine-error.js';
import { createImageLoader } from './image-loader.js';
import type { FetchedImage, ImageFetcher } from './index.js';

let png: Buffer;
beforeAll(async () => {
  png = await sharp({ create: { width: 30, height: 20, channels: 3, background: '#ff0000' } }).png().toBuffer();
});

/** A fetcher whose downloads end when the test says: each request is counted and held until answered. */
function gatedFetcher() {
  const requests: { url: string; signal: AbortSignal | undefined; answer(ok: boolean): void }[] = [];
  const fetcher: ImageFetcher = {
    fetchImage: (url, signal) =>
      new Promise<FetchedImage>((resolve, reject) => {
        signal?.addEventListener('abort', () => reject(new EngineError('aborted', 'image download aborted')), { once: true });
        requests.push({
          url,
          signal,
          answer: (ok) => (ok ? resolve({ bytes: png, mime: 'image/png', hash: url, width: 30, height: 20, fromCache: false }) : reject(new EngineError('permanent', `HTTP 404 from ${url}`))),
        });
      }),
    close: async () => undefined,
  };
  const answer = (url: string, ok = true) => requests.filter((request) => request.url === url).forEach((request) => request.answer(ok));
  return { fetcher, requests, answer, urls: () => requests.map((request) => request.url) };
}

const ad = (n: number): Ad => ({ creativeId: `ad${n}`, imageUrl: `https://cdn.test/${n}.png` });

describe('image loader', () => {
  it('downloads the upcoming ads ahead, at most lookAhead at a time, and hands an engine its image without a second request', async () => {
    const { fetcher, answer, urls } = gatedFetcher();
    const loader = createImageLoader({ fetcher, maxSide: 1024, lookAhead: 2 });
    loader.prefetch([ad(1), ad(2), ad(3)]);
    expect(urls()).toEqual(['https://cdn.test/1.png', 'https://cdn.test/2.png']);
    // Announced again on the next pass: nothing new while two are held.
    loader.prefetch([ad(1), ad(2), ad(3)]);
    expect([urls().length, loader.held]).toEqual([2, 2]);
    answer('https://cdn.test/1.png');
    const image = await loader.loadImage(ad(1), new AbortController().signal);
    expect([image.width, image.height]).toEqual([30, 20]);
    expect(urls()).toHaveLength(2);
    // Its place is free again: the third starts.
    loader.prefetch([ad(2), ad(3)]);
    expect(urls()).toEqual(['https://cdn.test/1.png', 'https://cdn.test/2.png', 'https://cdn.test/3.png']);
    // An ad nobody downloaded ahead is fetched for the call, with the call's signal.
    const direct = loader.loadImage(ad(9), new AbortController().signal);
    answer('https://cdn.test/9.png');
    expect((await direct).width).toBe(30);
    loader.close();
  });

  it('drops what it holds for ads no longer next in line, so it never fills up with images nobody takes', async () => {
    const { fetcher, requests, urls } = gatedFetcher();
    const loader = createImageLoader({ fetcher, maxSide: 1024, lookAhead: 2 });
    loader.prefetch([ad(1), ad(2)]);
    // Ads 1 and 2 were taken elsewhere (a lane that stopped, a retry): the next announcement names others.
    loader.prefetch([ad(3), ad(4)]);
    expect(requests.slice(0, 2).every((request) => request.signal?.aborted)).toBe(true);
    expect(urls().slice(2)).toEqual(['https://cdn.test/3.png', 'https://cdn.test/4.png']);
    expect(loader.held).toBe(2);
    loader.close();
  });

  it("gives an ad its download's failure once; its retry downloads afresh", async () => {
    const { fetcher, answer, urls } = gatedFetcher();
    const loader = createImageLoader({ fetcher, maxSide: 1024, lookAhead: 4 });
    loader.prefetch([ad(1)]);
    answer('https://cdn.test/1.png', false);
    const error = await failure(loader.loadImage(ad(1), new AbortController().signal));
    expect([error.kind, error.message]).toEqual(['permanent', 'HTTP 404 from https://cdn.test/1.png']);
    const retry = loader.loadImage(ad(1), new AbortController().signal);
    expect(urls()).toEqual(['https://cdn.test/1.png', 'https://cdn.test/1.png']);
    answer('https://cdn.test/1.png');
    expect((await retry).width).toBe(30);
  });

  it('a call aborted while its image is still downloading ahead ends at once; close stops the downloads', async () => {
    const { fetcher, requests } = gatedFetcher();
    const loader = createImageLoader({ fetcher, maxSide: 1024, lookAhead: 4 });
    loader.prefetch([ad(1), ad(2)]);
    const controller = new AbortController();
    const waiting = loader.loadImage(ad(1), controller.signal);
    controller.abort();
    expect((await failure(waiting)).kind).toBe('aborted');
    loader.close();
    expect(requests.every((request) => request.signal?.aborted)).toBe(true);
    expect(loader.held).toBe(0);
    loader.prefetch([ad(3)]);
    expect(requests).toHaveLength(2);
  });
});
