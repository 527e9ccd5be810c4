import { describe, expect, it } from 'vitest';
import { parseVisionAnswer, promptPresetFor } from './vision-prompt.js';

describe('promptPresetFor', () => {
  it('asks chat models for JSON and DeepSeek-OCR for plain OCR, and honours overrides', () => {
    expect(promptPresetFor('llava:13b')).toMatchObject({ structured: true });
    expect(promptPresetFor('deepseek-ocr:latest')).toEqual({ prompt: 'Free OCR.', structured: false });
    expect(promptPresetFor('llava', { prompt: 'Read it', structured: false })).toEqual({ prompt: 'Read it', structured: false });
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
