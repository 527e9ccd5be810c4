/**
 * Decide what kind of list a dropped file is: by its extension first, by its
 * content when the extension says nothing (or says .txt, which is often CSV).
 */
import type { ListFormat } from '../../../shared/domain.js';
import { looksLikeUrl } from './columns.js';

export type { ListFormat };

const BY_EXTENSION: Record<string, ListFormat> = {
  csv: 'csv',
  tsv: 'tsv',
  tab: 'tsv',
  json: 'json',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
};

function extensionOf(filename: string | undefined): string {
  if (!filename) return '';
  const base = filename.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

function firstLines(text: string, count: number): string[] {
  const lines: string[] = [];
  let start = 0;
  while (lines.length < count && start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).replace(/\r$/, '').trim();
    if (line && !line.startsWith('#')) lines.push(line);
    start = end + 1;
  }
  return lines;
}

function sniffListFormat(text: string): ListFormat {
  const head = text.trimStart();
  if (head.startsWith('[')) return 'json';
  if (head.startsWith('{')) {
    const lines = firstLines(head, 2);
    // One object per line is JSONL; a pretty-printed object spans lines that do not start with '{'.
    if (lines.length < 2 || lines[1]!.startsWith('{')) return 'jsonl';
    return 'json';
  }
  const sample = firstLines(head, 20);
  // Mostly links, and not all of them followed by more fields: a plain URL list.
  const links = sample.filter((line) => looksLikeUrl(line));
  if (links.length * 2 >= sample.length && links.length > 0 && !links.every((line) => /[,\t;]/.test(line))) return 'txt';
  return delimiterOf(sample[0] ?? '') === '\t' ? 'tsv' : 'csv';
}

export function detectListFormat(text: string, filename?: string): ListFormat {
  const byExtension = BY_EXTENSION[extensionOf(filename)];
  return byExtension ?? sniffListFormat(text);
}

/** The field delimiter of a delimited list, judged by its header line. */
export function delimiterOf(headerLine: string): ',' | '\t' | ';' {
  const count = (char: string) => headerLine.split(char).length - 1;
  const tabs = count('\t');
  const commas = count(',');
  const semicolons = count(';');
  if (tabs > 0 && tabs >= commas && tabs >= semicolons) return '\t';
  if (semicolons > commas) return ';';
  return ',';
}
