/**
 * Stops a generative model that has fallen into a loop (DeepSeek-OCR is known to write
 * the same line or word until its token budget runs out, for minutes or hours). Fed the
 * answer as it streams, it notices when the tail of the text is one unit (an n-gram of
 * 1..maxPeriod characters) repeated back to back at least `minCopies` times over at
 * least `minChars` characters, and says where the text should be cut: after the first
 * copy, so what the model read before the loop is kept.
 *
 * Work is O(maxPeriod) per character with a fixed-size window: the whole answer is never
 * re-scanned, so a long answer costs linear time.
 */

export interface RepetitionGuardOptions {
  /** Longest repeating unit looked for, in characters (a grounding line is ~60). */
  maxPeriod: number;
  /** A loop is at least this many back-to-back copies of the unit… */
  minCopies: number;
  /** …covering at least this many characters (so "SALE SALE SALE" in an ad is no loop). */
  minChars: number;
}

const DEFAULT_REPETITION_GUARD: RepetitionGuardOptions = { maxPeriod: 400, minCopies: 10, minChars: 300 };

export interface RepetitionFound {
  /** Length of the repeating unit, in characters. */
  period: number;
  /** Copies seen when the guard fired. */
  copies: number;
  /** Keep `text.slice(0, keepChars)`: everything before the loop plus one copy. */
  keepChars: number;
}

export class RepetitionGuard {
  readonly options: RepetitionGuardOptions;
  /** The last maxPeriod + 1 character codes, as a ring. */
  readonly #window: Uint16Array;
  /** Per period p: how many consecutive characters, ending at the newest, equal the one p before. */
  readonly #runs: Uint32Array;
  #length = 0;
  #found: RepetitionFound | null = null;

  constructor(options: Partial<RepetitionGuardOptions> = {}) {
    this.options = { ...DEFAULT_REPETITION_GUARD, ...options };
    const { maxPeriod, minCopies, minChars } = this.options;
    if (!(Number.isInteger(maxPeriod) && maxPeriod >= 1)) throw new Error(`RepetitionGuard: maxPeriod must be a positive integer (got ${maxPeriod})`);
    if (!(Number.isInteger(minCopies) && minCopies >= 2)) throw new Error(`RepetitionGuard: minCopies must be an integer ≥ 2 (got ${minCopies})`);
    if (!(minChars >= 1)) throw new Error(`RepetitionGuard: minChars must be ≥ 1 (got ${minChars})`);
    this.#window = new Uint16Array(maxPeriod + 1);
    this.#runs = new Uint32Array(maxPeriod + 1);
  }

  /** Characters seen so far. */
  get length(): number {
    return this.#length;
  }

  get found(): RepetitionFound | null {
    return this.#found;
  }

  /**
   * Feeds the next piece of the answer. Returns the loop once found (and from then on),
   * null while the text looks sane.
   */
  push(piece: string): RepetitionFound | null {
    if (this.#found) return this.#found;
    const { maxPeriod, minCopies, minChars } = this.options;
    const size = maxPeriod + 1;
    for (let i = 0; i < piece.length; i++) {
      const code = piece.charCodeAt(i);
      const position = this.#length;
      const reach = Math.min(maxPeriod, position);
      for (let p = 1; p <= reach; p++) {
        if (this.#window[(position - p) % size] === code) {
          const run = this.#runs[p]! + 1;
          this.#runs[p] = run;
          // `run` characters equal the one p before: run / p + 1 copies of the unit.
          if (run >= p * (minCopies - 1) && run + p >= minChars) {
            const start = position - run - p + 1;
            this.#found = { period: p, copies: Math.floor(run / p) + 1, keepChars: start + p };
            this.#window[position % size] = code;
            this.#length = position + 1;
            return this.#found;
          }
        } else {
          this.#runs[p] = 0;
        }
      }
      this.#window[position % size] = code;
      this.#length = position + 1;
    }
    return null;
  }
}

/**
 * Cuts `text` where the guard said. Where a copy of the unit starts is ambiguous ("now
 * SALE SALE" repeats " SALE" as well as "SALE "), so the cut moves on to the next line
 * end, else the next space, within one more unit: a grounding line stays whole.
 */
export function cutAtLoop(text: string, found: RepetitionFound): string {
  let end = Math.min(found.keepChars, text.length);
  const next = text.slice(end, end + found.period);
  const newline = next.indexOf('\n');
  const space = next.search(/\s/);
  if (newline >= 0) end += newline + 1;
  else if (space >= 0) end += space + 1;
  const last = text.charCodeAt(end - 1);
  if (end < text.length && last >= 0xd800 && last <= 0xdbff) end += 1;
  return text.slice(0, end);
}
