/** Types of text-boxes.mjs (plain JavaScript so the OCR worker thread can load it). */
export type Point = [number, number];
export interface RotatedRect {
  center: { x: number; y: number };
  size: { width: number; height: number };
  angle: number;
}
export interface BoxOptions {
  threshold?: number;
  boxThreshold?: number;
  unclipRatio?: number;
  dilate?: boolean;
  maxCandidates?: number;
  minSize?: number;
}
export interface RgbaImage {
  data: Uint8Array;
  width: number;
  height: number;
}
export declare function rectPoints(rect: RotatedRect): Point[];
export declare function unclipRect(rect: RotatedRect, ratio: number): RotatedRect;
export declare function orderClockwise(points: Point[]): Point[];
export declare function boxScore(probability: Float32Array, width: number, height: number, points: Point[]): number;
export declare function textMask(probability: Float32Array, width: number, height: number, threshold: number, dilate?: boolean): Uint8Array;
export declare function textBoxes(probability: Float32Array, width: number, height: number, destWidth: number, destHeight: number, options?: BoxOptions): Promise<Array<{ points: Point[]; score: number }>>;
export declare function cropQuads(image: RgbaImage, quads: Point[][]): Promise<Array<RgbaImage & { rotated: boolean }>>;
export declare function rotateCounterClockwise(image: RgbaImage): RgbaImage;
export declare function rotate180(image: RgbaImage): RgbaImage;
