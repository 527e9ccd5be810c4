import { execFileSync } from 'node:child_process';

/** The end-to-end tests drive the built UI: build it once per run. */
export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
}
