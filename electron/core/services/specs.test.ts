import { describe, expect, it } from 'vitest';
import { ollamaInstallHint } from './specs.js';

describe('ollamaInstallHint', () => {
  it('gives the macOS places and Homebrew on a Mac, and the Linux installer elsewhere', () => {
    expect(ollamaInstallHint('darwin')).toMatch(/Ollama\.app.*brew install ollama/);
    const linux = ollamaInstallHint('linux');
    expect(linux).toContain('https://ollama.com/install.sh');
    expect(linux).not.toMatch(/brew|\.app/);
  });
});
