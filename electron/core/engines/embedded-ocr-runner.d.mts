// Types of embedded-ocr-runner.mjs for the TypeScript scripts that run it in-process (scripts/tune-ocr.ts).
export interface RawOcrLine {
  box: [number, number, number, number];
  indices: Int32Array<ArrayBuffer>;
  probs: Float32Array<ArrayBuffer>;
  space: Float32Array<ArrayBuffer>;
  ink: Uint8Array<ArrayBuffer>;
  inputWidth: number;
}
export interface RawOcrResult {
  width: number;
  height: number;
  lines: RawOcrLine[];
  timings: Record<string, number>;
}
export interface OcrRunner {
  recognize(bytes: Uint8Array, options?: Record<string, unknown>): Promise<RawOcrResult>;
  close(): Promise<void>;
  dictionaryText: string;
  model: string;
}
/** Options: see RunnerOptions in embedded-ocr-runner.mjs. */
export declare function createOcrRunner(options?: Record<string, unknown>): Promise<OcrRunner>;
