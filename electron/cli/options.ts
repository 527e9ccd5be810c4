/**
 * Small pure parsers for CLI flags, kept apart so they can be tested without running a command;
 * the run settings shared with the local API are in core/app/run-settings.ts.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../core/app/run-settings.js';

export function exportFormatOf(path: string, explicit?: string): 'csv' | 'json' | 'jsonl' {
  const format = (explicit ?? path.split('.').pop() ?? '').toLowerCase();
  if (format === 'csv' || format === 'json' || format === 'jsonl') return format;
  if (format === 'ndjson') return 'jsonl';
  if (explicit !== undefined) throw new UsageError(`--format must be csv, json or jsonl, got "${explicit}"`);
  throw new UsageError(`cannot tell the export format from "${path}"; pass --format csv|json|jsonl`);
}

/** Every flag of `parallel-vision run`, with or without `--to-app` (RUN_USAGE in run.ts describes them). */
const RUN_OPTIONS = {
  engines: { type: 'string' },
  policy: { type: 'string', default: 'auto' },
  split: { type: 'string' },
  workers: { type: 'string', multiple: true },
  out: { type: 'string' },
  format: { type: 'string' },
  db: { type: 'string' },
  'data-dir': { type: 'string' },
  'deepseek-url': { type: 'string' },
  'ollama-url': { type: 'string' },
  'ollama-model': { type: 'string' },
  'openai-url': { type: 'string' },
  'openai-model': { type: 'string' },
  'max-side': { type: 'string', default: '2048' },
  'embedded-model': { type: 'string' },
  'embedded-language': { type: 'string' },
  new: { type: 'boolean', default: false },
  'retry-failed': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  'to-app': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The flags `run --to-app` uses: the app runs the list with its own database, services and image settings. */
const TO_APP_OPTIONS: ReadonlySet<string> = new Set<keyof typeof RUN_OPTIONS>(['engines', 'policy', 'split', 'workers', 'out', 'format', 'data-dir', 'json', 'to-app', 'help']);

export function parseRunArgs(args: string[]) {
  return parseArgs({ args, allowPositionals: true, options: RUN_OPTIONS, tokens: true });
}

export type RunArgs = ReturnType<typeof parseRunArgs>;

/** A run flag that `--to-app` would silently ignore is a usage error naming it. */
export function checkToAppArgs(parsed: RunArgs): void {
  const ignored = [...new Set(parsed.tokens.flatMap((token) => (token.kind === 'option' && !TO_APP_OPTIONS.has(token.name) ? [token.rawName] : [])))];
  if (ignored.length > 0) throw new UsageError(`${ignored.join(', ')} ${ignored.length === 1 ? 'is' : 'are'} not used with --to-app: the app runs the list with its own database, services and image settings`);
}
