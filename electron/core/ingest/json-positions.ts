/**
 * Line numbers of the elements of a top-level JSON array, so a bad element can be
 * reported where the user will find it. JSON.parse gives values, not positions.
 */
export function arrayElementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let expectingElement = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === 10) line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (char === 92 /* \ */) escaped = true;
      else if (char === 34 /* " */) inString = false;
      continue;
    }
    const isSpace = char === 32 || char === 9 || char === 10 || char === 13;
    if (expectingElement && !isSpace && char !== 93 /* ] */) {
      lines.push(line);
      expectingElement = false;
    }
    if (char === 34) inString = true;
    else if (char === 91 /* [ */ || char === 123 /* { */) {
      depth++;
      if (depth === 1 && char === 91) expectingElement = true;
    } else if (char === 93 || char === 125) depth--;
    else if (char === 44 /* , */ && depth === 1) expectingElement = true;
  }
  return lines;
}
