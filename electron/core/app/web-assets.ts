/** What both ways of serving the renderer share: content types, the Content-Security-Policy, path containment. */
import path from 'node:path';

export const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.csv': 'text/csv; charset=utf-8',
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
};

/**
 * Strict CSP for the renderer: only our own scripts and styles, images handed over as
 * data/blob URLs, and connections to ourselves (plus browser mode's WebSocket).
 */
export function contentSecurityPolicy(extraConnectSources: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    ["connect-src 'self'", ...extraConnectSources].join(' '),
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

/** The file under `root` that a URL path names, or null for a malformed path or one that leaves the folder. */
export function fileWithin(root: string, urlPath: string): string | null {
  let relative: string;
  try {
    relative = decodeURIComponent(urlPath);
  } catch {
    return null; // a malformed %-escape
  }
  const file = path.resolve(root, `.${relative}`);
  return file.startsWith(path.resolve(root) + path.sep) ? file : null;
}
