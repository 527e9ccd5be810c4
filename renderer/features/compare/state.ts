/** The Compare slice: the page of side-by-side outputs for the selected run. */
import { create } from 'zustand';
import type { ComparePage } from '../../../shared/api.js';

export interface CompareState {
  page: ComparePage | null;
  offset: number;
  loading: boolean;
  error: unknown;
  setOffset(offset: number): void;
  loaded(page: ComparePage): void;
  failed(error: unknown): void;
  startLoading(): void;
}

export const COMPARE_PAGE_SIZE = 50;

export const useCompare = create<CompareState>((set) => ({
  page: null,
  offset: 0,
  loading: false,
  error: null,
  setOffset: (offset) => set({ offset: Math.max(0, offset) }),
  loaded: (page) => set({ page, loading: false, error: null }),
  failed: (error) => set({ loading: false, error }),
  startLoading: () => set({ loading: true }),
}));

/** Agreement 0..1 as a colour class: the reader's eye should find the disagreements. */
export function agreementTone(agreement: number | null): string {
  if (agreement == null) return 'text-zinc-400';
  if (agreement >= 0.85) return 'text-emerald-700 dark:text-emerald-400';
  if (agreement >= 0.6) return 'text-amber-700 dark:text-amber-400';
  return 'text-red-600 dark:text-red-400';
}
