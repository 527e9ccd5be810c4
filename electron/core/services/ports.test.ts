import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { describeHolder, findFreePort, isPortFree, parseLsofFields, parseSsListeners, whoHoldsPort } from './ports.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function listen(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    servers.push(server);
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : -1);
    });
  });
}

describe('port probing', () => {
  it('sees a port we hold as busy and skips to the next free one', async () => {
    const port = await listen();
    expect(await isPortFree(port)).toBe(false);
    const next = await findFreePort(port);
    expect(next).toBeGreaterThan(port);
    expect(await isPortFree(next)).toBe(true);
  });

  it('names this very process as the holder of its own port', async () => {
    const port = await listen();
    const holder = await whoHoldsPort(port);
    expect(holder?.pid).toBe(process.pid);
    expect(describeHolder(port, holder)).toContain(`(pid ${process.pid})`);
  });
});

describe('parsers of the OS tools', () => {
  it('reads lsof -F records', () => {
    expect(parseLsofFields('p812\ncollama\nf5\np90\ncPython\n')).toEqual([
      { pid: 812, command: 'ollama' },
      { pid: 90, command: 'Python' },
    ]);
  });

  it('reads ss lines for the asked port only', () => {
    const text = [
      'LISTEN 0 511 127.0.0.1:80011 0.0.0.0:* users:(("other",pid=1,fd=3))',
      'LISTEN 0 511 127.0.0.1:8001 0.0.0.0:* users:(("python3",pid=4242,fd=20))',
      'LISTEN 0 128 [::]:8001 [::]:*',
    ].join('\n');
    expect(parseSsListeners(text, 8001)).toEqual([
      { command: 'python3', pid: 4242 },
      { command: null, pid: null },
    ]);
  });

  it('says when the OS would not name the holder', () => {
    expect(describeHolder(8001, null)).toMatch(/another program/);
    expect(describeHolder(8001, { pid: null, command: 'ollama' })).toBe('port 8001 is held by ollama');
  });
});
