/**
 * A small BMP decoder: libvips (sharp) reads no BMP, but ad lists contain them.
 * Handles the common uncompressed forms (1/4/8-bit palette, 24-bit, 32-bit) and
 * returns RGBA pixels for sharp's raw input.
 */
export interface DecodedBitmap {
  width: number;
  height: number;
  rgba: Uint8Array;
}

const BI_RGB = 0;
const BI_BITFIELDS = 3;

export function decodeBmp(bytes: Uint8Array, maxPixels: number): DecodedBitmap {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 54) throw new Error('truncated BMP header');
  const pixelOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  const width = view.getInt32(18, true);
  const rawHeight = view.getInt32(22, true);
  const bitsPerPixel = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  const height = Math.abs(rawHeight);
  const bottomUp = rawHeight > 0;
  if (width <= 0 || height <= 0) throw new Error('BMP has no pixels');
  if (width * height > maxPixels) throw new Error(`BMP of ${width}×${height} exceeds the pixel limit`);
  if (compression !== BI_RGB && !(compression === BI_BITFIELDS && bitsPerPixel === 32)) {
    throw new Error(`compressed BMP (method ${compression}) is not supported`);
  }
  if (![1, 4, 8, 24, 32].includes(bitsPerPixel)) throw new Error(`${bitsPerPixel}-bit BMP is not supported`);

  const paletteStart = 14 + headerSize;
  const rowSize = Math.ceil((width * bitsPerPixel) / 32) * 4;
  if (pixelOffset + rowSize * height > bytes.length) throw new Error('truncated BMP pixel data');
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const row = pixelOffset + rowSize * (bottomUp ? height - 1 - y : y);
    for (let x = 0; x < width; x++) {
      const out = (y * width + x) * 4;
      let b: number, g: number, r: number, a = 255;
      if (bitsPerPixel >= 24) {
        const at = row + x * (bitsPerPixel / 8);
        b = bytes[at]!;
        g = bytes[at + 1]!;
        r = bytes[at + 2]!;
        // Most 32-bit BMPs leave the fourth byte at 0 without meaning transparency.
        if (bitsPerPixel === 32 && compression === BI_BITFIELDS) a = bytes[at + 3]!;
      } else {
        const perByte = 8 / bitsPerPixel;
        const byte = bytes[row + Math.floor(x / perByte)]!;
        const shift = 8 - bitsPerPixel * ((x % perByte) + 1);
        const index = (byte >> shift) & ((1 << bitsPerPixel) - 1);
        const entry = paletteStart + index * 4;
        b = bytes[entry] ?? 0;
        g = bytes[entry + 1] ?? 0;
        r = bytes[entry + 2] ?? 0;
      }
      rgba[out] = r;
      rgba[out + 1] = g;
      rgba[out + 2] = b;
      rgba[out + 3] = a;
    }
  }
  return { width, height, rgba };
}

/** A 24-bit bottom-up BMP of the given RGB pixels (for tests and fixtures). */
export function encodeBmp24(width: number, height: number, rgb: Uint8Array): Uint8Array {
  const rowSize = Math.ceil((width * 24) / 32) * 4;
  const bytes = new Uint8Array(54 + rowSize * height);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x42;
  bytes[1] = 0x4d;
  view.setUint32(2, bytes.length, true);
  view.setUint32(10, 54, true);
  view.setUint32(14, 40, true);
  view.setInt32(18, width, true);
  view.setInt32(22, height, true);
  view.setUint16(26, 1, true);
  view.setUint16(28, 24, true);
  for (let y = 0; y < height; y++) {
    const row = 54 + rowSize * (height - 1 - y);
    for (let x = 0; x < width; x++) {
      const from = (y * width + x) * 3;
      bytes[row + x * 3] = rgb[from + 2]!;
      bytes[row + x * 3 + 1] = rgb[from + 1]!;
      bytes[row + x * 3 + 2] = rgb[from]!;
    }
  }
  return bytes;
}
