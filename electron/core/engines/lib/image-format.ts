/**
 * Vision servers accept only some image formats (Ollama: PNG and JPEG). Anything else
 * (GIF, WebP, BMP, TIFF…) is re-encoded as PNG, first frame only, before sending.
 */
import sharp from 'sharp';
import type { EngineImage } from '../types.js';
import { EngineError } from '../types.js';

export async function toAcceptedFormat(image: EngineImage, accepted: readonly string[]): Promise<{ bytes: Uint8Array; mime: string }> {
  if (accepted.includes(image.mime)) return { bytes: image.bytes, mime: image.mime };
  try {
    const png = await sharp(image.bytes, { pages: 1 }).png().toBuffer();
    return { bytes: png, mime: 'image/png' };
  } catch (error) {
    throw new EngineError('permanent', `cannot decode the image (${image.mime}): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
