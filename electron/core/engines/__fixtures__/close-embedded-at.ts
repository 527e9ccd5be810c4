/**
 * Child process for embedded.test.ts: for each delay in argv (ms), starts the real embedded
 * engine (onnxruntime in a worker thread), asks for a recognition, and closes the engine
 * after that delay — during the import of onnxruntime, the model load or the inference.
 * Closing at the wrong moment used to abort the whole process (Napi::Error, exit 134).
 */
import sharp from 'sharp';
import { createEmbeddedEngine } from '../embedded.js';

const delays = process.argv.slice(2).map(Number);
const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="90"><rect width="100%" height="100%" fill="#fff"/><text x="10" y="60" font-size="40" font-family="DejaVu Sans">CLOSE ME</text></svg>';
const bytes = await sharp(Buffer.from(svg)).png().toBuffer();

for (const delay of delays) {
  const engine = createEmbeddedEngine({ id: 'embedded', engine: 'embedded', workers: 2, enabled: true });
  const pending = engine.recognize({ bytes, mime: 'image/png', width: 320, height: 90 }, new AbortController().signal).then(
    () => 'done',
    (error: { kind?: string }) => error.kind ?? 'error',
  );
  await new Promise((resolve) => setTimeout(resolve, delay));
  await engine.close?.();
  console.log(`closed after ${delay} ms: ${await pending}`);
}
