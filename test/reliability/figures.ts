/**
 * The reliability suite's table of figures. Every scenario records one row; rows go to a
 * ledger file shared by all test files of one vitest run (they run in worker processes
 * of the same parent), and each file prints the table of everything recorded so far, so
 * the file that finishes last prints the whole suite's table.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

export const FigureRow = z.object({
  scenario: z.string(),
  adsIn: z.number().int(),
  done: z.number().int(),
  failed: z.number().int(),
  /** Failure reasons with their counts, most frequent first. */
  reasons: z.record(z.string(), z.number().int()),
  lost: z.number().int(),
  twice: z.number().int(),
  maxStallMs: z.number().nullable(),
  seconds: z.number(),
  /** Ads the engines answered successfully more than once (a backup that also finished); assert 0 where recorded. */
  answeredTwice: z.number().int().optional(),
  note: z.string().optional(),
});
export type FigureRow = z.infer<typeof FigureRow>;

/** One ledger per vitest run: workers share the parent's pid. */
const LEDGER_PATH = process.env.PV_RELIABILITY_LEDGER ?? join(tmpdir(), `pv-reliability-${process.ppid}.jsonl`);

export function recordFigures(row: FigureRow): void {
  appendFileSync(LEDGER_PATH, `${JSON.stringify(FigureRow.parse(row))}\n`);
}

export function readFigures(path = LEDGER_PATH): FigureRow[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => FigureRow.parse(JSON.parse(line)));
}

/** A short "reason ×count" list; reasons are cut so the table stays readable. */
export function describeReasons(reasons: Record<string, number>, maxReasons = 3): string {
  const sorted = Object.entries(reasons).sort((a, b) => b[1] - a[1]);
  const shown = sorted.slice(0, maxReasons).map(([reason, count]) => `${reason.length > 48 ? `${reason.slice(0, 47)}…` : reason} ×${count}`);
  if (sorted.length > maxReasons) shown.push(`+${sorted.length - maxReasons} more`);
  return shown.join('; ');
}

export function formatFigures(rows: readonly FigureRow[]): string {
  const header = ['scenario', 'ads in', 'done', 'failed', 'lost', 'twice', 'answered twice', 'max stall ms', 's', 'failure reasons'];
  const body = rows.map((row) => [
    row.scenario,
    String(row.adsIn),
    String(row.done),
    String(row.failed),
    String(row.lost),
    String(row.twice),
    row.answeredTwice === undefined ? '-' : String(row.answeredTwice),
    row.maxStallMs === null ? '-' : row.maxStallMs.toFixed(0),
    row.seconds.toFixed(1),
    describeReasons(row.reasons),
  ]);
  const totals = rows.reduce(
    (sum, row) => ({ adsIn: sum.adsIn + row.adsIn, done: sum.done + row.done, failed: sum.failed + row.failed, lost: sum.lost + row.lost, twice: sum.twice + row.twice, answeredTwice: sum.answeredTwice + (row.answeredTwice ?? 0) }),
    { adsIn: 0, done: 0, failed: 0, lost: 0, twice: 0, answeredTwice: 0 },
  );
  const stalls = rows.map((row) => row.maxStallMs).filter((value): value is number => value !== null);
  body.push([
    `TOTAL (${rows.length} scenarios)`,
    String(totals.adsIn),
    String(totals.done),
    String(totals.failed),
    String(totals.lost),
    String(totals.twice),
    rows.some((row) => row.answeredTwice !== undefined) ? String(totals.answeredTwice) : '-',
    stalls.length ? Math.max(...stalls).toFixed(0) : '-',
    rows.reduce((sum, row) => sum + row.seconds, 0).toFixed(1),
    '',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((cells) => cells[column]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/** What a finished scenario looks like from the outside: per ad, how often it ended and how. */
export interface Outcome {
  creativeId: string;
  status: 'done' | 'failed';
  error?: string;
}

/**
 * Counts an outcome list against the ads that went in: an ad with no final outcome is
 * lost, an ad with two or more final outcomes was processed twice.
 */
export function tallyOutcomes(adIds: readonly string[], outcomes: readonly Outcome[], normaliseReason: (error: string) => string = (error) => error): Omit<FigureRow, 'scenario' | 'maxStallMs' | 'seconds' | 'answeredTwice'> {
  const counts = new Map<string, number>();
  for (const outcome of outcomes) counts.set(outcome.creativeId, (counts.get(outcome.creativeId) ?? 0) + 1);
  const reasons: Record<string, number> = {};
  let done = 0;
  let failed = 0;
  for (const outcome of outcomes) {
    if (outcome.status === 'done') done++;
    else {
      failed++;
      const reason = normaliseReason(outcome.error ?? '(no reason given)');
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }
  }
  let lost = 0;
  let twice = 0;
  for (const id of new Set(adIds)) {
    const count = counts.get(id) ?? 0;
    if (count === 0) lost++;
    if (count > 1) twice++;
  }
  return { adsIn: adIds.length, done, failed, reasons, lost, twice };
}
