/** Serves the built renderer from app://renderer/ with the CSP header, never outside its folder. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MIME_TYPES, fileWithin } from '../core/app/web-assets.js';
import { CONTENT_SECURITY_POLICY } from './security.js';


export function resolveRendererFile(rendererDir: string, requestUrl: string): string | null {
  const { pathname } = new URL(requestUrl);
  return fileWithin(rendererDir, pathname === '/' ? '/index.html' : pathname);
}

export async function serveRendererFile(rendererDir: string, requestUrl: string): Promise<Response> {
  const file = resolveRendererFile(rendererDir, requestUrl);
  if (!file) return new Response('Forbidden', { status: 403 });
  try {
    const body = await readFile(file);
    return new Response(body, {
      headers: {
        'Content-Type': MIME_TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Content-Security-Policy': CONTENT_SECURITY_POLICY,
        'X-Content-Type-Options': 'nosniff',
      },
    });
  } catch {
    return new Response('Not found', { status: 404 });
  }
}
