// Bundles the Electron main process, the preload and the CLI with esbuild.
// Main and the CLI are ESM (like the sources); the preload is CommonJS, as a sandboxed preload must be.
import { copyFileSync, mkdirSync } from 'node:fs';
import { build } from 'esbuild';

const external = ['electron', 'better-sqlite3', 'sharp', 'onnxruntime-node', '@gutenye/ocr-node', '@napi-rs/system-ocr', 'ws', 'bufferutil', 'utf-8-validate'];
// Bundled CommonJS dependencies still call require().
const requireBanner = { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" };
const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: true, logLevel: 'info', external };

await Promise.all([
  build({ ...common, entryPoints: ['electron/main/main.ts'], outfile: 'dist/electron/main.mjs', format: 'esm', banner: requireBanner }),
  build({ ...common, entryPoints: ['electron/main/preload.ts'], outfile: 'dist/electron/preload.cjs', format: 'cjs', external: ['electron'] }),
  build({
    ...common,
    entryPoints: ['electron/cli/index.ts'],
    outfile: 'dist/cli/index.js',
    format: 'esm',
    banner: requireBanner,
  }),
]);

// The embedded OCR engine's worker threads load these files beside the bundle that runs them.
for (const outDir of ['dist/electron', 'dist/cli']) {
  mkdirSync(outDir, { recursive: true });
  mkdirSync(`${outDir}/lib`, { recursive: true });
  for (const file of ['embedded-worker.mjs', 'embedded-ocr-runner.mjs', 'lib/line-confidence.mjs', 'lib/recognition-batches.mjs', 'lib/text-boxes.mjs']) copyFileSync(`electron/core/engines/${file}`, `${outDir}/${file}`);
}
