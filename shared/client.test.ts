import { describe, expect, it, vi } from 'vitest';
import { createVisionApi, VisionApiError, type VisionTransport } from './client.js';
import type { ServiceInfo } from './domain.js';

const service: ServiceInfo = {
  name: 'ollama', label: 'Ollama', engine: 'ollama', state: { type: 'stopped' }, port: 11434, rssMb: null, managed: true, changedAt: 1,
};

function transport(reply: unknown) {
  let emit: (event: string, payload: unknown) => void = () => undefined;
  const t: VisionTransport = {
    invoke: vi.fn(async () => reply),
    subscribe: (listener) => ((emit = listener), () => undefined),
  };
  return { t, emit: (event: string, payload: unknown) => emit(event, payload) };
}

describe('renderer client', () => {
  it('returns a validated reply', async () => {
    const { t } = transport({ ok: true, value: [service] });
    await expect(createVisionApi(t).invoke('services.list', {})).resolves.toEqual([service]);
  });

  it('turns an error reply into a VisionApiError with the issues', async () => {
    const { t } = transport({ ok: false, error: { code: 'invalid-request', message: 'Invalid request for runs.start: lanes: required', issues: ['lanes: required'] } });
    const error = await createVisionApi(t).invoke('services.list', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VisionApiError);
    expect((error as VisionApiError).issues).toEqual(['lanes: required']);
  });

  it('refuses a reply that does not match the contract', async () => {
    const { t } = transport({ ok: true, value: [{ name: 'ollama' }] });
    await expect(createVisionApi(t).invoke('services.list', {})).rejects.toThrow(/Malformed reply to services.list/);
  });

  it('delivers valid events and drops malformed ones', () => {
    const { t, emit } = transport(null);
    const warnings: string[] = [];
    const api = createVisionApi(t, (m) => warnings.push(m));
    const seen: ServiceInfo[] = [];
    const off = api.on('service.state', (s) => seen.push(s));
    emit('service.state', service);
    emit('service.state', { ...service, state: { type: 'ready' } });
    emit('no.such.event', {});
    off();
    emit('service.state', service);
    expect(seen).toEqual([service]);
    expect(warnings).toHaveLength(2);
  });
});
