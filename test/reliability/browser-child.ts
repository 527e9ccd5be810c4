/**
 * Browser mode in a child process, for tests that must see whether a request can kill it:
 * prints `LISTENING <port> <token>` and serves until SIGTERM.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBrowserServer } from '../../electron/core/app/browser-server.js';

const rendererDir = mkdtempSync(join(tmpdir(), 'pv-browser-child-'));
writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>Parallel Vision</title>');
const server = await startBrowserServer({ rendererDir, downloadsDir: rendererDir, dispatch: async () => ({ ok: true, value: 'pong' }), subscribe: () => () => undefined });
process.stdout.write(`LISTENING ${server.port} ${server.token}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
