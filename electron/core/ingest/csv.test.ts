import fc from 'fast-check';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvLine } from '../export/csv-line.js';
import { readCsv } from './csv.js';

describe('readCsv', () => {
  it('reads quoted fields with delimiters, doubled quotes and line breaks, with start lines', () => {
    const { records, errors } = readCsv('a,b\r\n"x,1","say ""hi""\nthere"\n\nlast,"q"\n', ',');
    expect(errors).toEqual([]);
    expect(records.map((r) => [r.line, r.fields])).toEqual([
      [1, ['a', 'b']],
      [2, ['x,1', 'say "hi"\nthere']],
      [5, ['last', 'q']],
    ]);
    expect(records[1]!.raw).toBe('"x,1","say ""hi""\nthere"');
  });

  it('is lenient with stray quotes and lone CR line ends', () => {
    expect(readCsv('a"b,"c"d\rnext,x', ',').records.map((r) => r.fields)).toEqual([
      ['a"b', 'cd'],
      ['next', 'x'],
    ]);
  });

  it('rejects only the record with a quote that never closes, then reads on', () => {
    const { records, errors } = readCsv('id,url\n1,"open\n2,ok\n3,fine\n', ',');
    expect(errors).toEqual([{ line: 2, reason: 'a quoted field is never closed', raw: '1,"open' }]);
    expect(records.map((r) => [r.line, r.fields[0]])).toEqual([
      [1, 'id'],
      [3, '2'],
      [4, '3'],
    ]);
  });

  it('round-trips anything our CSV writer writes, and agrees with csv-parse', () => {
    const field = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', ',', '"', '\n', '\r', '\t', 'é', '€', ';') });
    const recordsArb = fc.array(fc.array(field, { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(recordsArb, (rows) => {
        const width = rows[0]!.length;
        const table = rows.map((row) => Array.from({ length: width }, (_, i) => row[i] ?? ''));
        const text = table.map((row) => csvLine(row)).join('');
        const ours = readCsv(text, ',').records.map((r) => r.fields);
        // Rows whose fields are all empty with width 1 would be blank lines; width ≥ 2 keeps them.
        expect(ours).toEqual(table);
        expect(ours).toEqual(parse(text, { relax_column_count: true }));
      }),
      { numRuns: 300 },
    );
  });
});
