import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedAdId, importAdsFromFiles, importAdsFromText, importAdsFromUrls, relocateReason } from './index.js';
import { detectListFormat } from './format.js';
import { arrayElementLines } from './json-positions.js';

describe('CSV and TSV', () => {
  it('maps creative_id/image_url/ad_text and keeps other columns', () => {
    const csv = 'creative_id,image_url,ad_text,campaign\nc1,https://a.test/1.png,Buy now,spring\nc2,http://a.test/2.jpg,,summer\n';
    const result = importAdsFromText(csv, { filename: 'ads.csv' });
    expect(result.rejected).toEqual([]);
    expect(result.columns).toEqual(['creative_id', 'image_url', 'ad_text', 'campaign']);
    expect(result.fieldColumns).toEqual({ id: 'creative_id', url: 'image_url', text: 'ad_text' });
    expect(result.ads).toEqual([
      { creativeId: 'c1', imageUrl: 'https://a.test/1.png', adText: 'Buy now', extra: { campaign: 'spring' } },
      { creativeId: 'c2', imageUrl: 'http://a.test/2.jpg', extra: { campaign: 'summer' } },
    ]);
  });

  it('accepts the short aliases id/url/text and quoted fields with commas and newlines', () => {
    const csv = 'ID,URL,Text\n7,https://a.test/x.png,"Hello, world\nsecond line"\n';
    const { ads } = importAdsFromText(csv);
    expect(ads).toEqual([{ creativeId: '7', imageUrl: 'https://a.test/x.png', adText: 'Hello, world\nsecond line' }]);
  });

  it('reports each bad row with its line and reason, importing the rest', () => {
    const csv = [
      'creative_id,image_url', // 1
      'a,https://x.test/a.png', // 2
      'b,', // 3 no URL
      'c,ftp://x.test/c.png', // 4 not http(s)
      'a,https://x.test/other.png', // 5 duplicate id
      'd,"multi', // 6
      'line"', // 7 (record spans 6-7, URL is not a URL)
      'e,file:///etc/passwd', // 8 file: never from a list
      'f,https://x.test/f.png', // 9
    ].join('\n');
    const result = importAdsFromText(csv, { filename: 'list.csv' });
    expect(result.ads.map((ad) => ad.creativeId)).toEqual(['a', 'f']);
    expect(result.rejected.map((row) => [row.line, row.reason.split(':')[0]])).toEqual([
      [3, 'no URL'],
      [4, 'not an http(s) URL'],
      [5, 'duplicate id "a" (first on line 2)'],
      [6, 'not a valid URL'],
      [8, 'not an http(s) URL'],
    ]);
    expect(result.rejected.map((row) => row.column), 'the column at fault').toEqual(['image_url', 'image_url', 'creative_id', 'image_url', 'image_url']);
  });

  it('detects a header-less list and finds the URL column', () => {
    const { ads, columns, rejected } = importAdsFromText('https://x.test/1.png,foo\nhttps://x.test/2.png,bar\n', { format: 'csv' });
    expect(rejected).toEqual([]);
    expect(columns).toEqual(['column_1', 'column_2']);
    expect(ads.map((ad) => [ad.imageUrl, ad.extra?.column_2])).toEqual([
      ['https://x.test/1.png', 'foo'],
      ['https://x.test/2.png', 'bar'],
    ]);
  });

  it('parses TSV and semicolon-separated lists', () => {
    const tsv = importAdsFromText('creative_id\timage_url\nt1\thttps://x.test/1.png\n', { filename: 'a.tsv' });
    expect(tsv.ads[0]).toEqual({ creativeId: 't1', imageUrl: 'https://x.test/1.png' });
    const semi = importAdsFromText('id;url\ns1;https://x.test/1.png\n');
    expect(semi.ads[0]).toEqual({ creativeId: 's1', imageUrl: 'https://x.test/1.png' });
  });

  it('reports an unterminated quote instead of failing the whole list', () => {
    const result = importAdsFromText('id,url\na,https://x.test/a.png\nb,"https://x.test/b.png\n');
    expect(result.ads.map((ad) => ad.creativeId)).toEqual(['a']);
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]!.line).toBe(3);
    expect(result.rejected[0]!.reason).toMatch(/malformed CSV/);
  });

  it('gives ads without an id a stable id derived from the URL', () => {
    const first = importAdsFromText('url\nhttps://x.test/1.png\nhttps://x.test/1.png\n');
    const second = importAdsFromText('url\nhttps://x.test/1.png\n');
    expect(first.ads[0]!.creativeId).toBe(generatedAdId('https://x.test/1.png'));
    expect(second.ads[0]!.creativeId).toBe(first.ads[0]!.creativeId);
    expect(first.ads[1]!.creativeId).toBe(`${first.ads[0]!.creativeId}-2`);
  });
});

describe('ad_text is user data', () => {
  // Leading and trailing spaces, a trailing line break, a cell of spaces only: kept as given.
  const texts = ['  Buy now  ', 'two lines\nend\n', ' '];
  const lists: Record<string, string> = {
    csv: `creative_id,image_url,ad_text\n${texts.map((text, i) => ` c${i} , https://a.test/${i}.png ,"${text}"`).join('\n')}\n`,
    tsv: `creative_id\timage_url\tad_text\n${texts.map((text, i) => ` c${i} \t https://a.test/${i}.png \t"${text}"`).join('\n')}\n`,
    json: JSON.stringify(texts.map((text, i) => ({ creative_id: ` c${i} `, image_url: ` https://a.test/${i}.png `, ad_text: text }))),
    jsonl: texts.map((text, i) => JSON.stringify({ creative_id: ` c${i} `, image_url: ` https://a.test/${i}.png `, ad_text: text })).join('\n'),
  };
  it.each(Object.keys(lists))('%s: keeps ad_text exactly; trims the id and the URL (spaces around them are never meant)', (format) => {
    const { ads, rejected } = importAdsFromText(lists[format]!, { filename: `ads.${format}` });
    expect(rejected).toEqual([]);
    expect(ads).toEqual(texts.map((text, i) => ({ creativeId: `c${i}`, imageUrl: `https://a.test/${i}.png`, adText: text })));
  });

  it('an empty ad_text is no text', () => {
    const { ads } = importAdsFromText('creative_id,image_url,ad_text\nc1,https://a.test/1.png,\n', { filename: 'ads.csv' });
    expect(ads).toEqual([{ creativeId: 'c1', imageUrl: 'https://a.test/1.png' }]);
  });
});

describe('encodings', () => {
  const csv = 'creative_id,image_url,ad_text\nü1,https://x.test/ü.png,Grüße €\n';
  const expected = { creativeId: 'ü1', imageUrl: 'https://x.test/ü.png', adText: 'Grüße €' };
  it('reads UTF-8 with and without BOM', () => {
    const bytes = new TextEncoder().encode(csv);
    expect(importAdsFromText(bytes).ads).toEqual([expected]);
    expect(importAdsFromText(new Uint8Array([0xef, 0xbb, 0xbf, ...bytes])).ads).toEqual([expected]);
    expect(importAdsFromText(`\ufeff${csv}`).ads).toEqual([expected]);
  });
  it('reads UTF-16 LE and BE with BOM', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csv, 'utf16le')]);
    expect(importAdsFromText(le).ads).toEqual([expected]);
    const be = Buffer.from(le);
    for (let i = 0; i < be.length; i += 2) [be[i], be[i + 1]] = [be[i + 1]!, be[i]!];
    expect(importAdsFromText(be).ads).toEqual([expected]);
  });
});

describe('JSON and JSONL', () => {
  it('reads a JSON array of objects and URL strings, with line numbers of bad elements', () => {
    const json = `[
  {"creativeId": "j1", "imageUrl": "https://x.test/1.png", "clicks": 12, "tags": ["a"]},
  "https://x.test/2.png",
  42,
  {"id": "j3", "url": "mailto:x@y"}
]`;
    const result = importAdsFromText(json, { filename: 'ads.json' });
    expect(result.ads).toEqual([
      { creativeId: 'j1', imageUrl: 'https://x.test/1.png', extra: { clicks: '12', tags: '["a"]' } },
      { creativeId: generatedAdId('https://x.test/2.png'), imageUrl: 'https://x.test/2.png' },
    ]);
    expect(result.rejected.map((row) => row.line)).toEqual([4, 5]);
    expect(result.columns).toEqual(['creativeId', 'imageUrl', 'clicks', 'tags', 'id', 'url']);
  });

  it('reports malformed JSON', () => {
    const result = importAdsFromText('[{"id": "a", ', { filename: 'x.json' });
    expect(result.ads).toEqual([]);
    expect(result.rejected[0]!.reason).toMatch(/^malformed JSON/);
  });

  it('reads JSONL and reports the malformed line', () => {
    const jsonl = '{"creative_id":"l1","image_url":"https://x.test/1.png","ad_text":"Hi"}\n\n{oops\n{"creative_id":"l2","image_url":"https://x.test/2.png"}\n';
    const result = importAdsFromText(jsonl);
    expect(result.format).toBe('jsonl');
    expect(result.ads.map((ad) => ad.creativeId)).toEqual(['l1', 'l2']);
    expect(result.rejected).toMatchObject([{ line: 3, raw: '{oops' }]);
    // Where in that line, not "at position 1 (line 1 column 2)" of the line taken as a file.
    expect(result.rejected[0]!.reason).toMatch(/^malformed JSON: .* at column 2$/);
    expect(result.rejected[0]!.reason).not.toMatch(/line 1|position/);
  });

  it('reports the line of a malformed JSON file where the parser stopped', () => {
    const result = importAdsFromText('[\n  {"creative_id": "a", "image_url": "https://x.test/1.png"},\n  {"creative_id": "b",, }\n]\n', { filename: 'x.json' });
    expect(result.rejected).toMatchObject([{ line: 3 }]);
    expect(result.rejected[0]!.reason).toMatch(/^malformed JSON: .* at column 23$/);
  });

  it('finds element lines across nested values and strings with brackets', () => {
    expect(arrayElementLines('[\n{"a":"[,]"},\n\n [1,\n2], "x"\n]')).toEqual([2, 4, 5]);
  });
});

describe('plain URL lists and browser drops', () => {
  it('reads one URL per line, skipping comments and blank lines', () => {
    const result = importAdsFromText('# uri-list\nhttps://x.test/1.png\r\n\nhttps://x.test/2.png\njavascript:alert(1)\n');
    expect(result.format).toBe('txt');
    expect(result.ads.map((ad) => ad.imageUrl)).toEqual(['https://x.test/1.png', 'https://x.test/2.png']);
    expect(result.rejected).toMatchObject([{ line: 5 }]);
  });
  it('imports URLs dragged from a browser', () => {
    const result = importAdsFromUrls(['https://x.test/1.png\r\nhttps://x.test/2.png', 'data:image/png;base64,AAAA']);
    expect(result.ads).toHaveLength(2);
    expect(result.rejected[0]!.reason).toMatch(/not an http\(s\) URL/);
  });
});

describe('format detection', () => {
  it('trusts the extension, else sniffs the content', () => {
    expect(detectListFormat('anything', 'x.ndjson')).toBe('jsonl');
    expect(detectListFormat('[1]')).toBe('json');
    expect(detectListFormat('{\n  "a": 1\n}')).toBe('json');
    expect(detectListFormat('{"a":1}\n{"a":2}')).toBe('jsonl');
    expect(detectListFormat('https://a.test/1\nhttps://a.test/2', 'urls.txt')).toBe('txt');
    expect(detectListFormat('id,url\n1,https://a.test', 'list.txt')).toBe('csv');
    expect(detectListFormat('id\turl\n1\thttps://a.test')).toBe('tsv');
  });
});

describe('importAdsFromFiles', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pv-ingest-'));
    await writeFile(join(dir, 'list.csv'), 'creative_id,image_url\nf1,https://x.test/1.png\nf2,notaurl\n');
    await writeFile(join(dir, 'more.jsonl'), '{"id":"f1","url":"https://x.test/dup.png"}\n{"id":"f3","url":"https://x.test/3.png"}\n');
    await writeFile(join(dir, 'banner.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]));
    await writeFile(join(dir, 'noext'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]));
    await mkdir(join(dir, 'folder', 'sub'), { recursive: true });
    await writeFile(join(dir, 'folder', 'sub', 'banner.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
    await writeFile(join(dir, 'folder', 'readme.md'), '# not an image');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('parses lists, turns images into file:// ads and reports problems per file', async () => {
    const result = await importAdsFromFiles([
      join(dir, 'list.csv'),
      join(dir, 'more.jsonl'),
      join(dir, 'banner.png'),
      join(dir, 'noext'),
      join(dir, 'folder'),
      join(dir, 'missing.csv'),
    ]);
    expect(result.format).toBe('mixed');
    const ids = result.ads.map((ad) => ad.creativeId);
    expect(ids.slice(0, 4)).toEqual(['f1', 'f3', 'banner', 'noext']);
    expect(ids[4]).toMatch(/^banner-[0-9a-f]{6}$/);
    expect(result.ads[2]!.imageUrl).toBe(`file://${join(dir, 'banner.png')}`);
    expect(result.rejected.map((row) => row.reason)).toEqual([
      expect.stringMatching(/^list\.csv: not a valid URL/),
      "more.jsonl: duplicate id \"f1\" (first on line 2 of list.csv)",
      expect.stringMatching(/^missing\.csv: cannot read missing\.csv: no such file$/),
    ]);
  });

  it("retells the row a duplicate points to in a caller's terms, whatever the id says", () => {
    const { rejected } = importAdsFromText('creative_id,image_url\nx (first on line 9),https://a.test/1.png\nx (first on line 9),https://a.test/2.png\n', { filename: 'ids.csv' });
    const atIndex = (line: number) => `at ads[${line - 1}]`;
    expect(rejected.map((row) => relocateReason(row.reason, atIndex))).toEqual(['duplicate id "x (first on line 9)" (first at ads[1])']);
    expect(relocateReason('duplicate id "f1" (first on line 2 of list.csv)', atIndex)).toBe('duplicate id "f1" (first at ads[1] of list.csv)');
    expect(relocateReason('not a valid URL: nope', atIndex), 'other reasons point nowhere').toBe('not a valid URL: nope');
  });

  it('refuses a spreadsheet workbook by its bytes, saying to save it as CSV', async () => {
    const xlsx = join(dir, 'ads.xlsx');
    const renamed = join(dir, 'workbook.csv');
    // A zip's local file header (every .xlsx), and an OLE2 header (a legacy .xls) under a .csv name.
    await writeFile(xlsx, Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(60, 7)]));
    await writeFile(renamed, Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(60, 7)]));
    const result = await importAdsFromFiles([xlsx, renamed]);
    expect(result.ads).toEqual([]);
    expect(result.rejected.map((row) => [row.line, row.reason])).toEqual([
      [0, 'ads.xlsx: ads.xlsx is a spreadsheet workbook, not a text list: save it as CSV (UTF-8) and use that file'],
      [0, 'workbook.csv: workbook.csv is a spreadsheet workbook, not a text list: save it as CSV (UTF-8) and use that file'],
    ]);
  });
});
