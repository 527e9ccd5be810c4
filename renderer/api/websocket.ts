/** Browser mode: the VisionApi over one WebSocket, reconnecting if the server restarts. */
import { WsServerFrame, type CommandName } from '../../shared/api.js';
import type { VisionTransport } from '../../shared/client.js';

const REFUSED = 'the server refused this page (wrong or missing token)';

/**
 * Whether the server turns this page away: a refused upgrade reaches the page as a plain
 * close (1006), like a server that is down, so the page itself is asked for (with the tab's
 * cookie). 403: the token this tab holds is not the server's (it was restarted with a new one).
 */
async function pageRefused(url: string): Promise<boolean> {
  try {
    const page = new URL('/', url);
    page.protocol = page.protocol === 'wss:' ? 'https:' : 'http:';
    return (await fetch(page, { method: 'HEAD', credentials: 'same-origin', cache: 'no-store' })).status === 403;
  } catch {
    return false;
  }
}

export function createWebSocketTransport(url: string): VisionTransport {
  let socket: WebSocket | null = null;
  let refused = false;
  let opened: Promise<WebSocket> | null = null;
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const listeners = new Set<(event: string, payload: unknown) => void>();

  const connect = (): Promise<WebSocket> => {
    if (refused) return Promise.reject(new Error(REFUSED));
    if (opened) return opened;
    opened = new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      let wasOpen = false;
      ws.addEventListener('open', () => {
        wasOpen = true;
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
        void (async () => {
          refused = event.code === 1008 || (!wasOpen && (await pageRefused(url)));
          const reason = refused ? REFUSED : 'the connection to Parallel Vision closed';
          for (const { reject: rejectPending } of pending.values()) rejectPending(new Error(reason));
          pending.clear();
          socket = null;
          opened = null;
          reject(new Error(reason));
          if (refused) {
            // Said once, where the app shows its notices: nothing this tab does can work any more.
            for (const listener of listeners) listener('app.notice', { message: 'This tab can no longer reach Parallel Vision (it was restarted, with a new link): open the link printed by `parallel-vision serve` again.' });
            return;
          }
          // Keep events flowing after a server restart.
          if (listeners.size) setTimeout(() => void connect().catch(() => undefined), 1000);
        })();
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
