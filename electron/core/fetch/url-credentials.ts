/**
 * `https://user:password@host/…` URLs. A list that carries them would send the password
 * to the image server and leave it in the store, logs and exports, so ingest and the
 * fetcher refuse them — and never repeat the credentials in their messages.
 */

/** Whether a parsed URL carries a user name or password (an empty `user:@` or `@` does not count). */
export function hasCredentials(url: URL): boolean {
  return url.username !== '' || url.password !== '';
}

/**
 * `scheme://userinfo@` → `scheme://***@` anywhere in a text (a URL, a CSV line, an error
 * message), so a rejected row or an error can be shown without the secret. The userinfo
 * ends at the last `@` before the authority's end (`/ ? # \` or whitespace), as URL
 * parsers read it. A scan, not a regular expression: linear on a 16 MB line.
 */
export function redactCredentials(text: string): string {
  let out = '';
  let copiedUpTo = 0;
  let searchFrom = 0;
  for (;;) {
    const separator = nextAuthorityStart(text, searchFrom);
    if (separator < 0) break;
    const authorityStart = separator + 3;
    let authorityEnd = authorityStart;
    let at = -1;
    for (; authorityEnd < text.length && !isAuthorityEnd(text.charCodeAt(authorityEnd)); authorityEnd++) {
      if (text.charCodeAt(authorityEnd) === 64 /* @ */) at = authorityEnd;
    }
    if (at >= 0) {
      out += `${text.slice(copiedUpTo, authorityStart)}***`;
      copiedUpTo = at;
    }
    // From the authority's start: its last `:` may begin the next `://` (authorities never overlap, so still linear).
    searchFrom = authorityStart;
  }
  return copiedUpTo === 0 ? text : out + text.slice(copiedUpTo);
}

/** `/ \ ? #`, a space or control character; not tab and line breaks, which URL parsers drop from inside a URL. */
function isAuthorityEnd(code: number): boolean {
  if (code === 9 || code === 10 || code === 13) return false;
  return code === 47 || code === 92 || code === 63 || code === 35 || code <= 32 || code === 0xa0 || code === 0x3000;
}

/** Index of the next `://` or `:\\` (browsers read backslashes as slashes) after a scheme letter. */
function nextAuthorityStart(text: string, from: number): number {
  for (let i = text.indexOf(':', from); i >= 0; i = text.indexOf(':', i + 1)) {
    const slashes = text.slice(i + 1, i + 3);
    if ((slashes === '//' || slashes === '\\\\') && i > 0 && /[a-z0-9+.-]/i.test(text[i - 1]!)) return i;
  }
  return -1;
}

/** The URL without its credentials, for messages. */
export function withoutCredentials(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}
