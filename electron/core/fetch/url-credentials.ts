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
 * ends at the last `@` before the host's end (`/ ? # \` or whitespace), as URL parsers read it.
 */
export function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:[/\\]{2})[^/\\?#\s]*@/gi, '$1***@');
}

/** The URL without its credentials, for messages. */
export function withoutCredentials(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}
