/** One HTTP health probe: is something answering, and is it the right kind of server? */

export interface HealthProbe {
  /** Something answered HTTP at all. */
  answered: boolean;
  /** It answered as the server we expect (status and body checked by the service's spec). */
  healthy: boolean;
  /** What happened, for messages: "200 OK", "503", "connection refused", "timed out". */
  detail: string;
}

export type HealthCheck = (status: number, body: unknown) => boolean;

export async function probeHealth(url: string, isHealthy: HealthCheck, timeoutMs = 2000): Promise<HealthProbe> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: the check sees the text
    }
    return { answered: true, healthy: isHealthy(response.status, body), detail: `HTTP ${response.status}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') return { answered: false, healthy: false, detail: 'connection refused' };
    if ((error as Error).name === 'TimeoutError') return { answered: false, healthy: false, detail: `no answer within ${timeoutMs} ms` };
    return { answered: false, healthy: false, detail: cause?.code ?? (error as Error).message };
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
