/**
 * Text boxes from a DB detector's probability map and the line crops they cut, as
 * PaddleOCR does it (ppocr/postprocess/db_postprocess.py, tools/infer/predict_system.py;
 * rapidocr's ch_ppocr_det/utils.py): contours of the thresholded map, each one's minimum
 * area rectangle, kept when the mean probability inside it reaches the box threshold,
 * grown by area × ratio / perimeter (the detector is trained on shrunk text regions),
 * scaled to the image the crops are cut from and cut with a perspective warp, turned 90°
 * when it stands upright. Plain JavaScript so that the OCR worker thread loads it (types
 * in text-boxes.d.mts).
 */
import { createRequire } from 'node:module';

// Required, not imported: vitest's module loader does not finish on this 10 MB script.
const require = createRequire(import.meta.url);
const cv = require('@techstark/opencv-js');

/** opencv-js compiles its WebAssembly after import; everything here waits for it. */
const cvReady = new Promise((resolve) => {
  if (cv.Mat) return resolve(undefined);
  const previous = cv.onRuntimeInitialized;
  cv.onRuntimeInitialized = () => {
    previous?.();
    resolve(undefined);
  };
});

/**
 * @typedef {[number, number]} Point
 * @typedef {{ center: { x: number, y: number }, size: { width: number, height: number }, angle: number }} RotatedRect
 * @typedef {object} BoxOptions
 * @property {number} [threshold] a map pixel above this is text (PaddleOCR det_db_thresh)
 * @property {number} [boxThreshold] a box whose mean probability is below this is dropped (det_db_box_thresh)
 * @property {number} [unclipRatio] how far a box grows: area × ratio / perimeter (det_db_unclip_ratio)
 * @property {boolean} [dilate] grow the text mask with a 2×2 kernel before finding contours (use_dilation)
 * @property {number} [maxCandidates] contours looked at, at most
 * @property {number} [minSize] a box whose shorter side (map pixels) is below this is dropped
 */

/**
 * The corners of a rotated rectangle as OpenCV's RotatedRect::points computes them.
 * @param {RotatedRect} rect
 * @returns {Point[]}
 */
export function rectPoints(rect) {
  const angle = (rect.angle * Math.PI) / 180;
  const b = Math.cos(angle) * 0.5;
  const a = Math.sin(angle) * 0.5;
  const { x, y } = rect.center;
  const { width, height } = rect.size;
  const p0 = [x - a * height - b * width, y + b * height - a * width];
  const p1 = [x + a * height - b * width, y - b * height - a * width];
  return [/** @type {Point} */ (p0), /** @type {Point} */ (p1), [2 * x - p0[0], 2 * y - p0[1]], [2 * x - p1[0], 2 * y - p1[1]]];
}

/**
 * A rotated rectangle grown on every side by area × ratio / perimeter. PaddleOCR offsets
 * the polygon with pyclipper's round joins and takes the minimum area rectangle of the
 * result, which for a rectangle is this one.
 * @param {RotatedRect} rect
 * @param {number} ratio
 * @returns {RotatedRect}
 */
export function unclipRect(rect, ratio) {
  const { width, height } = rect.size;
  const perimeter = 2 * (width + height);
  const distance = perimeter > 0 ? (width * height * ratio) / perimeter : 0;
  return { center: { ...rect.center }, size: { width: width + 2 * distance, height: height + 2 * distance }, angle: rect.angle };
}

/**
 * Corners ordered top-left, top-right, bottom-right, bottom-left (PaddleOCR's
 * order_points_clockwise: the two leftmost are the left side, each side sorted by y).
 * @param {Point[]} points
 * @returns {Point[]}
 */
export function orderClockwise(points) {
  const byX = [...points].sort((p, q) => p[0] - q[0]);
  const [tl, bl] = byX.slice(0, 2).sort((p, q) => p[1] - q[1]);
  const [tr, br] = byX.slice(2).sort((p, q) => p[1] - q[1]);
  return [tl, tr, br, bl];
}

/**
 * Mean probability inside a quadrilateral (box_score_fast: its corners truncated to whole
 * pixels, edges included).
 * @param {Float32Array} probability
 * @param {number} width
 * @param {number} height
 * @param {Point[]} points corners in order around the quadrilateral
 */
export function boxScore(probability, width, height, points) {
  const clamp = (v, max) => Math.min(max, Math.max(0, v));
  const xmin = clamp(Math.floor(Math.min(...points.map((p) => p[0]))), width - 1);
  const xmax = clamp(Math.ceil(Math.max(...points.map((p) => p[0]))), width - 1);
  const ymin = clamp(Math.floor(Math.min(...points.map((p) => p[1]))), height - 1);
  const ymax = clamp(Math.ceil(Math.max(...points.map((p) => p[1]))), height - 1);
  const poly = points.map((p) => [Math.trunc(p[0]), Math.trunc(p[1])]);
  // Inside a convex polygon: on the same side of every edge (either winding).
  const edges = poly.map((p, i) => [p, poly[(i + 1) % poly.length]]);
  let sum = 0;
  let count = 0;
  for (let y = ymin; y <= ymax; y++) {
    for (let x = xmin; x <= xmax; x++) {
      let positive = false;
      let negative = false;
      for (const [p, q] of edges) {
        const cross = (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0]);
        if (cross > 0) positive = true;
        else if (cross < 0) negative = true;
      }
      if (positive && negative) continue;
      sum += probability[y * width + x];
      count++;
    }
  }
  return count ? sum / count : 0;
}

/**
 * The thresholded map: 255 where the probability is above the threshold, else 0. With
 * dilate, grown as cv2.dilate with a 2×2 kernel (PaddleOCR's use_dilation): a pixel is set
 * when it or its left, upper or upper-left neighbour is.
 * @param {Float32Array} probability
 * @param {number} width
 * @param {number} height
 * @param {number} threshold
 * @param {boolean} [dilate]
 */
export function textMask(probability, width, height, threshold, dilate = false) {
  const bits = new Uint8Array(width * height);
  for (let i = 0; i < bits.length; i++) bits[i] = probability[i] > threshold ? 255 : 0;
  if (!dilate) return bits;
  // Right to left, bottom to top: the neighbours read are not yet grown.
  for (let y = height - 1; y >= 0; y--) {
    for (let x = width - 1; x >= 0; x--) {
      const i = y * width + x;
      if (!bits[i] && ((x > 0 && bits[i - 1]) || (y > 0 && bits[i - width]) || (x > 0 && y > 0 && bits[i - width - 1]))) bits[i] = 255;
    }
  }
  return bits;
}

/**
 * Text boxes of a probability map, as quadrilaterals (top-left, top-right, bottom-right,
 * bottom-left) in the coordinates of an image of destWidth × destHeight.
 * @param {Float32Array} probability the detector's map, width × height
 * @param {number} width
 * @param {number} height
 * @param {number} destWidth
 * @param {number} destHeight
 * @param {BoxOptions} [options]
 * @returns {Promise<Array<{ points: Point[], score: number }>>}
 */
export async function textBoxes(probability, width, height, destWidth, destHeight, options = {}) {
  await cvReady;
  const { threshold = 0.3, boxThreshold = 0.5, unclipRatio = 1.6, dilate = false, maxCandidates = 1000, minSize = 3 } = options;
  const mask = new cv.Mat(height, width, cv.CV_8UC1);
  const contours = new cv.MatVector();
  const hierarchy = new cv.Mat();
  const boxes = [];
  try {
    mask.data.set(textMask(probability, width, height, threshold, dilate));
    cv.findContours(mask, contours, hierarchy, cv.RETR_LIST, cv.CHAIN_APPROX_SIMPLE);
    const count = Math.min(contours.size(), maxCandidates);
    const sx = destWidth / width;
    const sy = destHeight / height;
    for (let c = 0; c < count; c++) {
      const contour = contours.get(c);
      let rect;
      try {
        rect = cv.minAreaRect(contour);
      } finally {
        contour.delete();
      }
      if (Math.min(rect.size.width, rect.size.height) < minSize) continue;
      const score = boxScore(probability, width, height, rectPoints(rect));
      if (score < boxThreshold) continue;
      const grown = unclipRect(rect, unclipRatio);
      if (Math.min(grown.size.width, grown.size.height) < minSize + 2) continue;
      const clip = (v, max) => Math.min(max, Math.max(0, v));
      const points = orderClockwise(rectPoints(grown).map((p) => /** @type {Point} */ ([clip(Math.round(p[0] * sx), destWidth - 1), clip(Math.round(p[1] * sy), destHeight - 1)])));
      const distance = (p, q) => Math.hypot(p[0] - q[0], p[1] - q[1]);
      if (Math.trunc(distance(points[0], points[1])) <= 3 || Math.trunc(distance(points[0], points[3])) <= 3) continue;
      boxes.push({ points, score });
    }
  } finally {
    mask.delete();
    contours.delete();
    hierarchy.delete();
  }
  return boxes;
}

/**
 * Cuts quadrilaterals out of an RGBA image, each straightened with a perspective warp
 * (cubic, edges replicated, as get_rotate_crop_image) and turned 90° counter-clockwise
 * when it is at least 1.5 times as high as wide (a line of text standing upright; `rotated`
 * says so: text that read bottom to top is now upside down).
 * @param {{ data: Uint8Array, width: number, height: number }} image RGBA
 * @param {Point[][]} quads corners top-left, top-right, bottom-right, bottom-left
 * @returns {Promise<Array<{ data: Uint8Array, width: number, height: number, rotated: boolean }>>}
 */
export async function cropQuads(image, quads) {
  await cvReady;
  const distance = (p, q) => Math.hypot(p[0] - q[0], p[1] - q[1]);
  const source = new cv.Mat(image.height, image.width, cv.CV_8UC4);
  try {
    source.data.set(image.data);
    return quads.map((points) => {
      const width = Math.max(1, Math.trunc(Math.max(distance(points[0], points[1]), distance(points[2], points[3]))));
      const height = Math.max(1, Math.trunc(Math.max(distance(points[0], points[3]), distance(points[1], points[2]))));
      const from = cv.matFromArray(4, 1, cv.CV_32FC2, points.flat());
      const to = cv.matFromArray(4, 1, cv.CV_32FC2, [0, 0, width, 0, width, height, 0, height]);
      const dst = new cv.Mat();
      let transform;
      try {
        transform = cv.getPerspectiveTransform(from, to);
        cv.warpPerspective(source, dst, transform, new cv.Size(width, height), cv.INTER_CUBIC, cv.BORDER_REPLICATE, new cv.Scalar());
        const data = new Uint8Array(dst.data);
        return height / width >= 1.5 ? { ...rotateCounterClockwise({ data, width, height }), rotated: true } : { data, width, height, rotated: false };
      } finally {
        from.delete();
        to.delete();
        dst.delete();
        transform?.delete();
      }
    });
  } finally {
    source.delete();
  }
}

/**
 * An RGBA image turned 90° counter-clockwise (np.rot90).
 * @param {{ data: Uint8Array, width: number, height: number }} image
 */
export function rotateCounterClockwise({ data, width, height }) {
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // (x, y) goes to row width - 1 - x, column y of the height-wide result.
      const from = (y * width + x) * 4;
      const to = ((width - 1 - x) * height + y) * 4;
      out[to] = data[from];
      out[to + 1] = data[from + 1];
      out[to + 2] = data[from + 2];
      out[to + 3] = data[from + 3];
    }
  }
  return { data: out, width: height, height: width };
}

/**
 * An RGBA image turned 180° (cv2.rotate(img, ROTATE_180), as PaddleOCR flips a line its
 * angle classifier calls upside down).
 * @param {{ data: Uint8Array, width: number, height: number }} image
 */
export function rotate180({ data, width, height }) {
  const out = new Uint8Array(data.length);
  const pixels = width * height;
  for (let i = 0; i < pixels; i++) {
    const from = i * 4;
    const to = (pixels - 1 - i) * 4;
    out[to] = data[from];
    out[to + 1] = data[from + 1];
    out[to + 2] = data[from + 2];
    out[to + 3] = data[from + 3];
  }
  return { data: out, width, height };
}
