import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWebSocketTransport } from './websocket.js';

/** A WebSocket whose connections never open: each closes at once, as a refused upgrade or a server that is down. */
class ClosingSocket extends EventTarget {
  static created = 0;
  constructor(public url: string) {
    super();
    ClosingSocket.created++;
    setTimeout(() => this.dispatchEvent(Object.assign(new Event('close'), { code: 1006 })), 0);
  }
  send(): void {}
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
  ClosingSocket.created = 0;
});

describe('createWebSocketTransport', () => {
  it('stops reconnecting and says so when the server turns this page away (a restarted server, a new token)', async () => {
    vi.stubGlobal('WebSocket', ClosingSocket);
    const fetchPage = vi.fn(async (_url: URL | string, _init?: RequestInit) => new Response('Refused', { status: 403 }));
    vi.stubGlobal('fetch', fetchPage);
    const transport = createWebSocketTransport('ws://127.0.0.1:5000/api?token=old');
    const events: [string, unknown][] = [];
    transport.subscribe((event, payload) => events.push([event, payload]));
    await expect(transport.invoke('services.list', {})).rejects.toThrow('wrong or missing token');
    await vi.waitFor(() => expect(events).toHaveLength(1));
    expect(events[0]).toEqual(['app.notice', { message: expect.stringMatching(/open the link printed by `parallel-vision serve` again/) }]);
    expect(String(fetchPage.mock.calls[0]?.[0])).toBe('http://127.0.0.1:5000/');
    const attempts = ClosingSocket.created;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(ClosingSocket.created).toBe(attempts);
  });

  it('keeps reconnecting while the server is down (the page is not refused)', async () => {
    vi.stubGlobal('WebSocket', ClosingSocket);
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    const transport = createWebSocketTransport('ws://127.0.0.1:5000/api?token=t');
    transport.subscribe(() => undefined);
    await expect(transport.invoke('services.list', {})).rejects.toThrow('connection to Parallel Vision closed');
    await vi.waitFor(() => expect(ClosingSocket.created).toBeGreaterThanOrEqual(3), { timeout: 4000 });
  });
});
