/**
 * API keys of OpenAI-compatible endpoints, encrypted with the OS keychain through
 * Electron's safeStorage: the file on disk never holds a key in plain text.
 */
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { SafeStorage } from 'electron';
import { z } from 'zod';
import type { SecretStore } from '../core/app/backend.js';

const SecretsFile = z.record(z.string(), z.string());

export function createSecretStore(dataDir: string, safeStorage: Pick<SafeStorage, 'isEncryptionAvailable' | 'encryptString' | 'decryptString'>): SecretStore {
  const file = path.join(dataDir, 'secrets.json');
  const read = (): Record<string, string> => {
    if (!existsSync(file)) return {};
    const parsed = SecretsFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : {};
  };
  return {
    get(key) {
      const sealed = read()[key];
      if (!sealed || !safeStorage.isEncryptionAvailable()) return undefined;
      return safeStorage.decryptString(Buffer.from(sealed, 'base64'));
    },
    set(key, value) {
      if (!safeStorage.isEncryptionAvailable()) throw new Error('The system keychain is not available, so the key cannot be stored safely.');
      const all = read();
      if (value) all[key] = safeStorage.encryptString(value).toString('base64');
      else delete all[key];
      const temporary = `${file}.tmp`;
      writeFileSync(temporary, JSON.stringify(all), { mode: 0o600 });
      renameSync(temporary, file);
    },
  };
}
