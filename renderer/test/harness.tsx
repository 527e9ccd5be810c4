/**
 * A test page: the real App against the in-memory FakeVisionApi, for screenshots and
 * timing in Chromium before (or without) the real backend. Served by Vite's dev server
 * from test scripts only; the product build never includes it.
 */
import '../styles.css';
import { mountApp } from '../app/mount.js';
import { FakeVisionApi } from './fake-api.js';

const params = new URLSearchParams(window.location.search);
const delay = Number(params.get('delay') ?? '40');
const api = new FakeVisionApi({
  engines: [
    { engine: 'embedded', label: 'Embedded OCR', delayMs: delay, workers: 4, isDefault: true },
    { engine: 'ollama', label: 'Ollama · llava', delayMs: delay * 8, workers: 2, failEvery: 25 },
    { engine: 'deepseek', label: 'DeepSeek-OCR', delayMs: delay, workers: 2, available: false },
  ],
  tickMs: 100,
});
const finished = Number(params.get('finished') ?? '0');
if (finished > 0) api.addFinishedRun(finished);
(window as unknown as { fakeApi: FakeVisionApi }).fakeApi = api;

mountApp(api);
