import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

/** electron-builder's config schema, from its own app-builder-lib. */
function validator() {
  const schema = JSON.parse(readFileSync(createRequire(require.resolve('electron-builder')).resolve('app-builder-lib/scheme.json'), 'utf8')) as object;
  const ajv = new Ajv({ allErrors: true, strict: false });
  return ajv.compile(schema);
}

const config = yaml.load(readFileSync('electron-builder.yml', 'utf8')) as Record<string, unknown>;

describe('electron-builder.yml', () => {
  it("passes electron-builder's own configuration schema", () => {
    const validate = validator();
    const valid = validate(config);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema check can fail: an unknown key is refused', () => {
    const validate = validator();
    expect(validate({ ...config, notAnOption: true })).toBe(false);
  });

  it('builds macOS arm64 dmg and zip with a hardened runtime and entitlements', () => {
    const mac = config.mac as { target: { target: string; arch: string[] }[]; hardenedRuntime: boolean; entitlements: string };
    expect(mac.target.map((t) => t.target).sort()).toEqual(['dmg', 'zip']);
    for (const target of mac.target) expect(target.arch).toEqual(['arm64']);
    expect(mac.hardenedRuntime).toBe(true);
    expect(readFileSync(mac.entitlements, 'utf8')).toContain('com.apple.security.cs.allow-jit');
  });

  it('ships the Python service as an extra resource and unpacks native modules from asar', () => {
    const extra = config.extraResources as { from: string; to: string }[];
    expect(extra.some((entry) => entry.from === 'scripts/deepseek' && entry.to === 'deepseek')).toBe(true);
    const unpack = config.asarUnpack as string[];
    for (const module of ['better-sqlite3', 'sharp', 'onnxruntime-node', '@napi-rs/system-ocr-darwin-arm64']) {
      expect(unpack.some((glob) => glob.includes(module))).toBe(true);
    }
    expect(unpack).toContain('**/*.node');
  });

  it('ships every committed OCR model file and its checksums as resources/models', () => {
    const extra = config.extraResources as { from: string; to: string; filter?: string[] }[];
    const models = extra.find((entry) => entry.from === 'models');
    expect(models?.to).toBe('models');
    expect(models?.filter).toEqual(expect.arrayContaining(['*.onnx', 'SHA256SUMS', 'LICENSE']));
    const listed = readFileSync('models/SHA256SUMS', 'utf8').trim().split('\n').map((line) => line.split(/\s+/)[1]);
    expect(listed).toEqual(['PP-OCRv6_det_small.onnx', 'PP-OCRv6_rec_small.onnx']);
  });
});
