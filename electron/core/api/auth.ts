/**
 * The local API's security: a per-install key kept in the data folder (0600, created on
 * first start), the discovery file that tells scripts where the running app listens and
 * where its key is, and the request checks (Bearer key, loopback Host, no foreign Origin).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { z } from 'zod';

const API_KEY_FILE = 'api-key';
const API_DISCOVERY_FILE = 'api.json';

/** What a client reads from `<data folder>/api.json` to find the running app. */
export const ApiDiscovery = z.object({
  url: z.string().url(),
  keyFile: z.string(),
  pid: z.number().int(),
  version: z.string(),
  startedAt: z.number(),
});
export type ApiDiscovery = z.infer<typeof ApiDiscovery>;

export function apiKeyPath(dataDir: string): string {
  return path.join(dataDir, API_KEY_FILE);
}

export function apiDiscoveryPath(dataDir: string): string {
  return path.join(dataDir, API_DISCOVERY_FILE);
}

/** Write a file only its owner can read, atomically (a reader never sees half a key). */
function writePrivateFile(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

/** The install's API key: read from the data folder, or created there on first start. */
export function ensureApiKey(dataDir: string): string {
  const file = apiKeyPath(dataDir);
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    // Tighten a key file whose mode was loosened (e.g. copied with a backup tool).
    chmodSync(file, 0o600);
    if (key.length >= 32) return key;
  }
  const key = `pv_${randomBytes(32).toString('base64url')}`;
  writePrivateFile(file, `${key}\n`);
  return key;
}

export function writeDiscovery(dataDir: string, discovery: ApiDiscovery): void {
  writePrivateFile(apiDiscoveryPath(dataDir), `${JSON.stringify(discovery, null, 2)}\n`);
}

/** Removes the discovery file if it is still ours (a second app may have taken over). */
export function removeDiscovery(dataDir: string, url: string): void {
  const file = apiDiscoveryPath(dataDir);
  try {
    const current = ApiDiscovery.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (current.success && current.data.url === url && current.data.pid === process.pid) rmSync(file, { force: true });
  } catch {
    // Already gone or unreadable: nothing of ours to remove.
  }
}

function keysEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export interface Refusal {
  status: 401 | 403;
  message: string;
}

/**
 * Why a request may not pass, or null. Host must be the loopback address we listen on
 * (DNS rebinding); a browser page of another site carries its Origin and is refused; a
 * script must present the key. `needsKey: false` for the public docs.
 */
export function refuseRequest(request: IncomingMessage, port: number, key: string, needsKey: boolean): Refusal | null {
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  if (!hosts.has(request.headers.host ?? '')) return { status: 403, message: `foreign Host header ${JSON.stringify(request.headers.host ?? '')}: use http://127.0.0.1:${port}` };
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `http://127.0.0.1:${port}` && origin !== `http://localhost:${port}`) {
    return { status: 403, message: `foreign Origin ${JSON.stringify(origin)}: the API answers scripts on this machine, not web pages` };
  }
  if (!needsKey) return null;
  const header = request.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) return { status: 401, message: 'missing API key: send "Authorization: Bearer <key>" (the key is in the api-key file of the data folder, or `parallel-vision api --print-key`)' };
  if (!keysEqual(match[1]!, key)) return { status: 401, message: 'wrong API key' };
  return null;
}
