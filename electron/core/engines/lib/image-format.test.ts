import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { toAcceptedFormat } from './image-format.js';

describe('toAcceptedFormat', () => {
  it('passes accepted formats through untouched', async () => {
    const bytes = new Uint8Array([1, 2, 3]);
    expect(await toAcceptedFormat({ bytes, mime: 'image/png' }, ['image/png'])).toEqual({ bytes, mime: 'image/png' });
  });
  it('re-encodes other formats as PNG of the same size', async () => {
    const gif = await sharp({ create: { width: 7, height: 5, channels: 3, background: '#f00' } }).gif().toBuffer();
    const out = await toAcceptedFormat({ bytes: gif, mime: 'image/gif' }, ['image/png', 'image/jpeg']);
    expect(out.mime).toBe('image/png');
    expect(await sharp(out.bytes).metadata()).toMatchObject({ format: 'png', width: 7, height: 5 });
  });
  it('reports undecodable bytes as a permanent error', async () => {
    await expect(toAcceptedFormat({ bytes: new Uint8Array([0, 1, 2]), mime: 'image/gif' }, ['image/png'])).rejects.toMatchObject({ kind: 'permanent' });
  });
});
