/**
 * Decode, orient and resize an image for an engine. sharp decodes with a pixel limit
 * (a 1 KB PNG can claim 100 000 × 100 000 pixels), applies the EXIF orientation and
 * shrinks to the engine's longest side. Images that need nothing keep their bytes — but
 * only after every pixel decoded: a PNG or JPEG cut short has a perfect header, and the
 * engine would get broken bytes. (Fetching only reads the header; every image that reaches
 * an engine goes through here.)
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { EngineError, type EngineImage } from '../engines/types.js';
import { decodeBmp } from './bmp.js';
import { describeNonImage, sniffImageMime } from './image-type.js';

export const DEFAULT_MAX_PIXELS = 100_000_000;
/**
 * Above this many pixels the decode check streams through libvips' statistics instead of
 * decoding into a buffer (one byte per pixel), so memory stays flat; below it the buffer
 * is faster. Ads resized for an engine (longest side ≤ 2048) are always below.
 */
const BUFFERED_DECODE_MAX_PIXELS = 16_000_000;
/**
 * Digests of images that decoded completely, newest last, so the same bytes prepared
 * again (a retry on another lane, a backup, the same creative under several URLs) skip
 * the decode: hashing costs microseconds, decoding a photo milliseconds.
 */
const decodedDigests = new Set<string>();
const DECODED_DIGESTS_LIMIT = 4096;

// Every image is decoded once: libvips' operation cache would only hold memory (up to
// 50 MB by default) and open files at 100 000 ads.
sharp.cache(false);

export interface PrepareOptions {
  /** Longest side after resizing; no upscaling. Omit to keep the size. */
  maxSide?: number;
  /** Refuse images with more pixels than this (decompression bombs). */
  maxPixels?: number;
}

export interface ImageSize {
  width: number;
  height: number;
}

function permanent(message: string, cause?: unknown): EngineError {
  return new EngineError('permanent', message, { cause });
}

/** A sharp pipeline for these bytes; BMP goes through our decoder since libvips has none. */
function open(bytes: Uint8Array, mime: string, maxPixels: number): sharp.Sharp {
  if (mime === 'image/bmp') {
    let bitmap;
    try {
      bitmap = decodeBmp(bytes, maxPixels);
    } catch (error) {
      throw permanent(`cannot decode BMP: ${(error as Error).message}`, error);
    }
    return sharp(bitmap.rgba, { raw: { width: bitmap.width, height: bitmap.height, channels: 4 } });
  }
  return sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' });
}

function decodeError(error: unknown): EngineError {
  const message = (error as Error).message ?? String(error);
  if (/pixel limit/i.test(message)) return permanent(`image is too large: ${message}`, error);
  return permanent(`cannot decode image: ${message}`, error);
}

/** Width and height from the header, refusing images above the pixel limit. */
export async function readImageSize(bytes: Uint8Array, maxPixels = DEFAULT_MAX_PIXELS): Promise<ImageSize & { orientation: number }> {
  const mime = sniffImageMime(bytes);
  if (!mime) throw permanent(`not an image (${describeNonImage(bytes)})`);
  if (mime === 'image/bmp') {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const width = view.getInt32(18, true);
    const height = Math.abs(view.getInt32(22, true));
    if (width * height > maxPixels) throw permanent(`image is too large: ${width}×${height} pixels`);
    return { width, height, orientation: 1 };
  }
  let metadata: sharp.Metadata;
  try {
    // Header only: no pixels are decoded here, so the limit is checked below with a clearer message.
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw decodeError(error);
  }
  const { width = 0, height = 0, orientation = 1 } = metadata;
  if (width * height > maxPixels) throw permanent(`image is too large: ${width}×${height} pixels`);
  if (width === 0 || height === 0) throw permanent('image has no pixels');
  // EXIF orientations 5–8 swap width and height.
  return orientation >= 5 ? { width: height, height: width, orientation } : { width, height, orientation };
}

/**
 * Decode every pixel once, failing on a truncated or corrupt image (libvips stops at the
 * header for metadata, and a cut-off image decodes as grey without `failOn`).
 */
async function checkImageDecodes(bytes: Uint8Array, size: ImageSize, maxPixels = DEFAULT_MAX_PIXELS): Promise<void> {
  const digest = createHash('sha256').update(bytes).digest('base64');
  if (decodedDigests.has(digest)) return;
  try {
    const pipeline = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' });
    if (size.width * size.height > BUFFERED_DECODE_MAX_PIXELS) await pipeline.stats();
    else await pipeline.extractChannel(0).raw().toBuffer();
  } catch (error) {
    throw decodeError(error);
  }
  decodedDigests.add(digest);
  if (decodedDigests.size > DECODED_DIGESTS_LIMIT) decodedDigests.delete(decodedDigests.values().next().value!);
}

/** The IEND chunk: empty, so always these 12 bytes (length 0, type, fixed CRC). */
const PNG_END = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

/**
 * Whether a PNG still has its end chunk. libpng decodes a PNG whose last bytes are cut
 * as long as the pixels are complete; stricter decoders (Go's, inside Ollama) refuse it.
 */
function hasPngEnd(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).lastIndexOf(PNG_END) >= 0;
}

export async function prepareImage(bytes: Uint8Array, options: PrepareOptions = {}): Promise<EngineImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const mime = sniffImageMime(bytes);
  if (!mime) throw permanent(`not an image (${describeNonImage(bytes)})`);
  const size = await readImageSize(bytes, maxPixels);
  const needsResize = options.maxSide !== undefined && Math.max(size.width, size.height) > options.maxSide;
  const needsRotate = size.orientation > 1;
  // A PNG without its end is re-encoded (its pixels are complete if it decodes).
  const engineReadable = mime === 'image/jpeg' || (mime === 'image/png' && hasPngEnd(bytes));
  if (!needsResize && !needsRotate && engineReadable) {
    await checkImageDecodes(bytes, size, maxPixels);
    return { bytes, mime, width: size.width, height: size.height };
  }

  try {
    let pipeline = open(bytes, mime, maxPixels).rotate();
    if (needsResize) pipeline = pipeline.resize({ width: options.maxSide, height: options.maxSide, fit: 'inside', withoutEnlargement: true });
    const outputJpeg = mime === 'image/jpeg';
    pipeline = outputJpeg ? pipeline.jpeg({ quality: 90 }) : pipeline.png({ compressionLevel: 6 });
    const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
    return { bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), mime: outputJpeg ? 'image/jpeg' : 'image/png', width: info.width, height: info.height };
  } catch (error) {
    if (error instanceof EngineError) throw error;
    throw decodeError(error);
  }
}
