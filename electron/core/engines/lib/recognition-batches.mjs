/**
 * How line crops are grouped into recogniser calls: sorted by width (so each is padded
 * little), at most `batch` per call and, when `columns` is set, at most that many input
 * columns per call (crops × the batch's padded width, at least `minWidth`). The bound keeps
 * a batch of wide lines from taking several times the memory of any other call.
 *
 * @param {readonly number[]} widths each crop's width at the recogniser's height
 * @param {{ batch: number, columns?: number, minWidth?: number }} limits
 * @returns {number[][]} crop indices per call, narrowest first
 */
export function recognitionBatches(widths, { batch, columns = 0, minWidth = 0 }) {
  const order = widths.map((_, i) => i).sort((a, b) => widths[a] - widths[b]);
  const batches = [];
  for (let from = 0; from < order.length; ) {
    // Widths ascend, so the crop being added is the group's widest.
    let to = from + 1;
    while (to < order.length && to - from < batch && (!columns || (to - from + 1) * Math.max(minWidth, widths[order[to]]) <= columns)) to++;
    batches.push(order.slice(from, to));
    from = to;
  }
  return batches;
}
