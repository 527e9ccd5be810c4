// `npm start`: the Electron app; where the Electron binary is absent (CI, Linux
// servers), say so in one line and start browser mode instead.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const run = (command, args) =>
  new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', shell: process.platform === 'win32' });
    child.on('exit', (code) => resolve(code ?? 1));
  });

/** The Electron binary's path, without triggering electron's own on-demand download. */
function electronBinary() {
  const packageDir = path.dirname(require.resolve('electron/package.json'));
  const pathFile = path.join(packageDir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = path.join(packageDir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}

const binary = electronBinary();
if (binary) {
  const built = await run('npm', ['run', 'build']);
  if (built !== 0) process.exit(built);
  process.exit(await run(binary, ['.']));
} else {
  console.log('Electron binary not installed here (ELECTRON_SKIP_BINARY_DOWNLOAD); starting browser mode instead.');
  process.exit(await run('npm', ['run', 'serve', '--', ...process.argv.slice(2)]));
}
