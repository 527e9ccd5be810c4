/**
 * DeepSeek-OCR's grounding output → text and blocks with pixel boxes, for the lanes that
 * get the model's raw text (Ollama `deepseek-ocr`, vLLM through the OpenAI lane). The
 * Python service parses the same way (scripts/deepseek/deepseek_service/grounding.py);
 * both are tested against test/fixtures/deepseek-grounding/cases.json, whose README
 * states the rules.
 *
 * The model writes `<|ref|>label<|/ref|><|det|>[[x1, y1, x2, y2], …]<|/det|>` with
 * coordinates normalised to 0..999. With "OCR this image." the label is the text; with
 * "Convert the document to markdown." it is a layout category and the text follows.
 */
import type { Box, TextBlock } from '../../../../shared/domain.js';

const GROUNDING = /<\|ref\|>([\s\S]*?)<\|\/ref\|>\s*<\|det\|>([\s\S]*?)<\|\/det\|>/g;
const REF_OPEN = '<|ref|>';
// Special tokens the decoder may leave in the text (full-width bars are DeepSeek's own).
const SPECIAL_TOKENS = /<｜[^｜]*｜>|<\|(?:end_of_sentence|grounding|image)\|>/g;
const FOUR_NUMBERS = /\[\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\]/g;
const NORMALISED_MAX = 999;
const PICTURE_LABELS = new Set(['image', 'figure', 'chart', 'photo']);

export interface GroundedAnswer {
  text: string;
  blocks: TextBlock[];
}

/** Whether the answer carries grounding tags at all (else it is plain text). */
export function hasGroundingTags(raw: string): boolean {
  return raw.includes(REF_OPEN);
}

export function stripSpecialTokens(raw: string): string {
  return raw.replace(SPECIAL_TOKENS, '');
}

/** Every innermost `[a, b, c, d]` of four numbers, corners in order, still normalised. */
export function parseBoxes(raw: string): Box[] {
  const boxes: Box[] = [];
  for (const match of raw.matchAll(FOUR_NUMBERS)) {
    const [x1, y1, x2, y2] = [match[1], match[2], match[3], match[4]].map(Number) as [number, number, number, number];
    boxes.push([Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2), Math.max(y1, y2)]);
  }
  return boxes;
}

function scale(value: number, size: number): number {
  const clamped = Math.min(Math.max(value, 0), NORMALISED_MAX);
  return Math.round((clamped / NORMALISED_MAX) * size * 10) / 10;
}

function toPixels(box: Box, width: number, height: number): Box {
  return [scale(box[0], width), scale(box[1], height), scale(box[2], width), scale(box[3], height)];
}

/**
 * Text and blocks (boxes in pixels of a `width` × `height` image). Output without any
 * complete tag is plain text with no blocks; an incomplete last tag (the answer was cut)
 * is dropped.
 */
export function parseGrounding(raw: string, width: number, height: number): GroundedAnswer {
  if (!(width > 0 && height > 0)) throw new Error(`parseGrounding: the image size must be positive (got ${width}×${height})`);
  let cleaned = stripSpecialTokens(raw);
  const matches = [...cleaned.matchAll(GROUNDING)];
  const lastEnd = matches.length > 0 ? (matches.at(-1)!.index + matches.at(-1)![0].length) : 0;
  const unfinished = cleaned.indexOf(REF_OPEN, lastEnd);
  if (unfinished >= 0) cleaned = cleaned.slice(0, unfinished);
  if (matches.length === 0) return { text: cleaned.trim(), blocks: [] };

  const followings = matches.map((match, index) => cleaned.slice(match.index + match[0].length, matches[index + 1]?.index ?? cleaned.length).trim());
  // Markdown layout output: labels are categories, so a picture region is no text.
  const layoutMode = followings.some((following) => following !== '');
  const blocks: TextBlock[] = [];
  const lines: string[] = [];
  matches.forEach((match, index) => {
    const label = (match[1] ?? '').trim();
    const following = followings[index] ?? '';
    if (layoutMode && following === '' && PICTURE_LABELS.has(label.toLowerCase())) return;
    const text = following !== '' ? following : label;
    if (text === '') return;
    lines.push(text);
    for (const box of parseBoxes(match[2] ?? '')) blocks.push({ text, box: toPixels(box, width, height) });
  });
  return { text: lines.join('\n'), blocks };
}
