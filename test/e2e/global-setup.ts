import { execFileSync } from 'node:child_process';

/** The end-to-end tests drive the built UI: build it once per run. */
export default function setup(): void {
  // Vitest sets NODE_ENV=test, which would give a development React build (jsxDEV, ~5x slower renders).
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
}
