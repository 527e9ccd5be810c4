import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { isRecord, probeHealth } from './health.js';
import { findFreePort } from './ports.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); })));
});

function serve(handler: Parameters<typeof createServer>[1]): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer(handler);
    servers.push(server);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

const isOk = (status: number, body: unknown) => status === 200 && isRecord(body) && body.status === 'ready';

describe('probeHealth', () => {
  it('passes the status and parsed JSON body to the check', async () => {
    const port = await serve((_request, response) => response.writeHead(200).end(JSON.stringify({ status: 'ready' })));
    expect(await probeHealth(`http://127.0.0.1:${port}/health`, isOk)).toEqual({ answered: true, healthy: true, detail: 'HTTP 200' });
  });

  it('answers but unhealthy for another body or status', async () => {
    const port = await serve((request, response) => (request.url === '/a' ? response.writeHead(200).end('Ollama is running') : response.writeHead(503).end('{"status":"loading"}')));
    expect(await probeHealth(`http://127.0.0.1:${port}/a`, isOk)).toEqual({ answered: true, healthy: false, detail: 'HTTP 200' });
    expect(await probeHealth(`http://127.0.0.1:${port}/b`, isOk)).toEqual({ answered: true, healthy: false, detail: 'HTTP 503' });
  });

  it('says connection refused, or times out on a server that never answers', async () => {
    const free = await findFreePort(56_000);
    expect(await probeHealth(`http://127.0.0.1:${free}/health`, isOk)).toEqual({ answered: false, healthy: false, detail: 'connection refused' });
    const port = await serve(() => undefined);
    expect(await probeHealth(`http://127.0.0.1:${port}/health`, isOk, 150)).toEqual({ answered: false, healthy: false, detail: 'no answer within 150 ms' });
  });
});
