/**
 * Ports: is one free, which is the next free one, and who holds a busy one (so the user
 * reads "port 11434 is held by ollama (pid 812)" instead of a bare "address in use").
 */
import { createServer } from 'node:net';
import { runCommand, type RunCommand } from './commands.js';

export interface PortHolder {
  pid: number | null;
  command: string | null;
}

/** Whether we could listen on `port` ourselves right now. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

export async function findFreePort(from: number, options: { host?: string; attempts?: number; exclude?: ReadonlySet<number> } = {}): Promise<number> {
  const attempts = options.attempts ?? 100;
  for (let port = from; port < from + attempts && port <= 65_535; port += 1) {
    if (options.exclude?.has(port)) continue;
    if (await isPortFree(port, options.host)) return port;
  }
  throw new Error(`no free port in ${from}..${Math.min(65_535, from + attempts - 1)}`);
}

/** `lsof -nP -iTCP:PORT -sTCP:LISTEN -Fpc` prints `p<pid>` and `c<command>` records. */
export function parseLsofFields(text: string): PortHolder[] {
  const holders: PortHolder[] = [];
  let current: PortHolder | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('p')) {
      current = { pid: Number.parseInt(line.slice(1), 10) || null, command: null };
      holders.push(current);
    } else if (line.startsWith('c') && current) {
      current.command = line.slice(1) || null;
    }
  }
  return holders;
}

/** `ss -ltnpH 'sport = :PORT'`: `LISTEN 0 511 127.0.0.1:8001 0.0.0.0:* users:(("node",pid=12,fd=20))`. */
export function parseSsListeners(text: string, port: number): PortHolder[] {
  const holders: PortHolder[] = [];
  for (const line of text.split('\n')) {
    const columns = line.trim().split(/\s+/);
    const local = columns.find((column) => /:\d+$/.test(column));
    if (!local || !local.endsWith(`:${port}`)) continue;
    const users = /users:\(\("([^"]*)",pid=(\d+)/.exec(line);
    holders.push(users ? { command: users[1] ?? null, pid: Number(users[2]) } : { command: null, pid: null });
  }
  return holders;
}

export async function whoHoldsPort(port: number, options: { platform?: NodeJS.Platform; run?: RunCommand } = {}): Promise<PortHolder | null> {
  const platform = options.platform ?? process.platform;
  const run = options.run ?? runCommand;
  const holders = platform === 'linux'
    ? parseSsListeners((await run('ss', ['-ltnpH', `sport = :${port}`], { timeoutMs: 3000 })).stdout, port)
    : parseLsofFields((await run('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-Fpc'], { timeoutMs: 3000 })).stdout);
  return holders.find((holder) => holder.pid !== null) ?? holders[0] ?? null;
}

export function describeHolder(port: number, holder: PortHolder | null): string {
  if (!holder || (holder.pid === null && holder.command === null)) return `port ${port} is held by another program (the OS did not say which)`;
  const name = holder.command ?? 'a process';
  return holder.pid === null ? `port ${port} is held by ${name}` : `port ${port} is held by ${name} (pid ${holder.pid})`;
}

/** PARALLEL_VISION_DEEPSEEK_PORT / PARALLEL_VISION_OLLAMA_PORT: the ports to look for each service on (and start it on) instead of 8001 / 11434. */
export function servicePortsFromEnv(env: NodeJS.ProcessEnv): Partial<Record<'deepseek' | 'ollama', number>> {
  const ports: Partial<Record<'deepseek' | 'ollama', number>> = {};
  for (const [name, key] of [['deepseek', 'PARALLEL_VISION_DEEPSEEK_PORT'], ['ollama', 'PARALLEL_VISION_OLLAMA_PORT']] as const) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    const port = Number(value);
    if (!(Number.isInteger(port) && port > 0 && port < 65_536)) throw new Error(`${key} must be a port number, got ${value}`);
    ports[name] = port;
  }
  return ports;
}
