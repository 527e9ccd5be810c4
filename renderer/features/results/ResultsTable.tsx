import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useMemo, useReducer, useRef, useState, type KeyboardEvent } from 'react';
import type { ResultRow } from '../../../shared/api.js';
import { useApi } from '../../api/context.js';
import { formatCount, formatMs } from '../../common/format.js';
import { ErrorNotice, focusRing } from '../../common/ui.js';
import { PageCache } from './pageCache.js';
import { useResults, type SortKey } from './state.js';

export const ROW_HEIGHT = 34;
const PAGE_SIZE = 200;
/**
 * Rows are keyed by slot, not by index, so scrolling reuses the same DOM nodes and only
 * their text changes (no unmount/mount of every row on a fast scroll).
 */
const SLOTS = 128;
/** While results stream in, visible rows refresh at most this often. */
const REFRESH_MS = 400;
const MAX_IN_FLIGHT = 2;

const COLUMNS: { key: SortKey | null; label: string; className: string }[] = [
  { key: 'creativeId', label: 'Creative', className: 'w-44 shrink-0' },
  { key: 'status', label: 'Status', className: 'w-20 shrink-0' },
  { key: 'engine', label: 'Engine', className: 'w-28 shrink-0' },
  { key: 'duration', label: 'Time', className: 'w-20 shrink-0 text-right' },
  { key: null, label: 'Text', className: 'min-w-0 flex-1' },
];

const STATUS_STYLE: Record<ResultRow['status'], string> = {
  pending: 'text-zinc-400',
  running: 'text-blue-600 dark:text-blue-400',
  done: 'text-emerald-700 dark:text-emerald-400',
  failed: 'text-red-600 dark:text-red-400',
};

export function ResultsTable({ runId }: { runId: string }) {
  const api = useApi();
  const query = useResults((s) => s.query);
  const version = useResults((s) => s.version);
  const selected = useResults((s) => s.selected);
  const scrollRef = useRef<HTMLDivElement>(null);
  const cache = useMemo(() => new PageCache<ResultRow>(PAGE_SIZE), []);
  const generation = useRef(0);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);

  const virtualizer = useVirtualizer({
    count: total ?? 0,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
    initialRect: { width: 800, height: 600 },
  });

  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? PAGE_SIZE - 1;

  // At most MAX_IN_FLIGHT page requests at a time, always for the rows wanted *now*: a fast
  // scroll through 100 000 rows must not queue a request for every page it passed over.
  const wanted = useRef({ first: 0, last: PAGE_SIZE - 1 });
  const inFlight = useRef(0);
  const pump = useCallback(() => {
    while (inFlight.current < MAX_IN_FLIGHT) {
      const [page] = cache.pagesToLoad(wanted.current.first, wanted.current.last);
      if (page === undefined) return;
      const current = generation.current;
      cache.markLoading(page);
      inFlight.current++;
      api
        .invoke('results.page', {
          runId,
          offset: page * PAGE_SIZE,
          limit: PAGE_SIZE,
          sort: query.sort,
          descending: query.descending,
          engine: query.engine,
          status: query.status,
          search: query.search || undefined,
        })
        .then(
          (result) => {
            if (current !== generation.current) return;
            cache.store(page, result.rows, result.total);
            setTotal(result.total);
            setError(null);
            rerender();
          },
          (e: unknown) => {
            if (current !== generation.current) return;
            cache.failed(page);
            setError(e);
          },
        )
        .finally(() => {
          inFlight.current--;
          // The latest pump: after a query change it asks with the new query.
          latestPump.current();
        });
    }
  }, [api, cache, runId, query]);
  const latestPump = useRef(pump);
  useEffect(() => {
    latestPump.current = pump;
  }, [pump]);

  const load = useCallback(
    (from: number, to: number) => {
      wanted.current = { first: Math.max(0, from), last: Math.max(from, to) };
      pump();
    },
    [pump],
  );

  // A different run or query: start over from the top.
  useEffect(() => {
    generation.current++;
    cache.clear();
    setTotal(null);
    if (scrollRef.current) scrollRef.current.scrollTop = 0;
    load(0, PAGE_SIZE - 1);
  }, [cache, load]);

  // New results: mark pages stale and refresh what is on screen, throttled.
  const lastRefresh = useRef(0);
  useEffect(() => {
    if (version === 0) return;
    const wait = Math.max(0, lastRefresh.current + REFRESH_MS - Date.now());
    const timer = setTimeout(() => {
      lastRefresh.current = Date.now();
      cache.markStale();
      const range = virtualizer.getVirtualItems();
      load(range[0]?.index ?? 0, range[range.length - 1]?.index ?? PAGE_SIZE - 1);
    }, wait);
    return () => clearTimeout(timer);
  }, [version, cache, load, virtualizer]);

  // Scrolling: page in what becomes visible.
  useEffect(() => {
    load(first, last);
    cache.evictOutside(first, last);
  }, [first, last, load, cache]);

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>, index: number, row: ResultRow | undefined) => {
    if ((event.key === 'Enter' || event.key === ' ') && row) {
      event.preventDefault();
      useResults.getState().select(row.creativeId);
    } else if (event.key === 'Escape') {
      // The row opened with Enter keeps the focus: Escape closes its detail from here too.
      useResults.getState().select(null);
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const next = Math.min((total ?? 1) - 1, Math.max(0, index + (event.key === 'ArrowDown' ? 1 : -1)));
      virtualizer.scrollToIndex(next);
      requestAnimationFrame(() => scrollRef.current?.querySelector<HTMLElement>(`[data-index="${next}"]`)?.focus());
    }
  };

  return (
    <div className="flex min-h-0 flex-1 flex-col overflow-hidden rounded-lg border border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900" role="grid" aria-label="Results" aria-rowcount={total ?? -1}>
      <div role="rowgroup" className="border-b border-zinc-200 bg-zinc-50 text-xs text-zinc-500 dark:border-zinc-800 dark:bg-zinc-900/80 dark:text-zinc-400">
        <div role="row" className="flex items-center gap-3 px-3 py-1.5">
          {COLUMNS.map((column) => (
            <div
              key={column.label}
              role="columnheader"
              className={column.className}
              aria-sort={column.key && query.sort === column.key ? (query.descending ? 'descending' : 'ascending') : undefined}
            >
              {column.key ? (
                <button type="button" className={`rounded font-medium hover:text-zinc-900 dark:hover:text-zinc-100 ${focusRing}`} onClick={() => useResults.getState().toggleSort(column.key as SortKey)}>
                  {column.label}
                  {query.sort === column.key ? (query.descending ? ' ↓' : ' ↑') : ''}
                </button>
              ) : (
                <span className="font-medium">{column.label}</span>
              )}
            </div>
          ))}
        </div>
      </div>
      {error != null && <ErrorNotice error={error} action="load the results" />}
      <div ref={scrollRef} className="min-h-0 flex-1 overflow-auto" data-testid="results-scroll" style={{ contain: 'strict' }}>
        {total === 0 && <p className="p-6 text-center text-sm text-zinc-500">{query.search || query.engine || query.status ? 'No results match the filters.' : 'No results yet.'}</p>}
        {total == null && error == null && <p className="p-6 text-center text-sm text-zinc-500">Loading results…</p>}
        <div role="rowgroup" style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {items.map((item) => {
            const row = cache.row(item.index);
            const isSelected = row != null && row.creativeId === selected;
            return (
              <div
                key={item.index % Math.max(SLOTS, items.length + 1)}
                role="row"
                aria-rowindex={item.index + 2}
                aria-selected={isSelected}
                data-index={item.index}
                data-creative={row?.creativeId}
                tabIndex={0}
                onClick={() => row && useResults.getState().select(row.creativeId)}
                onKeyDown={(e) => onKeyDown(e, item.index, row)}
                className={`absolute left-0 right-0 flex cursor-pointer items-center gap-3 border-b border-zinc-100 px-3 text-sm dark:border-zinc-800/70 ${focusRing} -outline-offset-2 ${
                  isSelected ? 'bg-blue-50 dark:bg-blue-950/50' : 'hover:bg-zinc-50 dark:hover:bg-zinc-800/50'
                }`}
                style={{ height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
              >
                {row ? (
                  <>
                    <div role="gridcell" className="w-44 shrink-0 truncate font-mono text-xs" title={row.creativeId}>
                      {row.creativeId}
                    </div>
                    <div role="gridcell" className={`w-20 shrink-0 text-xs font-medium ${STATUS_STYLE[row.status]}`}>
                      {row.status}
                    </div>
                    <div role="gridcell" className="w-28 shrink-0 truncate text-xs">
                      {row.engine ?? '—'}
                    </div>
                    <div role="gridcell" className="w-20 shrink-0 text-right text-xs tabular-nums">
                      {formatMs(row.durationMs)}
                    </div>
                    <div role="gridcell" className="min-w-0 flex-1 truncate text-xs text-zinc-600 dark:text-zinc-400" title={row.error ?? row.excerpt}>
                      {row.status === 'failed' ? <span className="text-red-600 dark:text-red-400">{row.error ?? 'failed'}</span> : row.excerpt.replace(/\s+/g, ' ')}
                    </div>
                  </>
                ) : (
                  <div role="gridcell" className="h-3 w-full rounded bg-zinc-100 dark:bg-zinc-800" />
                )}
              </div>
            );
          })}
        </div>
      </div>
      <div className="border-t border-zinc-200 px-3 py-1 text-xs text-zinc-500 dark:border-zinc-800 dark:text-zinc-400" aria-live="polite">
        {total != null ? `${formatCount(total)} row${total === 1 ? '' : 's'}` : ''}
      </div>
    </div>
  );
}
