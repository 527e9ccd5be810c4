/**
 * A run's image loader: fetches and prepares an ad's image for an engine call, and downloads
 * the images of the ads next in line (the orchestrator's `onUpcoming`) while the engines work,
 * so an engine slot waits on the network only when the downloads fall behind. At most
 * `lookAhead` images are downloading or waiting to be taken at any time, which bounds the
 * memory they hold; an ad whose download failed gets that failure (the fetcher's retries
 * already ran), and its retry downloads afresh.
 */
import type { Ad } from '../../../shared/domain.js';
import { EngineError, type EngineImage } from '../engines/types.js';
import type { FetchedImage, ImageFetcher } from './index.js';
import { prepareImage } from './prepare.js';

export interface ImageLoader {
  loadImage(ad: Ad, signal: AbortSignal): Promise<EngineImage>;
  /**
   * The ads next in line, all of them: their images are downloaded (up to lookAhead), and what is
   * held for ads no longer among them is dropped (taken by a retry, left to a lane that stopped).
   */
  prefetch(ads: readonly Ad[]): void;
  /** Images downloading or downloaded and not taken yet. */
  readonly held: number;
  /** Stop the downloads in progress and drop what is held. */
  close(): void;
}

export interface ImageLoaderOptions {
  fetcher: ImageFetcher;
  /** Longest side an image is scaled down to for the engines. */
  maxSide: number;
  /**
   * Images held at most (0: none; default 64). What is held is also bounded by what is announced:
   * the orchestrator names as many ads as its working lanes have workers, now (a change of workers
   * mid-run counts at once).
   */
  lookAhead?: number;
}

const DEFAULT_LOOK_AHEAD = 64;

interface Prefetch {
  result: Promise<FetchedImage>;
  controller: AbortController;
}

function abortedError(): EngineError {
  return new EngineError('aborted', 'image download aborted');
}

/** `promise`, or a rejection as soon as `signal` aborts (the promise itself goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortedError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

export function createImageLoader(options: ImageLoaderOptions): ImageLoader {
  const { fetcher, maxSide } = options;
  const lookAhead = options.lookAhead ?? DEFAULT_LOOK_AHEAD;
  /** By image URL: ads sharing an image share its download. */
  const held = new Map<string, Prefetch>();
  let closed = false;

  return {
    async loadImage(ad, signal) {
      const ahead = held.get(ad.imageUrl);
      let fetched: FetchedImage;
      if (ahead) {
        held.delete(ad.imageUrl);
        // The download is this call's now: a call given up gives it up too.
        const stop = () => ahead.controller.abort();
        signal.addEventListener('abort', stop, { once: true });
        try {
          fetched = await untilAborted(ahead.result, signal);
        } finally {
          signal.removeEventListener('abort', stop);
        }
      } else {
        fetched = await fetcher.fetchImage(ad.imageUrl, signal);
      }
      return prepareImage(fetched.bytes, { maxSide });
    },
    prefetch(ads) {
      const wanted = new Set(ads.map((ad) => ad.imageUrl));
      for (const [url, ahead] of held) {
        if (wanted.has(url)) continue;
        ahead.controller.abort();
        held.delete(url);
      }
      for (const ad of ads) {
        if (closed || held.size >= lookAhead) return;
        if (held.has(ad.imageUrl)) continue;
        const controller = new AbortController();
        const result = fetcher.fetchImage(ad.imageUrl, controller.signal);
        // Kept for loadImage to report; unhandled until then.
        result.catch(() => undefined);
        held.set(ad.imageUrl, { result, controller });
      }
    },
    get held() {
      return held.size;
    },
    close() {
      closed = true;
      for (const { controller } of held.values()) controller.abort();
      held.clear();
    },
  };
}
