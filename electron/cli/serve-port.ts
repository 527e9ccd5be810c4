/**
 * Browser mode's port, kept from one start to the next: the renderer keeps its settings in
 * the page's localStorage, which belongs to the origin (host *and* port), and bookmarks name
 * the port. So `serve` tries the port it used last (remembered in the data folder) before
 * any free one; `--port N` wins.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const PORT_FILE = 'browser-mode.json';

const RememberedPort = z.object({ port: z.number().int().min(1).max(65535) });

export function rememberedPortPath(dataDir: string): string {
  return path.join(dataDir, PORT_FILE);
}

/** The port of the last start, or null (none yet, or a file this version cannot read: a free port then). */
function rememberedPort(dataDir: string): number | null {
  try {
    const parsed = RememberedPort.safeParse(JSON.parse(readFileSync(rememberedPortPath(dataDir), 'utf8')));
    return parsed.success ? parsed.data.port : null;
  } catch {
    return null;
  }
}

function rememberPort(dataDir: string, port: number): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(rememberedPortPath(dataDir), `${JSON.stringify({ port })}\n`);
}

const isPortTaken = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'EADDRINUSE';

/**
 * Starts a server (`start(0)`: any free port) on `--port` when given, else on the remembered
 * port, else on a free one; `note` says which and why, for the console.
 */
export async function startOnKnownPort<T extends { port: number }>(dataDir: string, flag: number | undefined, start: (port: number) => Promise<T>): Promise<{ server: T; note: string }> {
  const file = rememberedPortPath(dataDir);
  if (flag !== undefined) {
    const server = await start(flag).catch((error: unknown) => {
      throw isPortTaken(error) ? new Error(`--port ${flag}: the port is taken; give another, or leave --port out for the one of the last start (or a free one)`) : error;
    });
    rememberPort(dataDir, server.port);
    return { server, note: `Port ${server.port} (--port ${flag}); the next start without --port tries it first.` };
  }
  const last = rememberedPort(dataDir);
  if (last !== null) {
    try {
      return { server: await start(last), note: `Port ${last}, as the last start (${file}).` };
    } catch (error) {
      if (!isPortTaken(error)) throw error;
      // Kept: a clash is usually brief (another program's outgoing connection), and the settings and bookmarks are on the old port.
      const server = await start(0);
      return { server, note: `Port ${last} of the last start is taken, so port ${server.port} this time (settings saved in the page on port ${last} are not seen here); the next start tries ${last} again.` };
    }
  }
  const server = await start(0);
  rememberPort(dataDir, server.port);
  return { server, note: `Port ${server.port}, a free one; the next start tries it first (${file}).` };
}
