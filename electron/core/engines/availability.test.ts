import { describe, expect, it } from 'vitest';
import { EngineInfo } from '../../../shared/api.js';
import { ENGINE_KINDS } from '../../../shared/domain.js';
import type { AppleVisionModuleState } from './apple-vision.js';
import { safeMaximum } from './concurrency.js';
import { defaultEmbeddedEngine, formatEngineAvailability, listEngineAvailability, probeAvailability, type AvailabilityProbes } from './availability.js';
import type { EngineAvailability } from './types.js';

const intelMacReason = "The Vision OCR module (@napi-rs/system-ocr) could not load on this Mac (x64): Cannot find module '@napi-rs/system-ocr-darwin-x64'";

function probes(apple: AppleVisionModuleState, paddle: EngineAvailability = { type: 'available' }): AvailabilityProbes {
  return { appleVision: () => Promise.resolve(apple), paddle: () => Promise.resolve(paddle) };
}
const appleLoads: AppleVisionModuleState = { type: 'available', module: { recognize: () => Promise.resolve({ text: '', confidence: 0 }) } };

describe('defaultEmbeddedEngine', () => {
  it('is Apple Vision on a Mac that loads it, PaddleOCR otherwise', () => {
    expect(defaultEmbeddedEngine('darwin', { type: 'available' })).toBe('apple-vision');
    expect(defaultEmbeddedEngine('darwin', { type: 'unavailable', reason: intelMacReason })).toBe('embedded');
    expect(defaultEmbeddedEngine('linux', { type: 'available' })).toBe('embedded');
    expect(defaultEmbeddedEngine('win32', { type: 'available' })).toBe('embedded');
  });
});

describe('listEngineAvailability', () => {
  it('lists every engine kind once, in the domain order', async () => {
    const entries = await listEngineAvailability('linux', probes({ type: 'unavailable', reason: 'needs macOS' }));
    expect(entries.map((entry) => entry.engine)).toEqual([...ENGINE_KINDS]);
    expect(entries.filter((entry) => entry.inProcess).map((entry) => entry.engine).sort()).toEqual(['apple-vision', 'embedded']);
  });

  it('on a Mac makes Apple Vision the default and keeps PaddleOCR available beside it', async () => {
    const entries = await listEngineAvailability('darwin', probes(appleLoads));
    const apple = entries.find((entry) => entry.engine === 'apple-vision');
    const paddle = entries.find((entry) => entry.engine === 'embedded');
    expect(apple).toMatchObject({ availability: { type: 'available' }, isDefault: true });
    expect(paddle).toMatchObject({ availability: { type: 'available' }, isDefault: false });
    expect(entries.filter((entry) => entry.isDefault)).toHaveLength(1);
  });

  it('on a Mac where the module does not load, falls back to PaddleOCR and keeps the reason', async () => {
    const entries = await listEngineAvailability('darwin', probes({ type: 'unavailable', reason: intelMacReason }));
    expect(entries.find((entry) => entry.engine === 'apple-vision')).toMatchObject({ availability: { type: 'unavailable', reason: intelMacReason }, isDefault: false });
    expect(entries.find((entry) => entry.isDefault)?.engine).toBe('embedded');
  });

  it('reports PaddleOCR unavailable with its reason when its runtime does not load', async () => {
    const entries = await listEngineAvailability('darwin', probes(appleLoads, { type: 'unavailable', reason: 'onnxruntime missing' }));
    expect(entries.find((entry) => entry.engine === 'embedded')?.availability).toEqual({ type: 'unavailable', reason: 'onnxruntime missing' });
  });

  it.skipIf(process.platform === 'darwin')('on this machine: Apple Vision unavailable with a reason, PaddleOCR available and the default', async () => {
    const entries = await listEngineAvailability();
    const apple = entries.find((entry) => entry.engine === 'apple-vision');
    expect(apple?.availability).toEqual({ type: 'unavailable', reason: expect.stringContaining('needs macOS') });
    expect(entries.find((entry) => entry.engine === 'embedded')).toMatchObject({ availability: { type: 'available' }, isDefault: true });
    const table = formatEngineAvailability(entries);
    expect(table).toMatch(/apple-vision\s+unavailable\s+Apple Vision \(in-process, workers: \d\) — Apple Vision needs macOS/);
  });
});

describe('EngineInfo.defaultWorkers', () => {
  it('fills EngineInfo.defaultWorkers, valid against the contract', async () => {
    const entries = await listEngineAvailability('linux', probes({ type: 'unavailable', reason: 'needs macOS' }));
    for (const entry of entries) expect(EngineInfo.parse(entry)).toMatchObject({ engine: entry.engine, defaultWorkers: safeMaximum({ engine: entry.engine }) });
  });
});

describe('probeAvailability', () => {
  it('is available when the load succeeds and unavailable with the described first line when it throws', async () => {
    expect(await probeAvailability(() => Promise.resolve(1), (message) => message)).toEqual({ type: 'available' });
    const state = await probeAvailability(
      () => Promise.reject(new Error('libonnxruntime.so: cannot open\nstack…')),
      (message) => `PaddleOCR could not load: ${message}`,
    );
    expect(state).toEqual({ type: 'unavailable', reason: 'PaddleOCR could not load: libonnxruntime.so: cannot open' });
  });
});

describe('formatEngineAvailability', () => {
  it('prints one line per engine with its status, the default mark and the reason', async () => {
    const entries = await listEngineAvailability('darwin', { ...probes({ type: 'unavailable', reason: intelMacReason }), defaultWorkers: () => 3 });
    const lines = formatEngineAvailability(entries).split('\n');
    expect(lines).toHaveLength(ENGINE_KINDS.length + 1);
    expect(lines.find((line) => line.startsWith('apple-vision'))).toContain(`unavailable  Apple Vision (in-process, workers: 3) — ${intelMacReason}`);
    expect(lines.find((line) => line.startsWith('embedded'))).toMatch(/available\s+PaddleOCR \(embedded\) \(in-process, default, workers: 3\)$/);
    expect(lines.find((line) => line.startsWith('ollama'))).toMatch(/available\s+Ollama \(server, workers: 3\)$/);
  });
});
