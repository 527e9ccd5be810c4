/** One HTTP health probe: is something answering, and is it the right kind of server? */
import { get as httpGet } from 'node:http';

export interface HealthProbe {
  /** Something answered HTTP at all. */
  answered: boolean;
  /** It answered as the server we expect (status and body checked by the service's spec). */
  healthy: boolean;
  /** What happened, for messages: "200 OK", "503", "connection refused", "timed out". */
  detail: string;
}

export type HealthCheck = (status: number, body: unknown) => boolean;

/**
 * GET `url` and judge the answer. Plain node:http rather than fetch: a probe runs every few
 * seconds per service for hours, and fetch costs several times more CPU per request.
 */
export function probeHealth(url: string, isHealthy: HealthCheck, timeoutMs = 2000): Promise<HealthProbe> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (probe: HealthProbe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(probe);
    };
    const request = httpGet(url, { headers: { accept: 'application/json' } }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        // A health answer is small; anything huge is not the server we want.
        if (size > 1_000_000) request.destroy(new Error('health answer too large'));
        else chunks.push(chunk);
      });
      response.on('error', (error) => finish({ answered: true, healthy: false, detail: error.message }));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: the check sees the text
        }
        const status = response.statusCode ?? 0;
        finish({ answered: true, healthy: isHealthy(status, body), detail: `HTTP ${status}` });
      });
    });
    const timer = setTimeout(() => {
      request.destroy();
      finish({ answered: false, healthy: false, detail: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => {
      finish({ answered: false, healthy: false, detail: error.code === 'ECONNREFUSED' ? 'connection refused' : error.code ?? error.message });
    });
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
