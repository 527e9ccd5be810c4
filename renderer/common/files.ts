/**
 * Reading what the user dropped, picked or pasted, in the renderer: browser mode has no
 * file paths, so files travel as text (ad lists) or base64 (images).
 */

const LIST_EXTENSIONS = ['csv', 'tsv', 'json', 'jsonl', 'ndjson', 'txt'] as const;
const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp', 'tif', 'tiff', 'heic', 'avif'] as const;
/** The contract accepts at most this many images per import call. */
export const MAX_IMAGES_PER_IMPORT = 500;

/** Spreadsheet workbooks: binary, so never read as a list; the user is told to save a CSV. */
const WORKBOOK_EXTENSIONS = ['xlsx', 'xls', 'xlsm', 'numbers', 'ods'] as const;

export interface SortedFiles {
  lists: File[];
  images: File[];
  workbooks: File[];
  ignored: File[];
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot === -1 ? '' : name.slice(dot + 1).toLowerCase();
}

export function sortFiles(files: readonly File[]): SortedFiles {
  const sorted: SortedFiles = { lists: [], images: [], workbooks: [], ignored: [] };
  for (const file of files) {
    const extension = extensionOf(file.name);
    if (file.type.startsWith('image/') || (IMAGE_EXTENSIONS as readonly string[]).includes(extension)) sorted.images.push(file);
    else if ((LIST_EXTENSIONS as readonly string[]).includes(extension) || file.type.startsWith('text/') || file.type === 'application/json') sorted.lists.push(file);
    else if ((WORKBOOK_EXTENSIONS as readonly string[]).includes(extension)) sorted.workbooks.push(file);
    else sorted.ignored.push(file);
  }
  return sorted;
}

/** Base64 of bytes, in chunks so a large image does not blow the argument limit of fromCharCode. */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

export function base64ToBytes(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function readWith<T>(file: File, start: (reader: FileReader) => void, pick: (reader: FileReader) => T): Promise<T> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(pick(reader));
    reader.onerror = () => reject(reader.error ?? new Error(`could not read ${file.name}`));
    start(reader);
  });
}

export function readFileText(file: File): Promise<string> {
  return readWith(file, (r) => r.readAsText(file), (r) => String(r.result ?? ''));
}

export async function readFileBase64(file: File): Promise<string> {
  const buffer = await readWith(file, (r) => r.readAsArrayBuffer(file), (r) => r.result as ArrayBuffer);
  return bytesToBase64(new Uint8Array(buffer));
}

/** http(s) URLs out of pasted or dragged text (text/uri-list comments start with #). */
export function extractUrls(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#') && /^https?:\/\/\S+$/i.test(line));
}
