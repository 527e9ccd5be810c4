/**
 * Rows of a long, changing result list, fetched a page at a time. Pages marked stale
 * keep their rows on screen until the fresh page arrives, so refreshes never flash.
 */
export class PageCache<Row> {
  private readonly pages = new Map<number, { rows: Row[]; stale: boolean }>();
  private readonly loading = new Set<number>();
  total: number | null = null;

  constructor(readonly pageSize: number) {}

  row(index: number): Row | undefined {
    return this.pages.get(Math.floor(index / this.pageSize))?.rows[index % this.pageSize];
  }

  /** Pages that cover rows [first, last] and are missing or stale and not already loading. */
  pagesToLoad(first: number, last: number): number[] {
    if (last < first) return [];
    const wanted: number[] = [];
    for (let page = Math.floor(Math.max(0, first) / this.pageSize); page <= Math.floor(last / this.pageSize); page++) {
      const cached = this.pages.get(page);
      if ((!cached || cached.stale) && !this.loading.has(page)) wanted.push(page);
    }
    return wanted;
  }

  markLoading(page: number): void {
    this.loading.add(page);
  }

  store(page: number, rows: Row[], total: number): void {
    this.loading.delete(page);
    this.pages.set(page, { rows, stale: false });
    if (this.total !== total) {
      // The list grew or shrank: pages after this one may have shifted.
      for (const [index, cached] of this.pages) if (index !== page) cached.stale = true;
    }
    this.total = total;
  }

  failed(page: number): void {
    this.loading.delete(page);
  }

  /** New results arrived: everything may have moved; refetch on demand, keep showing old rows. */
  markStale(): void {
    for (const cached of this.pages.values()) cached.stale = true;
  }

  /** Drop everything (a different run or query). */
  clear(): void {
    this.pages.clear();
    this.loading.clear();
    this.total = null;
  }

  /** Forget pages far from the viewport so 100 000 rows never sit in memory at once. */
  evictOutside(first: number, last: number, keepPages = 20): void {
    const low = Math.floor(first / this.pageSize) - keepPages;
    const high = Math.floor(last / this.pageSize) + keepPages;
    for (const index of this.pages.keys()) if (index < low || index > high) this.pages.delete(index);
  }
}
