/**
 * What we ask a general vision-language model (Ollama, OpenAI-compatible) for one ad, and
 * how we read its answer. Models differ: chat models get a JSON answer (a schema where
 * the server supports structured output); OCR models such as DeepSeek-OCR get their own
 * short prompt and answer plain text.
 */
import { z } from 'zod';

export const AD_ANSWER_SCHEMA = {
  type: 'object',
  properties: {
    text: { type: 'string', description: 'All visible text, verbatim, lines separated by \\n' },
    description: { type: 'string', description: 'One sentence describing the ad image' },
  },
  required: ['text', 'description'],
} as const;

export const AD_PROMPT =
  'This image is an advertisement. Return JSON with two fields: "text" — every piece of visible text, ' +
  'copied verbatim in reading order (top to bottom, left to right), one line per line of the image, ' +
  'without translating, correcting or adding anything (an empty string if there is no text); and ' +
  '"description" — one sentence describing what the ad shows.';

export interface PromptPreset {
  prompt: string;
  /** Whether the answer is JSON {text, description} (else plain text). */
  structured: boolean;
}

/** The preset for a model name; a lane's `settings.prompt` overrides the prompt. */
export function promptPresetFor(model: string, override?: { prompt?: string; structured?: boolean }): PromptPreset {
  const base: PromptPreset = /deepseek-ocr/i.test(model)
    ? { prompt: 'Free OCR.', structured: false }
    : { prompt: AD_PROMPT, structured: true };
  return { prompt: override?.prompt ?? base.prompt, structured: override?.structured ?? base.structured };
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

function braces(text: string): string | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  return start >= 0 && end > start ? text.slice(start, end + 1) : undefined;
}
