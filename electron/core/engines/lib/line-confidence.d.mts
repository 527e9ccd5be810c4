/** Types of line-confidence.mjs (plain JavaScript so the OCR worker thread can load it). */
export declare const DEFAULT_MIN_LINE_CONFIDENCE: number;
export declare function characterProbabilities(indices: ArrayLike<number>, probs: ArrayLike<number>): number[];
export declare function lineConfidence(indices: ArrayLike<number>, probs: ArrayLike<number>): number;
