import { describe, expect, it } from 'vitest';
import { main } from './index.js';
import type { CliIo } from './io.js';

function captureIo(): CliIo & { stdout: () => string } {
  let out = '';
  return { out: (text) => void (out += text), err: () => undefined, env: {}, isTerminal: false, stdout: () => out };
}

describe('parallel-vision engines', () => {
  it('lists every engine with its availability; on Linux Apple Vision is unavailable with the reason and Paddle is the default', async () => {
    const io = captureIo();
    expect(await main(['engines', '--json'], io)).toBe(0);
    const entries = JSON.parse(io.stdout()) as { engine: string; availability: { type: string; reason?: string }; isDefault: boolean }[];
    expect(entries.map((entry) => entry.engine).sort()).toEqual(['apple-vision', 'deepseek', 'embedded', 'ollama', 'openai']);
    if (process.platform !== 'darwin') {
      const apple = entries.find((entry) => entry.engine === 'apple-vision')!;
      expect(apple.availability).toMatchObject({ type: 'unavailable', reason: expect.stringMatching(/macOS/) });
      expect(entries.find((entry) => entry.isDefault)?.engine).toBe('embedded');
    }
  });

  it('prints a table for people', async () => {
    const io = captureIo();
    await main(['engines'], io);
    expect(io.stdout()).toMatch(/^engine\s+status/m);
    expect(io.stdout()).toMatch(/embedded\s+available/);
  });
});
