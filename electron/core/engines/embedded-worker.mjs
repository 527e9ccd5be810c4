/**
 * Worker thread of the embedded OCR pool: loads the PaddleOCR models named in workerData
 * (`detector`, `recognizer`, `classifier`: see embedded-ocr-runner.mjs) once, then answers
 * `{ id, bytes, options }` messages with the raw recognition output of one image.
 * Protocol (see embedded.ts): first `{ type: 'ready', dictionaryText, model }` or
 * `{ type: 'init-error', message }`, then per job `{ type: 'result', id, result }` or
 * `{ type: 'error', id, message, decode }` (`decode`: the image itself is unreadable).
 */
import { parentPort, workerData } from 'node:worker_threads';

const port = parentPort;
if (!port) throw new Error('embedded-worker.mjs must run in a worker thread');

let runner;
try {
  const { createOcrRunner } = await import('./embedded-ocr-runner.mjs');
  runner = await createOcrRunner({ threads: workerData?.threads ?? 1, detector: workerData?.detector, recognizer: workerData?.recognizer, classifier: workerData?.classifier, resourcesPath: workerData?.resourcesPath });
  port.postMessage({ type: 'ready', dictionaryText: runner.dictionaryText, model: runner.model });
} catch (error) {
  port.postMessage({ type: 'init-error', message: String(error?.stack ?? error) });
}

if (runner) {
  // One message at a time: a `close` waits for the image in progress, because releasing
  // an onnxruntime session while it runs aborts the whole process.
  let queue = Promise.resolve();
  port.on('message', (message) => {
    queue = queue.then(() => handle(message));
  });
}

async function handle(message) {
  if (message?.type === 'close') {
    await runner.close();
    // Ends this worker thread only (not the process); the pool waits for its exit.
    process.exit(0);
  }
  const { id, bytes, options } = message;
  try {
    const result = await runner.recognize(bytes, options);
    const transfer = result.lines.flatMap((line) => [line.indices.buffer, line.probs.buffer, line.ink.buffer]);
    port.postMessage({ type: 'result', id, result }, transfer);
  } catch (error) {
    const text = String(error?.message ?? error);
    const decode = /unsupported image format|Input buffer|corrupt|VipsJpeg|pngload|gifload|cannot read the image/i.test(text);
    port.postMessage({ type: 'error', id, message: text, decode });
  }
}
