/** Browser mode: the VisionApi over one WebSocket, reconnecting if the server restarts. */
import { WsServerFrame, type CommandName } from '../../shared/api.js';
import type { VisionTransport } from '../../shared/client.js';

export function createWebSocketTransport(url: string): VisionTransport {
  let socket: WebSocket | null = null;
  let opened: Promise<WebSocket> | null = null;
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const listeners = new Set<(event: string, payload: unknown) => void>();

  const connect = (): Promise<WebSocket> => {
    if (opened) return opened;
    opened = new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.addEventListener('open', () => {
        socket = ws;
        resolve(ws);
      });
      ws.addEventListener('message', (message) => {
        let frame;
        try {
          frame = WsServerFrame.parse(JSON.parse(String(message.data)));
        } catch {
          return;
        }
        if (frame.type === 'reply') {
          pending.get(frame.id)?.resolve(frame.reply);
          pending.delete(frame.id);
        } else {
          for (const listener of listeners) listener(frame.event, frame.payload);
        }
      });
      ws.addEventListener('close', (event) => {
        const reason = event.code === 1008 ? 'the server refused this page (wrong or missing token)' : 'the connection to Parallel Vision closed';
        for (const { reject: rejectPending } of pending.values()) rejectPending(new Error(reason));
        pending.clear();
        socket = null;
        opened = null;
        reject(new Error(reason));
        // Keep events flowing after a server restart, unless we were refused.
        if (event.code !== 1008 && listeners.size) setTimeout(() => void connect().catch(() => undefined), 1000);
      });
    });
    return opened;
  };

  return {
    async invoke(channel: CommandName, payload: unknown): Promise<unknown> {
      const ws = socket ?? (await connect());
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, channel, payload }));
      });
    },
    subscribe(listener) {
      listeners.add(listener);
      void connect().catch(() => undefined);
      return () => listeners.delete(listener);
    },
  };
}
