/** What a drop, a pick or a paste becomes: one import call on the VisionApi. */
import type { VisionApi } from '../../../shared/api.js';
import type { ImportSummary } from '../../../shared/domain.js';
import { MAX_IMAGES_PER_IMPORT, extractUrls, readFileBase64, readFileText, sortFiles } from '../../common/files.js';

/** Bytes of dropped images sent in one import (the browser-mode WebSocket takes frames up to 96 MB). */
export const MAX_IMAGE_BYTES_PER_IMPORT = 64 * 1024 * 1024;

export interface ImportOutcome {
  summary: ImportSummary;
  notes: string[];
}

export class NothingToImportError extends Error {
  override readonly name = 'NothingToImportError';
  constructor(
    message: string,
    readonly notes: string[] = [],
  ) {
    super(message);
  }
}

export async function importFiles(api: VisionApi, files: readonly File[]): Promise<ImportOutcome> {
  const { lists, images, workbooks, ignored } = sortFiles(files);
  const notes: string[] = [];
  if (workbooks.length) {
    const several = workbooks.length > 1;
    notes.push(`${workbooks.map((f) => f.name).join(', ')} ${several ? 'are spreadsheet workbooks' : 'is a spreadsheet workbook'}, not ${several ? 'text lists' : 'a text list'}: save ${several ? 'each' : 'it'} as CSV (UTF-8) and drop that file.`);
  }
  if (ignored.length) notes.push(`Skipped ${ignored.length} file${ignored.length > 1 ? 's' : ''} that are neither ad lists nor images: ${ignored.map((f) => f.name).join(', ')}.`);
  const [list] = lists;
  if (list) {
    if (lists.length > 1 || images.length) notes.push(`Imported ${list.name} only: drop one ad list at a time.`);
    const text = await readFileText(list);
    if (!text.trim()) throw new NothingToImportError(`${list.name} is empty.`, notes);
    return { summary: await api.invoke('ads.importText', { text, filename: list.name }), notes };
  }
  if (images.length) {
    // One message carries the images: keep it under the transport's frame limit (base64 adds a third).
    const taken: File[] = [];
    let bytes = 0;
    for (const image of images.slice(0, MAX_IMAGES_PER_IMPORT)) {
      if (taken.length > 0 && bytes + image.size > MAX_IMAGE_BYTES_PER_IMPORT) break;
      taken.push(image);
      bytes += image.size;
    }
    if (images.length > taken.length) notes.push(`Imported the first ${taken.length} of ${images.length} images; for more, use an ad list with URLs or paths.`);
    const payload = await Promise.all(taken.map(async (file) => ({ name: file.name, base64: await readFileBase64(file) })));
    return { summary: await api.invoke('ads.importImages', { images: payload }), notes };
  }
  throw new NothingToImportError('Nothing to import: drop a CSV, TSV, JSON, JSONL or TXT ad list, or image files.', notes);
}

/** Pasted or dragged text: a plain list of URLs goes to importUrls, anything else is parsed as a list. */
export async function importText(api: VisionApi, text: string, filename = 'pasted.txt'): Promise<ImportOutcome> {
  const trimmed = text.trim();
  if (!trimmed) throw new NothingToImportError('The pasted text is empty.');
  const urls = extractUrls(trimmed);
  const lineCount = trimmed.split(/\r?\n/).filter((l) => l.trim() && !l.trim().startsWith('#')).length;
  if (urls.length && urls.length === lineCount) return { summary: await api.invoke('ads.importUrls', { urls }), notes: [] };
  return { summary: await api.invoke('ads.importText', { text: trimmed, filename }), notes: [] };
}

/** A drop: files first, then URLs dragged from a browser, then plain text. */
export async function importDataTransfer(api: VisionApi, data: DataTransfer): Promise<ImportOutcome> {
  const files = Array.from(data.files ?? []);
  if (files.length) return importFiles(api, files);
  const uriList = data.getData('text/uri-list');
  if (uriList && extractUrls(uriList).length) return { summary: await api.invoke('ads.importUrls', { urls: extractUrls(uriList) }), notes: [] };
  const text = data.getData('text/plain');
  if (text.trim()) return importText(api, text, 'dropped text');
  throw new NothingToImportError('Nothing to import in what was dropped.');
}
