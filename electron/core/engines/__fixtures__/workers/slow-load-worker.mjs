/**
 * A stand-in for embedded-worker.mjs with the same protocol and the same order of events
 * (load first, then listen; one message at a time; `close` exits between jobs), whose
 * model load takes `workerData.loadMs` (or FIXTURE_LOAD_MS from the environment, for
 * engines that pass their own worker data) and each job `workerData.jobMs`. Results have the
 * embedded worker's shape with no lines.
 */
import { parentPort, workerData } from 'node:worker_threads';

const port = parentPort;
const loadMs = workerData?.loadMs ?? Number(process.env.FIXTURE_LOAD_MS ?? 0);
const jobMs = workerData?.jobMs ?? 0;
await new Promise((resolve) => setTimeout(resolve, loadMs));
port.postMessage({ type: 'ready', dictionaryText: 'a\nb' });

let queue = Promise.resolve();
port.on('message', (message) => {
  queue = queue.then(() => handle(message));
});

async function handle(message) {
  if (message?.type === 'close') process.exit(0);
  await new Promise((resolve) => setTimeout(resolve, jobMs));
  port.postMessage({ type: 'result', id: message.id, result: { width: 1, height: 1, lines: [], timings: { bytes: message.bytes.length } } });
}
