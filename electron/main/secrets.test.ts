import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSecretStore } from './secrets.js';

/** A stand-in for safeStorage: a reversible transform, so plain text must not reach the file. */
const fakeSafeStorage = {
  isEncryptionAvailable: () => true,
  encryptString: (text: string) => Buffer.from([...Buffer.from(text)].map((byte) => byte ^ 0x5a)),
  decryptString: (sealed: Buffer) => Buffer.from([...sealed].map((byte) => byte ^ 0x5a)).toString(),
};

describe('secret store', () => {
  it('keeps API keys encrypted on disk and gives them back', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pv-secrets-'));
    const store = createSecretStore(dir, fakeSafeStorage);
    store.set('gpu-box-1', 'sk-very-secret-key');
    expect(readFileSync(path.join(dir, 'secrets.json'), 'utf8')).not.toContain('sk-very-secret-key');
    expect(createSecretStore(dir, fakeSafeStorage).get('gpu-box-1')).toBe('sk-very-secret-key');
    store.set('gpu-box-1', '');
    expect(store.get('gpu-box-1')).toBeUndefined();
  });

  it('refuses to store a key when the keychain is unavailable', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pv-secrets-'));
    const store = createSecretStore(dir, { ...fakeSafeStorage, isEncryptionAvailable: () => false });
    expect(() => store.set('x', 'sk-1')).toThrow(/keychain/);
  });
});
