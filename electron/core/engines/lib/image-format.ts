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

/** Width and height in pixels (from the image's header when core did not pass them). */
export async function imageSize(image: EngineImage): Promise<{ width: number; height: number }> {
  if (image.width && image.height) return { width: image.width, height: image.height };
  try {
    const meta = await sharp(image.bytes, { pages: 1 }).metadata();
    if (meta.width && meta.height) {
      // EXIF orientations 5-8 swap the axes the model saw.
      const swapped = (meta.orientation ?? 1) >= 5;
      return swapped ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
    }
  } catch (error) {
    throw new EngineError('permanent', `cannot read the image size (${image.mime}): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  throw new EngineError('permanent', `cannot read the image size (${image.mime})`);
}
