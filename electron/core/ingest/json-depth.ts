/**
 * How deeply a parsed JSON value nests. JSON.parse accepts any depth, but JSON.stringify
 * and every recursive walk overflow the stack on a 100 000-level array, so ingest refuses
 * such values up front. No real ad nests anywhere near this deep.
 */
export const MAX_JSON_DEPTH = 100;

/**
 * Whether `value` has objects or arrays nested more than `limit` levels (a scalar is
 * level 0, `{}` and `[]` level 1). Iterative, so it cannot overflow the stack itself, and
 * it stops at the first path that is too deep.
 */
export function exceedsJsonDepth(value: unknown, limit: number): boolean {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const { value: current, depth } = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > limit) return true;
    const children = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) {
      if (child !== null && typeof child === 'object') pending.push({ value: child, depth: depth + 1 });
    }
  }
  return false;
}
