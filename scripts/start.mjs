// `npm start`: the Electron app. Where no window can open (no Electron binary, a Linux
// server without a display, CI), say so in one line and start browser mode instead.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const run = (command, args, options = {}) =>
  new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', shell: process.platform === 'win32', ...options });
    child.on('exit', (code) => resolve(code ?? 1));
    child.on('error', () => resolve(1));
  });

const electronDir = path.dirname(require.resolve('electron/package.json'));
const electronVersion = JSON.parse(readFileSync(path.join(electronDir, 'package.json'), 'utf8')).version;

/** The Electron binary's path, without triggering electron's own on-demand download. */
function electronBinary() {
  const pathFile = path.join(electronDir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = path.join(electronDir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}

/** Why no window can open here, or null. */
function noWindowReason() {
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) return 'the Electron binary is not installed (ELECTRON_SKIP_BINARY_DOWNLOAD)';
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return 'no display';
  return null;
}

/** A file of a dependency's dependency, resolved the way its owner would (`owners`: the chain from ours down). */
function resolveThrough(owners, request) {
  let from = require;
  for (const owner of owners) from = createRequire(from.resolve(owner));
  return from.resolve(request);
}

/**
 * better-sqlite3 is built for Node's ABI by npm; Electron needs its own build. Fetch (or
 * compile) one into dist/native and hand it to the store, leaving node_modules for Node.
 */
async function electronSqliteBinding() {
  const target = path.resolve('dist/native', `better-sqlite3-electron-${electronVersion}-${process.platform}-${process.arch}.node`);
  if (existsSync(target)) return target;
  const work = path.resolve('dist/native/better-sqlite3-build');
  rmSync(work, { recursive: true, force: true });
  cpSync(path.dirname(require.resolve('better-sqlite3/package.json')), work, { recursive: true, filter: (source) => !source.includes(`${path.sep}build${path.sep}`) });
  const electronArgs = ['--runtime', 'electron', '--target', electronVersion, '--arch', process.arch, '--platform', process.platform];
  let status = await run(process.execPath, [resolveThrough(['better-sqlite3'], 'prebuild-install/bin.js'), ...electronArgs], { cwd: work });
  if (status !== 0) {
    status = await run(process.execPath, [resolveThrough(['electron-builder', 'app-builder-lib', '@electron/rebuild'], 'node-gyp/bin/node-gyp.js'), 'rebuild', '--release', `--target=${electronVersion}`, '--runtime=electron', '--dist-url=https://electronjs.org/headers'], { cwd: work });
  }
  const built = path.join(work, 'build', 'Release', 'better_sqlite3.node');
  if (status !== 0 || !existsSync(built)) return null;
  mkdirSync(path.dirname(target), { recursive: true });
  cpSync(built, target);
  rmSync(work, { recursive: true, force: true });
  return target;
}

let reason = noWindowReason();
let binary = null;
if (!reason) {
  binary = electronBinary();
  if (!binary) {
    // Electron fetches its binary on first use; do it now, once.
    await run(process.execPath, [path.join(electronDir, 'install.js')]);
    binary = electronBinary();
    if (!binary) reason = 'the Electron binary could not be downloaded';
  }
}

if (binary && !reason) {
  const built = await run('npm', ['run', 'build']);
  if (built !== 0) process.exit(built);
  const sqliteBinding = await electronSqliteBinding();
  if (!sqliteBinding) console.warn('Could not get better-sqlite3 for Electron; the app may fail to open its database.');
  process.exit(await run(binary, ['.'], { env: { ...process.env, ...(sqliteBinding ? { PARALLEL_VISION_SQLITE_BINDING: sqliteBinding } : {}) } }));
} else {
  console.log(`No Electron window here (${reason}); starting browser mode instead.`);
  process.exit(await run('npm', ['run', 'serve', '--', ...process.argv.slice(2)]));
}
