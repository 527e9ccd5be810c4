/** Repeated URLs, deeply nested JSON and URLs with credentials (found by the reliability suite's bad-input corpus). */
import { describe, expect, it } from 'vitest';
import { checkListUrl, generatedAdId, importAdsFromText, importAdsFromUrls } from './index.js';

describe('the same URL listed many times without ids', () => {
  it('keeps every row, with ids -2, -3, … in list order', () => {
    const url = 'https://x.test/same.png';
    const result = importAdsFromText(['image_url', url, 'https://x.test/other.png', url, url].join('\n'), { filename: 'dup.csv' });
    const base = generatedAdId(url);
    expect(result.rejected).toEqual([]);
    expect(result.ads.map((ad) => ad.creativeId)).toEqual([base, generatedAdId('https://x.test/other.png'), `${base}-2`, `${base}-3`]);
  });

  it('skips a suffix that a given id already took', () => {
    const url = 'https://x.test/same.png';
    const base = generatedAdId(url);
    const csv = ['creative_id,image_url', `,${url}`, `${base}-3,https://x.test/given.png`, `,${url}`, `,${url}`, `,${url}`].join('\n');
    const result = importAdsFromText(csv);
    expect(result.rejected).toEqual([]);
    expect(result.ads.map((ad) => ad.creativeId)).toEqual([base, `${base}-3`, `${base}-2`, `${base}-4`, `${base}-5`]);
  });

  it('imports 8 000 copies of one URL in linear time (quadratic probing took 9 s)', () => {
    const rows = 8_000;
    const url = 'https://x.test/same.png';
    const list = ['image_url', ...Array.from({ length: rows }, () => url)].join('\n');
    const result = importAdsFromText(list, { filename: 'dup.csv' });
    expect(result.ads).toHaveLength(rows);
    expect(new Set(result.ads.map((ad) => ad.creativeId)).size).toBe(rows);
    expect(result.ads.at(-1)!.creativeId).toBe(`${generatedAdId(url)}-${rows}`);
    // How fast (~20 ms, linear) is a figure, not an assertion: the reliability corpus prints it
    // against its target (csv-duplicate-urls-5k), so a loaded machine cannot fail this test.
  });
});

describe('deeply nested JSON', () => {
  const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  it('rejects a 100 000-level array element with its line and a reason, importing the rest', () => {
    const json = `[\n{"id":"a","url":"https://x.test/a.png"},\n${deep(100_000)},\n"https://x.test/b.png"\n]`;
    const result = importAdsFromText(json, { filename: 'deep.json' });
    expect(result.ads.map((ad) => ad.imageUrl)).toEqual(['https://x.test/a.png', 'https://x.test/b.png']);
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]).toMatchObject({ line: 3, reason: 'not an ad: JSON nested more than 100 levels deep' });
  });

  it('rejects a whole-file deep array and a deep field of an ad object (JSON and JSONL)', () => {
    expect(importAdsFromText(deep(100_000), { filename: 'deep.json' }).rejected).toMatchObject([{ line: 1, reason: expect.stringMatching(/nested more than/) }]);
    const jsonl = `{"id":"a","url":"https://x.test/a.png"}\n{"id":"b","url":"https://x.test/b.png","meta":${deep(50_000)}}\n`;
    const result = importAdsFromText(jsonl, { filename: 'deep.jsonl' });
    expect(result.ads.map((ad) => ad.creativeId)).toEqual(['a']);
    expect(result.rejected).toMatchObject([{ line: 2, reason: expect.stringMatching(/nested more than 100 levels/) }]);
  });

  it('still keeps moderately nested fields as JSON text', () => {
    const result = importAdsFromText('[{"id":"a","url":"https://x.test/a.png","meta":{"tags":[["x"]]}}]', { filename: 'ok.json' });
    expect(result.ads[0]!.extra).toEqual({ meta: '{"tags":[["x"]]}' });
  });
});

describe('URLs with credentials', () => {
  it('rejects user:password@ and user@ without repeating the secret', () => {
    for (const url of ['https://user:hunter2@ads.example/a.png', 'http://hunter2@ads.example/a.png', 'https://:hunter2@ads.example/a.png']) {
      const checked = checkListUrl(url);
      expect(checked.ok, url).toBe(false);
      if (checked.ok) continue;
      expect(checked.reason).toMatch(/^URL contains credentials/);
      expect(checked.reason).toContain('ads.example/a.png');
      expect(JSON.stringify(checked)).not.toContain('hunter2');
    }
  });

  it('accepts an empty user info (nothing secret in it)', () => {
    expect(checkListUrl('https://@ads.example/a.png')).toMatchObject({ ok: true });
  });

  it('keeps the password out of the rejected row, its raw text included (CSV, JSONL, browser drops)', () => {
    const csv = importAdsFromText('creative_id,image_url,ad_text\nc1,https://me:s3cr3t-pw@ads.example/a.png,hello\nc2,https://ads.example/b.png,\n', { filename: 'a.csv' });
    const jsonl = importAdsFromText('{"id":"c1","url":"https://me:s3cr3t-pw@ads.example/a.png"}\n', { filename: 'a.jsonl' });
    const json = importAdsFromText('[\n"https://me:s3cr3t-pw@ads.example/a.png"\n]', { filename: 'a.json' });
    const dropped = importAdsFromUrls(['https://me:s3cr3t-pw@ads.example/a.png']);
    expect(csv.ads.map((ad) => ad.creativeId)).toEqual(['c2']);
    for (const result of [csv, jsonl, json, dropped]) {
      expect(result.ads.filter((ad) => ad.imageUrl.includes('s3cr3t'))).toEqual([]);
      expect(result.rejected).toHaveLength(1);
      expect(result.rejected[0]!.reason).toMatch(/URL contains credentials/);
      expect(JSON.stringify(result.rejected)).not.toContain('s3cr3t-pw');
    }
    expect(csv.rejected[0]).toMatchObject({ line: 2, raw: 'c1,https://***@ads.example/a.png,hello' });
  });

  it('leaves out the raw text when the credentials cannot be masked in it', () => {
    const result = importAdsFromText('creative_id\timage_url\nc1\t"https://me:s3cr\t3t@ads.example/a.png"\n', { filename: 'odd.tsv' });
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]!.reason).toMatch(/URL contains credentials/);
    expect(JSON.stringify(result.rejected)).not.toMatch(/s3cr|3t@/);
  });

  it('keeps the password out of the reason of an otherwise invalid URL', () => {
    const checked = checkListUrl('ftp://me:s3cr3t-pw@ads.example/a.png');
    expect(checked).toMatchObject({ ok: false, reason: expect.stringMatching(/not an http\(s\) URL/) });
    expect(JSON.stringify(checked)).not.toContain('s3cr3t');
  });
});
