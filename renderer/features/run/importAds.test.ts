import { describe, expect, it, vi } from 'vitest';
import type { VisionApi } from '../../../shared/api.js';
import { MAX_IMAGE_BYTES_PER_IMPORT, NothingToImportError, importFiles } from './importAds.js';

/** A File whose size is reported without allocating it. */
function bigPng(name: string, size: number): File {
  const file = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], name, { type: 'image/png' });
  Object.defineProperty(file, 'size', { value: size });
  return file;
}

describe('importFiles', () => {
  it('sends dropped images in one message under the frame limit, saying what it left out', async () => {
    const invoke = vi.fn(async (_channel: string, request: { images: unknown[] }) => ({ batchId: 'b', source: 'x', accepted: request.images.length, preview: [], rejected: [], rejectedTotal: 0, columns: [] }));
    const api = { invoke, on: () => () => undefined } as unknown as VisionApi;
    const third = Math.floor(MAX_IMAGE_BYTES_PER_IMPORT / 3);
    const files = Array.from({ length: 5 }, (_, i) => bigPng(`ad${i}.png`, third));
    const outcome = await importFiles(api, files);
    expect(invoke).toHaveBeenCalledTimes(1);
    expect(invoke.mock.calls[0]![1].images).toHaveLength(3);
    expect(outcome.notes.join(' ')).toMatch(/first 3 of 5 images/);
  });

  it('tells a dropped spreadsheet workbook apart from other files, saying to save it as CSV', async () => {
    const api = { invoke: vi.fn(), on: () => () => undefined } as unknown as VisionApi;
    const error = await importFiles(api, [new File(['PK'], 'Campaign Q4.xlsx'), new File(['x'], 'notes.docx')]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NothingToImportError);
    expect((error as NothingToImportError).notes).toEqual([
      'Campaign Q4.xlsx is a spreadsheet workbook, not a text list: save it as CSV (UTF-8) and drop that file.',
      'Skipped 1 file that are neither ad lists nor images: notes.docx.',
    ]);
  });
});
