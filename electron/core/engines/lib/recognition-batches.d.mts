export function recognitionBatches(widths: readonly number[], limits: { batch: number; columns?: number; minWidth?: number }): number[][];
