import { describe, expect, it } from 'vitest';
import { ollamaNotInstalled } from './specs.js';

describe('ollamaNotInstalled', () => {
  it('gives the macOS places and Homebrew on a Mac, and the Linux installer elsewhere', () => {
    expect(ollamaNotInstalled('darwin').hint).toMatch(/Ollama\.app.*brew install ollama/);
    const linux = ollamaNotInstalled('linux').hint;
    expect(linux).toContain('https://ollama.com/install.sh');
    expect(linux).not.toMatch(/brew|\.app/);
  });
});
