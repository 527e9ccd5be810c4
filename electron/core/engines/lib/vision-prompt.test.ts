import { describe, expect, it } from 'vitest';
import { parseVisionAnswer, promptPresetFor } from './vision-prompt.js';

describe('promptPresetFor', () => {
  it('asks chat models for JSON and DeepSeek-OCR for plain OCR, and honours overrides', () => {
    expect(promptPresetFor('llava:13b')).toMatchObject({ structured: true });
    expect(promptPresetFor('deepseek-ocr:latest')).toEqual({ prompt: '<|grounding|>OCR this image.', structured: false, grounding: true, answerIs: 'text', maxTokens: 4096 });
    expect(promptPresetFor('llava', { prompt: 'Read it', structured: false })).toMatchObject({ prompt: 'Read it', structured: false, grounding: false, maxTokens: 2048 });
  });
  it("gives DeepSeek-OCR (Ollama's deepseek-ocr, vLLM's deepseek-ai/DeepSeek-OCR) its own prompts per task", () => {
    expect(promptPresetFor('deepseek-ai/DeepSeek-OCR', { task: 'free' })).toMatchObject({ prompt: 'Free OCR.', answerIs: 'text' });
    expect(promptPresetFor('deepseek-ocr:3b', { task: 'describe' })).toMatchObject({ prompt: 'Describe this image in detail.', answerIs: 'description' });
    expect(promptPresetFor('deepseek-ocr', { task: 'nonsense' }).prompt).toBe('<|grounding|>OCR this image.');
  });
});

describe('parseVisionAnswer', () => {
  it('reads plain JSON, fenced JSON and JSON with chatter around it', () => {
    const expected = { text: 'BIG SALE\n50% off', description: 'A shoe ad.' };
    expect(parseVisionAnswer(JSON.stringify(expected), true)).toEqual(expected);
    expect(parseVisionAnswer('```json\n' + JSON.stringify(expected) + '\n```', true)).toEqual(expected);
    expect(parseVisionAnswer('Sure! ' + JSON.stringify(expected) + ' Hope this helps.', true)).toEqual(expected);
  });
  it('joins text given as an array of lines', () => {
    expect(parseVisionAnswer('{"text":["A","B"],"description":"d"}', true)).toEqual({ text: 'A\nB', description: 'd' });
  });
  it('falls back to the whole answer as text when it is not JSON, or when plain text was asked for', () => {
    expect(parseVisionAnswer('  SALE today  ', true)).toEqual({ text: 'SALE today' });
    expect(parseVisionAnswer('{"text":"x"}', false)).toEqual({ text: '{"text":"x"}' });
  });
});
