/**
 * Ingest: a dropped ad list (CSV, TSV, JSON, JSONL, plain URLs), dropped image files,
 * or URLs dragged from a browser become `Ad` rows. Every row that cannot become an ad
 * is reported with its line number and the reason; the others import.
 */
import { createHash } from 'node:crypto';
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Ad, RejectedRow } from '../../../shared/domain.js';
import { hasImageExtension, sniffImageMime } from '../fetch/image-type.js';
import { hasCredentials, redactCredentials, withoutCredentials } from '../fetch/url-credentials.js';
import { findFieldColumns, isKnownColumnName, looksLikeUrl, type FieldColumns } from './columns.js';
import { readCsv } from './csv.js';
import { decodeListBytes, stripBom } from './decode.js';
import { delimiterOf, detectListFormat, type ListFormat } from './format.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './json-depth.js';
import { arrayElementLines } from './json-positions.js';

export type { ListFormat } from './format.js';
export { detectListFormat } from './format.js';
export { decodeListBytes } from './decode.js';

export interface ImportResult {
  ads: Ad[];
  rejected: RejectedRow[];
  /** The input's column names in input order (for export); empty for plain URL lists and images. */
  columns: string[];
  /** Which input columns were read as id, URL and text (null when absent). */
  fieldColumns: FieldColumns;
  format: ListFormat | 'images' | 'uri-list' | 'mixed';
}

export interface ImportTextOptions {
  filename?: string;
  format?: ListFormat;
}

const MAX_RAW_IN_REPORT = 200;
const NO_FIELDS: FieldColumns = { id: null, url: null, text: null };

type UrlCheck = { ok: true; url: string } | { ok: false; reason: string; hasCredentials?: true };

/** Lists may only point at http(s): a `file:` URL in a list could read any local file. */
export function checkListUrl(value: string): UrlCheck {
  const trimmed = value.trim();
  if (!trimmed) return { ok: false, reason: 'no URL' };
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { ok: false, reason: `not a valid URL: ${truncate(redactCredentials(trimmed), 80)}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: `not an http(s) URL: ${truncate(redactCredentials(trimmed), 80)}` };
  if (!url.hostname) return { ok: false, reason: `URL has no host: ${truncate(redactCredentials(trimmed), 80)}` };
  // The password would travel to the image server and sit in the store, logs and exports.
  if (hasCredentials(url)) {
    return { ok: false, reason: `URL contains credentials (user name or password); remove them: ${truncate(withoutCredentials(url), 80)}`, hasCredentials: true };
  }
  return { ok: true, url: trimmed };
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * A rejected row's source text with the credentials of `url` masked; none at all if they
 * still show (odd spellings the mask does not recognise).
 */
function rawWithoutCredentials(raw: RawText, url: string): string | undefined {
  const text = typeof raw === 'function' ? raw() : raw;
  if (text === undefined) return undefined;
  const { username, password } = new URL(url.trim());
  const secrets = [username, password].filter((secret) => secret !== '');
  const redacted = redactCredentials(text);
  return secrets.some((secret) => redacted.includes(secret) || redacted.includes(decodeURIComponentSafely(secret))) ? undefined : redacted;
}

function decodeURIComponentSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Rejected rows named in a NoAdsError's message; the rest are counted. */
const REJECTED_IN_MESSAGE = 3;

/** Where a rejected row is, for people: its line, and the column when one is at fault ("line 3, image_url"). */
export function rowLocation(row: RejectedRow): string {
  return row.column ? `line ${row.line}, ${row.column}` : `line ${row.line}`;
}

/**
 * An import that kept no ad. The message names the source and the first few rejected rows,
 * each where it is: `locate` lets a caller that sent the rows some other way (the API's JSON
 * `ads` array) say where in its own terms.
 */
export class NoAdsError extends Error {
  override readonly name = 'NoAdsError';
  constructor(
    readonly source: string,
    readonly rejected: readonly RejectedRow[],
    locate: (row: RejectedRow) => string = rowLocation,
  ) {
    const shown = rejected.slice(0, REJECTED_IN_MESSAGE).map((row) => `${locate(row)}: ${row.reason}`);
    const more = rejected.length > REJECTED_IN_MESSAGE ? `; ${rejected.length - REJECTED_IN_MESSAGE} more` : '';
    super(`No ads found in ${source}${shown.length ? ` (${shown.join('; ')}${more})` : ': it has no rows with an image URL'}.`);
  }
}

/** A duplicate's pointer to the row that came first: "(first on line 2)", "(first on line 2 of list.csv)". */
const FIRST_ON_LINE = /\(first on line (\d+)((?: of [^)]*)?)\)$/;

/**
 * A rejected row's reason with the row it points to (a duplicate id's first row) told in the
 * caller's terms, as NoAdsError's `locate` tells the row itself: the API's JSON body says
 * "(first at ads[0])" of what ingest read as line 1.
 */
export function relocateReason(reason: string, locateLine: (line: number) => string): string {
  return reason.replace(FIRST_ON_LINE, (_match, line: string, of: string) => `(first ${locateLine(Number(line))}${of})`);
}

/** A stable id for an ad that came without one: the same URL always gets the same id. */
export function generatedAdId(url: string): string {
  return `ad-${createHash('sha1').update(url).digest('hex').slice(0, 12)}`;
}

/** The row's source text for the report; a function when making it costs (only called for rejected rows). */
type RawText = string | (() => string | undefined) | undefined;

interface RowFields {
  id?: string;
  url?: string;
  text?: string;
  extra?: Record<string, string>;
}

/** Where a row's id and URL came from (a header or JSON key), so a rejection can name it. */
interface RowColumns {
  id: string | null;
  url: string | null;
}

/** Accumulates ads across one import (several files share it, so duplicates across files are caught). */
class AdCollector {
  readonly ads: Ad[] = [];
  readonly rejected: RejectedRow[] = [];
  /** Where each id was first seen: its line, and its file when several are imported together. */
  private readonly firstLineById = new Map<string, { line: number; source: string }>();
  /** Generated id → the next `-n` suffix to try, so N copies of one URL cost O(N), not O(N²). */
  private readonly nextSuffixById = new Map<string, number>();
  private sourceLabel = '';

  setSource(label: string): void {
    this.sourceLabel = label;
  }

  reject(line: number, reason: string, raw?: RawText, column?: string | null): void {
    const row: RejectedRow = { line, reason: this.sourceLabel ? `${this.sourceLabel}: ${reason}` : reason };
    if (column) row.column = column;
    const text = typeof raw === 'function' ? raw() : raw;
    if (text !== undefined) row.raw = truncate(text.replace(/[\r\n]+$/, ''), MAX_RAW_IN_REPORT);
    this.rejected.push(row);
  }

  add(line: number, fields: RowFields, raw?: RawText, columns?: RowColumns): void {
    const checked = checkListUrl(fields.url ?? '');
    if (checked.ok) return this.push(line, fields, checked.url, raw, columns);
    // Never keep the password in the report, not even in the row's source text.
    this.reject(line, checked.reason, checked.hasCredentials ? () => rawWithoutCredentials(raw, fields.url!) : raw, fields.url === undefined ? null : columns?.url);
  }

  /** For dropped images: the URL was made from a local path by us, not read from a list. */
  addLocalImage(line: number, id: string, fileUrl: string): void {
    this.push(line, { id }, fileUrl, undefined);
  }

  private push(line: number, fields: RowFields, url: string, raw: RawText, columns?: RowColumns): void {
    const givenId = fields.id?.trim();
    let id = givenId || generatedAdId(url);
    const firstLine = this.firstLineById.get(id);
    if (firstLine !== undefined) {
      const where = firstLine.source && firstLine.source !== this.sourceLabel ? ` of ${firstLine.source}` : '';
      if (givenId) return this.reject(line, `duplicate id "${truncate(id, 80)}" (first on line ${firstLine.line}${where})`, raw, columns?.id);
      // The same URL listed again without an id: keep each row (the user listed it so),
      // with distinct ids stable for the list's order: -2, -3, …
      let n = this.nextSuffixById.get(id) ?? 2;
      while (this.firstLineById.has(`${id}-${n}`)) n++;
      this.nextSuffixById.set(id, n + 1);
      id = `${id}-${n}`;
    }
    this.firstLineById.set(id, { line, source: this.sourceLabel });
    const ad: Ad = { creativeId: id, imageUrl: url };
    // The ad's text is the user's data, kept as given (spaces, line breaks); only an empty cell is no text.
    // Ids and URLs are trimmed: a space around them is an artefact of the list, never meant.
    if (fields.text) ad.adText = fields.text;
    if (fields.extra && Object.keys(fields.extra).length > 0) ad.extra = fields.extra;
    this.ads.push(ad);
  }
}

interface ParsedShape {
  columns: string[];
  fieldColumns: FieldColumns;
}

function parseDelimited(collector: AdCollector, text: string, format: 'csv' | 'tsv'): ParsedShape {
  const newline = text.indexOf('\n');
  const firstLine = newline < 0 ? text : text.slice(0, newline);
  const delimiter = format === 'tsv' ? '\t' : delimiterOf(firstLine);
  const { records, errors } = readCsv(text, delimiter);
  for (const error of errors) collector.reject(error.line, `malformed ${format.toUpperCase()}: ${error.reason}`, error.raw);
  if (records.length === 0) return { columns: [], fieldColumns: NO_FIELDS };

  const first = records[0]!.fields.map((cell) => cell.trim());
  const hasHeader = first.some(isKnownColumnName) || !first.some(looksLikeUrl);
  const columns = hasHeader ? uniqueColumnNames(first) : first.map((_, i) => `column_${i + 1}`);
  const dataRows = hasHeader ? records.slice(1) : records;
  const fieldColumns = findFieldColumns(columns);
  if (fieldColumns.url === null) {
    // No URL header: take the first column whose first value is a link.
    const sample = dataRows[0]?.fields ?? [];
    const index = sample.findIndex((cell) => looksLikeUrl(cell));
    if (index >= 0) fieldColumns.url = columns[index] ?? null;
  }
  const indexOf = (name: string | null) => (name === null ? -1 : columns.indexOf(name));
  const idIndex = indexOf(fieldColumns.id);
  const urlIndex = indexOf(fieldColumns.url);
  const textIndex = indexOf(fieldColumns.text);
  const extraIndexes = columns.map((_, index) => index).filter((index) => index !== idIndex && index !== urlIndex && index !== textIndex);

  for (const { fields, line, raw } of dataRows) {
    if (fields.length > columns.length && fields.slice(columns.length).some((cell) => cell.trim() !== '')) {
      collector.reject(line, `row has ${fields.length} fields, the header has ${columns.length}`, raw);
      continue;
    }
    const extra: Record<string, string> = {};
    for (const index of extraIndexes) extra[columns[index]!] = fields[index] ?? '';
    collector.add(line, { id: fields[idIndex], url: fields[urlIndex], text: fields[textIndex], extra }, raw, fieldColumns);
  }
  return { columns, fieldColumns };
}

function uniqueColumnNames(header: string[]): string[] {
  const seen = new Map<string, number>();
  return header.map((name, index) => {
    const base = name || `column_${index + 1}`;
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    return count === 0 ? base : `${base}_${count + 1}`;
  });
}

function stringifyValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** One JSON value (array element or JSONL line) into the collector; columns grow in first-seen order. */
function addJsonValue(collector: AdCollector, line: number, value: unknown, raw: RawText, columns: Set<string>): void {
  if (typeof value === 'string') return collector.add(line, { url: value }, raw);
  // JSON.parse takes any depth, JSON.stringify (for the extra columns and the report) overflows the stack.
  if (exceedsJsonDepth(value, MAX_JSON_DEPTH)) return collector.reject(line, `not an ad: JSON nested more than ${MAX_JSON_DEPTH} levels deep`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return collector.reject(line, 'not an ad: expected an object or a URL string', raw);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [key] of entries) columns.add(key);
  const fields = findFieldColumns(entries.map(([key]) => key));
  const record = value as Record<string, unknown>;
  const extra: Record<string, string> = {};
  for (const [key, fieldValue] of entries) {
    if (key !== fields.id && key !== fields.url && key !== fields.text) extra[key] = stringifyValue(fieldValue);
  }
  const pick = (key: string | null) => (key === null ? undefined : stringifyValue(record[key]));
  collector.add(line, { id: pick(fields.id), url: pick(fields.url), text: pick(fields.text), extra }, raw, fields);
}

/**
 * A JSON.parse error as a reason and where: V8 says "… in JSON at position 1 (line 1 column 2)"
 * of the text it was given, which for a JSONL line is that line, not the file.
 */
function jsonError(error: unknown): { reason: string; line: number | null } {
  const message = (error as Error).message;
  const where = /\s+in JSON at position \d+(?: \(line (\d+) column (\d+)\))?/.exec(message);
  if (!where) return { reason: `malformed JSON: ${message}`, line: null };
  const rest = message.slice(0, where.index) + message.slice(where.index + where[0].length);
  return { reason: `malformed JSON: ${rest}${where[2] ? ` at column ${where[2]}` : ''}`, line: where[1] ? Number(where[1]) : null };
}

function parseJson(collector: AdCollector, text: string): ParsedShape {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const { reason, line } = jsonError(error);
    collector.reject(line ?? 1, reason);
    return { columns: [], fieldColumns: NO_FIELDS };
  }
  const columns = new Set<string>();
  if (Array.isArray(value)) {
    const lines = arrayElementLines(text);
    value.forEach((element, index) => addJsonValue(collector, lines[index] ?? index + 1, element, () => JSON.stringify(element) ?? '', columns));
  } else {
    addJsonValue(collector, 1, value, text, columns);
  }
  return { columns: [...columns], fieldColumns: findFieldColumns([...columns]) };
}

function forEachLine(text: string, visit: (line: string, lineNumber: number) => void): void {
  let start = 0;
  let lineNumber = 1;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).replace(/\r$/, '');
    if (line.trim()) visit(line, lineNumber);
    lineNumber++;
    start = end + 1;
  }
}

function parseJsonLines(collector: AdCollector, text: string): ParsedShape {
  const columns = new Set<string>();
  forEachLine(text, (line, lineNumber) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      return collector.reject(lineNumber, jsonError(error).reason, line);
    }
    addJsonValue(collector, lineNumber, value, line, columns);
  });
  return { columns: [...columns], fieldColumns: findFieldColumns([...columns]) };
}

/** Plain text and `text/uri-list`: one URL per line, `#` starts a comment line. */
function parseUrlLines(collector: AdCollector, text: string): ParsedShape {
  forEachLine(text, (line, lineNumber) => {
    const trimmed = line.trim();
    if (!trimmed.startsWith('#')) collector.add(lineNumber, { url: trimmed }, line);
  });
  return { columns: [], fieldColumns: NO_FIELDS };
}

function parseInto(collector: AdCollector, text: string, format: ListFormat): ParsedShape {
  switch (format) {
    case 'csv':
    case 'tsv':
      return parseDelimited(collector, text, format);
    case 'json':
      return parseJson(collector, text);
    case 'jsonl':
      return parseJsonLines(collector, text);
    case 'txt':
      return parseUrlLines(collector, text);
  }
}

function toText(input: string | Uint8Array): string {
  return typeof input === 'string' ? stripBom(input) : decodeListBytes(input);
}

/** Import one list given as text or bytes (bytes: the encoding is detected from the BOM). */
export function importAdsFromText(input: string | Uint8Array, options: ImportTextOptions = {}): ImportResult {
  const text = toText(input);
  const format = options.format ?? detectListFormat(text, options.filename);
  const collector = new AdCollector();
  const shape = parseInto(collector, text, format);
  return { ads: collector.ads, rejected: collector.rejected, columns: shape.columns, fieldColumns: shape.fieldColumns, format };
}

/** URLs dragged from a browser (`text/uri-list` entries or plain strings, possibly several per string). */
export function importAdsFromUrls(urls: readonly string[]): ImportResult {
  const collector = new AdCollector();
  parseUrlLines(collector, urls.join('\n'));
  return { ads: collector.ads, rejected: collector.rejected, columns: [], fieldColumns: NO_FIELDS, format: 'uri-list' };
}

async function isImageFile(path: string): Promise<boolean> {
  if (hasImageExtension(path)) return true;
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(32);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return sniffImageMime(head.subarray(0, bytesRead)) !== null;
  } finally {
    await handle.close();
  }
}

/** Image files inside a dropped folder (recursively, sorted, hidden files skipped). */
async function imagesInFolder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  const found: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const path = join(folder, entry.name);
    if (entry.isDirectory()) found.push(...(await imagesInFolder(path)));
    else if (entry.isFile() && hasImageExtension(entry.name)) found.push(path);
  }
  return found;
}

/** An .xlsx/.numbers (a zip) or a legacy .xls (OLE2) file: binary, whatever its name says. */
function isWorkbook(bytes: Uint8Array): boolean {
  const startsWith = (magic: number[]) => magic.every((byte, i) => bytes[i] === byte);
  return startsWith([0x50, 0x4b, 0x03, 0x04]) || startsWith([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
}

/**
 * Files dropped from Finder: ad lists are parsed, image files (and images inside dropped
 * folders) become ads with a `file://` URL — the only way a `file:` URL enters the app.
 */
export async function importAdsFromFiles(paths: readonly string[]): Promise<ImportResult> {
  const collector = new AdCollector();
  const columns = new Set<string>();
  let fieldColumns: FieldColumns | null = null;
  const formats = new Set<ImportResult['format']>();
  const images: string[] = [];

  for (const given of paths) {
    const path = resolve(given);
    collector.setSource(paths.length > 1 ? basename(path) : '');
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      collector.reject(0, `cannot read ${basename(path)}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? (error as Error).message)}`);
      continue;
    }
    if (info.isDirectory()) {
      images.push(...(await imagesInFolder(path)));
      continue;
    }
    if (await isImageFile(path)) {
      images.push(path);
      continue;
    }
    const bytes = await readFile(path);
    if (isWorkbook(bytes)) {
      collector.reject(0, `${basename(path)} is a spreadsheet workbook, not a text list: save it as CSV (UTF-8) and use that file`);
      continue;
    }
    const text = decodeListBytes(bytes);
    const format = detectListFormat(text, path);
    formats.add(format);
    const shape = parseInto(collector, text, format);
    shape.columns.forEach((column) => columns.add(column));
    fieldColumns ??= shape.fieldColumns;
  }

  collector.setSource('');
  const usedIds = new Set<string>();
  images.forEach((path, index) => {
    const stem = basename(path, extname(path));
    const id = usedIds.has(stem) ? `${stem}-${createHash('sha1').update(path).digest('hex').slice(0, 6)}` : stem;
    usedIds.add(id);
    collector.addLocalImage(index + 1, id, pathToFileURL(path).href);
  });
  if (images.length > 0) formats.add('images');

  const format = formats.size === 1 ? [...formats][0]! : formats.size === 0 ? 'txt' : 'mixed';
  return { ads: collector.ads, rejected: collector.rejected, columns: [...columns], fieldColumns: fieldColumns ?? NO_FIELDS, format };
}
