/**
 * Small pure parsers for CLI flags, kept apart so they can be tested without running a command;
 * the run settings shared with the local API are in core/app/run-settings.ts.
 */
import { UsageError } from '../core/app/run-settings.js';

export function exportFormatOf(path: string, explicit?: string): 'csv' | 'json' | 'jsonl' {
  const format = (explicit ?? path.split('.').pop() ?? '').toLowerCase();
  if (format === 'csv' || format === 'json' || format === 'jsonl') return format;
  if (format === 'ndjson') return 'jsonl';
  throw new UsageError(`cannot tell the export format from "${path}"; pass --format csv|json|jsonl`);
}
