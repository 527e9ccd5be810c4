/**
 * What we ask a general vision-language model (Ollama, OpenAI-compatible) for one ad, and
 * how we read its answer. Models differ: chat models get a JSON answer (a schema where
 * the server supports structured output); OCR models such as DeepSeek-OCR get their own
 * short prompt and answer plain text.
 */
import { z } from 'zod';
import type { TextBlock } from '../../../../shared/domain.js';
import { hasGroundingTags, parseGrounding, stripSpecialTokens } from './grounding.js';
import { setting } from './lane-settings.js';

export const AD_ANSWER_SCHEMA = {
  type: 'object',
  properties: {
    text: { type: 'string', description: 'All visible text, verbatim, lines separated by \\n' },
    description: { type: 'string', description: 'One sentence describing the ad image' },
  },
  required: ['text', 'description'],
} as const;

const AD_PROMPT =
  'This image is an advertisement. Return JSON with two fields: "text" — every piece of visible text, ' +
  'copied verbatim in reading order (top to bottom, left to right), one line per line of the image, ' +
  'without translating, correcting or adding anything (an empty string if there is no text); and ' +
  '"description" — one sentence describing what the ad shows.';

/** DeepSeek-OCR's own prompts, as the Python service sends them (scripts/deepseek backends). */
const DEEPSEEK_OCR_PROMPTS = {
  ocr: '<|grounding|>OCR this image.',
  free: 'Free OCR.',
  describe: 'Describe this image in detail.',
} as const;
type DeepSeekOcrTask = keyof typeof DEEPSEEK_OCR_PROMPTS;

/** Output budgets by default, in tokens: an ad's text and description, or DeepSeek-OCR's grounded lines. */
const DEFAULT_MAX_TOKENS = 2048;
const DEEPSEEK_OCR_MAX_TOKENS = 4096;

export interface PromptPreset {
  prompt: string;
  /** Whether the answer is JSON {text, description} (else plain text). */
  structured: boolean;
  /** DeepSeek-OCR: the answer may carry grounding tags, parsed into blocks with boxes. */
  grounding: boolean;
  /** Where a plain answer goes (DeepSeek-OCR's describe task answers a description). */
  answerIs: 'text' | 'description';
  /** Output budget per ad, in tokens (`num_predict` / `max_tokens`). */
  maxTokens: number;
}

/** Lane settings of the generative engines that choose the prompt (see promptPresetFor). */
export const PromptSettings = z.object({
  prompt: setting.text().optional(),
  /** Ask for JSON {text, description}. */
  structured: setting.flag().optional(),
  /** DeepSeek-OCR: `ocr` with boxes, `free`, `describe` (anything else reads as `ocr`). */
  task: setting.text().optional(),
});

function isDeepSeekOcrModel(model: string): boolean {
  return /deepseek-ocr/i.test(model);
}

/**
 * The preset for a model name; a lane's settings override the prompt, the answer format,
 * and for DeepSeek-OCR the task (`ocr` with boxes by default, `free`, `describe`).
 */
export function promptPresetFor(model: string, override?: { prompt?: string; structured?: boolean; task?: string }): PromptPreset {
  let base: PromptPreset;
  if (isDeepSeekOcrModel(model)) {
    const task: DeepSeekOcrTask = override?.task && override.task in DEEPSEEK_OCR_PROMPTS ? (override.task as DeepSeekOcrTask) : 'ocr';
    base = { prompt: DEEPSEEK_OCR_PROMPTS[task], structured: false, grounding: true, answerIs: task === 'describe' ? 'description' : 'text', maxTokens: DEEPSEEK_OCR_MAX_TOKENS };
  } else {
    base = { prompt: AD_PROMPT, structured: true, grounding: false, answerIs: 'text', maxTokens: DEFAULT_MAX_TOKENS };
  }
  return { ...base, prompt: override?.prompt ?? base.prompt, structured: override?.structured ?? base.structured };
}

const AdAnswer = z.object({ text: z.unknown().optional(), description: z.unknown().optional() });

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.filter((v) => typeof v === 'string').join('\n');
  return undefined;
}

/**
 * Reads a model's answer. JSON (possibly in a ```json fence, possibly with text around it)
 * gives text and description; anything else is taken as the text itself, because a model
 * that ignored the format still usually transcribed the ad.
 */
export function parseVisionAnswer(content: string, structured: boolean): { text: string; description?: string } {
  const trimmed = content.trim();
  if (!structured) return { text: trimmed };
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(trimmed)?.[1];
  const candidates = [trimmed, fenced, braces(trimmed)].filter((c): c is string => typeof c === 'string');
  for (const candidate of candidates) {
    try {
      const parsed = AdAnswer.safeParse(JSON.parse(candidate));
      if (parsed.success) {
        const text = asText(parsed.data.text);
        const description = asText(parsed.data.description)?.trim();
        if (text !== undefined || description) {
          return { text: (text ?? '').trim(), ...(description ? { description } : {}) };
        }
      }
    } catch {
      // try the next candidate
    }
  }
  return { text: trimmed };
}

/**
 * A whole answer as the preset says to read it: DeepSeek-OCR's grounding tags become
 * blocks with pixel boxes (`size` is asked for only then), a describe task's answer is
 * the description, a structured answer is JSON.
 */
export async function readPresetAnswer(
  content: string,
  preset: PromptPreset,
  size: () => Promise<{ width: number; height: number }>,
): Promise<{ text: string; blocks: TextBlock[]; description?: string }> {
  let text: string;
  let blocks: TextBlock[] = [];
  let description: string | undefined;
  if (preset.grounding && hasGroundingTags(content)) {
    const { width, height } = await size();
    ({ text, blocks } = parseGrounding(content, width, height));
  } else if (preset.grounding) {
    text = stripSpecialTokens(content).trim();
  } else {
    ({ text, description } = parseVisionAnswer(content, preset.structured));
  }
  if (preset.answerIs === 'description') return { text: '', blocks: [], ...(text ? { description: text } : {}) };
  return { text, blocks, ...(description ? { description } : {}) };
}

function braces(text: string): string | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  return start >= 0 && end > start ? text.slice(start, end + 1) : undefined;
}
