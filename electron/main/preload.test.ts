import { beforeEach, describe, expect, it, vi } from 'vitest';
import { COMMAND_NAMES, ipcChannel } from '../../shared/api.js';

const exposed: Record<string, unknown> = {};
const invoke = vi.fn(async (channel: string, payload: unknown) => ({ ok: true, value: { channel, payload } }));
const on = vi.fn();
const removeListener = vi.fn();

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => (exposed[key] = api) },
  ipcRenderer: { invoke, on, removeListener },
}));

interface Bridge {
  invoke(channel: string, payload: unknown): Promise<unknown>;
  subscribe(listener: (event: string, payload: unknown) => void): () => void;
}

describe('preload', () => {
  beforeEach(async () => {
    await import('./preload.js');
  });

  it('exposes exactly one object with invoke and subscribe, nothing of Electron itself', () => {
    expect(Object.keys(exposed)).toEqual(['visionBridge']);
    expect(Object.keys(exposed.visionBridge as object).sort()).toEqual(['invoke', 'subscribe']);
  });

  it('forwards known commands to their IPC channel and refuses unknown ones without touching IPC', async () => {
    const bridge = exposed.visionBridge as Bridge;
    for (const name of COMMAND_NAMES) await bridge.invoke(name, {});
    expect(invoke.mock.calls.map(([channel]) => channel)).toEqual(COMMAND_NAMES.map(ipcChannel));
    invoke.mockClear();
    const refused = (await bridge.invoke('fs.readFile', { path: '/etc/passwd' })) as { ok: boolean };
    expect(refused.ok).toBe(false);
    expect(invoke).not.toHaveBeenCalled();
  });

  it('unsubscribes from the event channel', () => {
    const bridge = exposed.visionBridge as Bridge;
    const off = bridge.subscribe(() => undefined);
    expect(on).toHaveBeenCalledTimes(1);
    off();
    expect(removeListener).toHaveBeenCalledWith(on.mock.calls[0]![0], on.mock.calls[0]![1]);
  });
});
