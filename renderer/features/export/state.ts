/** The Export slice: the chosen format and rows, and the export in progress. */
import { create } from 'zustand';
import type { ExportFormat } from '../../../shared/domain.js';

export type ExportRows = 'all' | 'done' | 'failed';

interface ExportOutcome {
  /** The run exported: the outcome shows only while that run is the one selected. */
  runId: string;
  path: string;
  rows: number;
  downloadUrl?: string;
}

export interface ExportState {
  format: ExportFormat;
  rows: ExportRows;
  path: string;
  running: boolean;
  progress: { written: number; total: number } | null;
  outcome: ExportOutcome | null;
  error: unknown;
  set(patch: Partial<Pick<ExportState, 'format' | 'rows' | 'path'>>): void;
  start(): void;
  progressed(written: number, total: number): void;
  finished(outcome: ExportOutcome): void;
  failed(error: unknown): void;
}

export const useExport = create<ExportState>((set) => ({
  format: 'csv',
  rows: 'all',
  path: '',
  running: false,
  progress: null,
  outcome: null,
  error: null,
  set: (patch) => set(patch),
  start: () => set({ running: true, progress: null, outcome: null, error: null }),
  progressed: (written, total) => set((state) => (state.running ? { progress: { written, total } } : {})),
  finished: (outcome) => set({ running: false, outcome }),
  failed: (error) => set({ running: false, error }),
}));

/** The browser-mode download URL, resolved against the page so it works behind any port. */
export function resolveDownloadUrl(downloadUrl: string, base: string): string {
  const url = new URL(downloadUrl, base);
  if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'blob:') throw new Error(`refusing download URL ${downloadUrl}`);
  return url.toString();
}
